"""Developer check: our DNABERT-2/DNABERT-S port against DNABERT-2's own modelling code, same random weights.

The reference code (bert_layers.py, bert_padding.py, configuration_bert.py of zhihan1996/DNABERT-2-117M) is
not part of this repository and must never be committed: fetch it into a git-ignored directory such as
.cache/dnabert_ref/ and pass that directory. The script writes a random-weight model directory of the chosen
shape (for 117m with the reference directory's tokenizer.json when it has one), copies the reference code beside
it, and runs the comparison of `virnucpro check-dnabert` on it (fp32, CPU).
Usage: python bench/check_dnabert_reference.py --reference .cache/dnabert_ref [--size 117m|tiny]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from virnucpro.check_dnabert import HUB_CODE, largest_difference
from virnucpro.testmodels.dnabert import write_dnabert_dir

# hidden, layers, heads, intermediate, alibi_starting_size, vocabulary (None: the small fixed test vocabulary);
# 6 and 12 heads exercise the non-power-of-two ALiBi slopes
SIZES = {"117m": (768, 12, 12, 3072, 512, 4096), "tiny": (48, 3, 6, 96, 64, None)}
TOLERANCE = 1e-5  # the bound for fp32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", required=True, type=Path, help="directory with DNABERT-2's modelling code")
    parser.add_argument("--size", choices=sorted(SIZES), default="tiny")
    parser.add_argument("--layout", choices=["plain", "mlm"], default="mlm")
    parser.add_argument("--sequences", type=int, default=8)
    args = parser.parse_args()
    hidden, layers, heads, intermediate, alibi, vocab = SIZES[args.size]
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = write_dnabert_dir(Path(tmp) / "model", hidden, layers, heads, intermediate, alibi,
                                      layout=args.layout, weights_format="bin", vocab_size=vocab)  # fmt: skip
        for name in HUB_CODE:
            shutil.copy(args.reference / name, model_dir / name)
        if vocab == 4096 and (args.reference / "tokenizer.json").is_file():  # DNABERT-2's own tokenizer
            shutil.copy(args.reference / "tokenizer.json", model_dir / "tokenizer.json")
        largest = largest_difference(model_dir, args.sequences)
    verdict = "within" if largest <= TOLERANCE else "ABOVE"
    print(f"{args.size}, {args.layout} layout: {args.sequences} sequences, largest absolute difference {largest:.3e} "
          f"({verdict} {TOLERANCE:g})")  # fmt: skip
    if largest > TOLERANCE:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
