"""The prepared GPU run: every GPU benchmark in one command, each part time-boxed, one JSON and one table out.

Parts, in this order (a part that runs over its box is stopped and recorded as such, the next one starts):
  1. esm       bench/embed_esm.py --size 3b at 500 and 300 bp: tokens/s end to end, model-ready time,
               agreement with and speed of the fair-esm fp32 path, in the same run; a torch.profiler table
  2. dnabert   bench/embed_dnabert.py --size 117m: sequences/s, agreement, the one-by-one path; a profiler table
  3. run       bench/run.py --size real on a few megabases: the stages' shares of the wall time
  4. run_2w    the same with --devices cuda:0,cuda:0 (two workers on one GPU)
  5. train     bench/train.py: epochs/s of `virnucpro train`'s loop against the original train.py loop
`--smoke` runs the same parts at a tiny size on the CPU (what `make test` checks). Writes OUTDIR/gpu_suite.json
(every part's JSON, status, seconds, the end of its stderr) and OUTDIR/gpu_suite.md (the targets with the
measured figures), plus OUTDIR/profile_esm.txt and OUTDIR/profile_dnabert.txt.
Usage: python bench/gpu_suite.py OUTDIR [--smoke] [--budget SECONDS]   (bench/gpu_suite.sh installs wheels first)
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@dataclass(frozen=True)
class Part:
    name: str
    script: str
    args: str  # {out}: the output directory, {checkpoint}: the shared ESM-2 3B file
    box: float  # seconds this part may take (before the budget is scaled)


SMOKE = [
    Part("esm", "embed_esm.py", "--size tiny --chunks 500 300 --n 300 --original-n 32 --device cpu "
         "--profile {out}/profile_esm.txt", 120),
    Part("dnabert", "embed_dnabert.py", "--size tiny --n 300 --original-n 32 --device cpu "
         "--profile {out}/profile_dnabert.txt", 120),
    Part("run", "run.py", "--size tiny --mb 0.1 --devices cpu", 120),
    Part("run_2w", "run.py", "--size tiny --mb 0.1 --devices cpu,cpu", 120),
    Part("train", "train.py", "--rows 2000 --dim 128 --epochs 1 --workers 0 --device cpu", 120),
]  # fmt: skip
GPU = [
    Part("esm", "embed_esm.py", "--size 3b --chunks 500 300 --n 20000 --original-n 256 --device cuda "
         "--checkpoint {checkpoint} --profile {out}/profile_esm.txt", 215),
    Part("dnabert", "embed_dnabert.py", "--size 117m --n 200000 --original-n 512 --device cuda "
         "--profile {out}/profile_dnabert.txt", 90),
    Part("run", "run.py", "--size real --mb 3 --devices cuda:0 --esm-checkpoint {checkpoint}", 80),
    Part("run_2w", "run.py", "--size real --mb 3 --devices cuda:0,cuda:0 --esm-checkpoint {checkpoint}", 80),
    Part("train", "train.py", "--rows 100000 --epochs 1 --device cuda", 50),
]  # fmt: skip


def run_part(part: Part, timeout: float, out: Path, work: Path) -> dict:
    """Run one part's script; its JSON (the object it printed), status, seconds and stderr tail."""
    started = time.monotonic()
    arguments = part.args.format(out=out, checkpoint=work / "esm2_t36_3B_random.pt").split()
    command = [sys.executable, str(HERE / part.script), *arguments]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=ROOT, check=False)
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else exc.stderr or ""
        return {
            "status": "timed out",
            "seconds": round(time.monotonic() - started, 1),
            "box_s": round(timeout),
            "stderr_tail": stderr[-2000:],
        }
    record = {
        "status": "ok" if done.returncode == 0 else f"failed (exit {done.returncode})",
        "seconds": round(time.monotonic() - started, 1),
        "box_s": round(timeout),
        "stderr_tail": done.stderr[-2000:],
    }
    text = done.stdout
    start = text.find("{")
    if done.returncode == 0 and start >= 0:
        try:
            record["result"] = json.loads(text[start:])
        except json.JSONDecodeError:
            record["status"] = "failed (output is not JSON)"
    elif done.returncode == 0:
        record["status"] = "failed (no JSON printed)"
    return record


# target name, how to read the figure from the results, comparison, threshold, unit
TARGETS = [
    ("ESM-2 3B end to end, 500 bp", ("esm", "chunks", "500", "ours", "tokens_per_s"), ">=", 100_000, "tokens/s"),
    ("ESM-2 3B end to end, 300 bp", ("esm", "chunks", "300", "ours", "tokens_per_s"), None, None, "tokens/s"),
    ("ESM-2 3B vs the original path, 500 bp", ("esm", "chunks", "500", "speedup"), ">=", 19, "×"),
    ("ESM-2 3B vs the original path, 300 bp", ("esm", "chunks", "300", "speedup"), None, None, "×"),
    ("ESM-2 3B model ready", ("esm", "model_ready_s"), "<=", 10, "s"),
    (
        "ESM-2 3B agreement with fair-esm fp32 (centred cosine, min)",
        ("esm", "chunks", "500", "agreement_vs_original", "centred_cosine_min"),
        None,
        None,
        "",
    ),
    ("DNABERT-S end to end", ("dnabert", "ours", "sequences_per_s"), ">=", 15_000, "seq/s"),
    ("DNABERT-S vs one-by-one", ("dnabert", "speedup"), ">=", 150, "×"),
    (
        "DNABERT-S agreement (centred cosine, min)",
        ("dnabert", "agreement_vs_original", "centred_cosine_min"),
        None,
        None,
        "",
    ),
    ("run: non-embedding share (prepare, predict, report)", ("run", "non_embedding_share"), "<", 0.05, "share"),
    ("run: outside embedding (also model loading, compile)", ("run", "outside_embedding_share"), None, None, "share"),
    ("run, two workers on one GPU: wall time", ("run_2w", "seconds", "total"), None, None, "s"),
    ("run, one worker: wall time", ("run", "seconds", "total"), None, None, "s"),
    ("training loop vs the original's, 100,000 x 3,328", ("train", "speedup"), ">=", 20, "×"),
]


def figure(results: dict, path: tuple[str, ...]) -> float | None:
    value: object = results.get(path[0], {}).get("result")
    for key in path[1:]:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value if isinstance(value, (int, float)) else None


def number(value: float) -> str:
    """12,345 for large figures, 3 significant digits for small ones."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.3g}"


def verdict(value: float | None, comparison: str | None, threshold: float | None, smoke: bool) -> str:
    if value is None:
        return "not measured"
    if comparison is None:
        return ""
    if smoke:
        return "n/a (smoke run)"
    met = {">=": value >= threshold, "<=": value <= threshold, "<": value < threshold}[comparison]
    return "met" if met else "MISSED"


def markdown(results: dict, header: dict, smoke: bool) -> str:
    lines = [
        f"# GPU suite: {header['device']}, {header['date']}",
        "",
        f"torch {header['torch']}, Python {header['python']}, command `{header['command']}`",
        "",
        "| part | status | seconds (box) |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {name} | {part['status']} | {part['seconds']} ({part['box_s']}) |" for name, part in results.items()]
    lines += ["", "| figure | measured | target | verdict |", "| --- | --- | --- | --- |"]
    for name, path, comparison, threshold, unit in TARGETS:
        value = figure(results, path)
        shown = "-" if value is None else f"{value:.1%}" if unit == "share" else f"{number(value)} {unit}".strip()
        target = (
            ""
            if comparison is None
            else (f"{comparison} {threshold:.0%}" if unit == "share" else f"{comparison} {threshold:,} {unit}")
        )
        lines.append(f"| {name} | {shown} | {target} | {verdict(value, comparison, threshold, smoke)} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outdir", type=Path)
    parser.add_argument("--smoke", action="store_true", help="tiny models on the CPU (what make test runs)")
    parser.add_argument("--budget", type=float, default=515.0, help="seconds for all parts together (default 515)")
    args = parser.parse_args()
    args.outdir.mkdir(parents=True, exist_ok=True)
    import torch

    gpu = torch.cuda.is_available() and not args.smoke
    header = {
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "host": platform.node(),
        "mode": "smoke" if args.smoke else "gpu",
        "device": torch.cuda.get_device_name(0) if gpu else "cpu",
        "torch": torch.__version__,
        "python": platform.python_version(),
        "command": " ".join(["bench/gpu_suite.sh", *sys.argv[1:]]),
    }
    if not args.smoke and not torch.cuda.is_available():
        raise SystemExit("gpu_suite: no CUDA GPU is visible (use --smoke for the CPU smoke run)")
    results: dict[str, dict] = {}
    deadline = time.monotonic() + args.budget
    with tempfile.TemporaryDirectory(prefix="gpu_suite-") as tmp:
        planned = SMOKE if args.smoke else GPU
        scale = args.budget / sum(p.box for p in planned)
        for number, part in enumerate(planned):
            later = sum(p.box for p in planned[number + 1 :]) * scale * 0.5  # keep room for the parts after it
            timeout = max(10.0, min(part.box * scale, deadline - time.monotonic() - later))
            print(f"gpu_suite: [{number + 1}/{len(planned)}] {part.name} (at most {timeout:.0f} s)", file=sys.stderr)
            results[part.name] = run_part(part, timeout, args.outdir, Path(tmp))
            print(f"gpu_suite:   {results[part.name]['status']} in {results[part.name]['seconds']} s", file=sys.stderr)
    (args.outdir / "gpu_suite.json").write_text(json.dumps({**header, "parts": results}, indent=2) + "\n")
    (args.outdir / "gpu_suite.md").write_text(markdown(results, header, args.smoke))
    print((args.outdir / "gpu_suite.md").read_text())
    if any(part["status"] != "ok" for part in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
