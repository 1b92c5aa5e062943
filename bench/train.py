"""Benchmark: epochs per second of `virnucpro train`'s loop against the original train.py's loop, same run, same data.

Writes ROWS x DIM float32 features (default 100,000 x 3,328: two slightly shifted classes) as merged files of
10,000 rows with the original's 'labels' key, then alternates, epoch by epoch, in this one process:
  original  train.py's FileBatchDataset (every file loaded; a row found by walking the file list) in a Subset of
            its random 90/10 split, DataLoader(batch_size=32, shuffle=True, num_workers=WORKERS), the batch moved
            to the device, one loss.item() per batch, then the test pass with sklearn's metrics
  ours      virnucpro.train.Trainer: the rows in one memory-mapped matrix (on the device when it fits), a batch
            gathered from a shuffled index in one call, the loss summed on the device, the same test metrics
Both run the same model, optimizer and batch size; each epoch's time includes its test pass. Prints the epochs per
second of each and their ratio, then the same as JSON. Usage:
    python bench/train.py [--rows 100000] [--dim 3328] [--epochs 2] [--workers 12] [--device auto]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader, Dataset, Subset  # noqa: E402

FILE_ROWS = 10_000  # the original's split files


class FileBatchDataset(Dataset):
    """train.py's dataset: all files in memory; a row is found by walking the list of files."""

    def __init__(self, paths: list[Path]) -> None:
        self.data, self.labels = [], []
        for path in paths:
            saved = torch.load(path, weights_only=True)
            self.data.append(saved["data"][:, :])
            self.labels.append(saved["labels"][0])

    def __len__(self) -> int:
        return sum(d.size(0) for d in self.data)

    def __getitem__(self, index: int):
        before = 0
        for data, label in zip(self.data, self.labels, strict=True):
            if before + data.size(0) > index:
                return data[index - before], torch.tensor(label)
            before += data.size(0)
        raise IndexError(index)


def write_features(folder: Path, rows: int, dim: int, seed: int = 0) -> tuple[list[Path], Path]:
    """Merged files of FILE_ROWS rows (half viral, half host) and their labels table."""
    from virnucpro.atomic import atomic_torch_save

    generator = torch.Generator().manual_seed(seed)
    shift = torch.linspace(-0.3, 0.3, dim)
    paths, lines = [], ["file\tlabel\tgroup"]
    for number, start in enumerate(range(0, rows, FILE_ROWS)):
        n = min(FILE_ROWS, rows - start)
        label = number % 2
        data = torch.randn(n, dim, generator=generator) + (shift if label else -shift)
        path = folder / f"part_{number:03d}.merged.pt"
        atomic_torch_save({"ids": [f"r{start + i}_chunk_1F1" for i in range(n)], "data": data, "labels": [label]}, path)
        paths.append(path)
        lines.append(f"{path.name}\t{'viral' if label else 'host'}\t{'viral' if label else 'bacteria'}")
    labels = folder / "labels.tsv"
    labels.write_text("\n".join(lines) + "\n")
    return paths, labels


class OriginalLoop:
    """train.py's epoch: DataLoader over the Subset, then test_model."""

    def __init__(self, paths: list[Path], workers: int, device: torch.device, model, optimizer) -> None:
        dataset = FileBatchDataset(paths)
        indices = list(range(len(dataset)))
        cut = int(len(dataset) * 0.1)
        random.Random(42).shuffle(indices)
        self.train = DataLoader(Subset(dataset, indices[cut:]), batch_size=32, shuffle=True, num_workers=workers)
        self.test = DataLoader(Subset(dataset, indices[:cut]), batch_size=32, shuffle=False, num_workers=workers)
        self.device, self.model, self.optimizer = device, model, optimizer

    def epoch(self) -> tuple[float, float]:
        from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score

        model, device = self.model, self.device
        model.train()
        running = 0.0
        for data, labels in self.train:
            data, labels = data.to(device), labels.to(device)
            self.optimizer.zero_grad()
            loss = F.cross_entropy(model(data), labels)
            loss.backward()
            self.optimizer.step()
            running += loss.item()
        model.eval()
        truth, called, scores, test_loss = [], [], [], 0.0
        with torch.no_grad():
            for data, labels in self.test:
                data, labels = data.to(device), labels.to(device)
                outputs = model(data)
                test_loss += F.cross_entropy(outputs, labels).item()
                truth.extend(labels.cpu().numpy())
                called.extend(torch.max(outputs.data, 1)[1].cpu().numpy())
                scores.extend(F.softmax(outputs, dim=1)[:, 1].cpu().numpy())
        accuracy_score(truth, called), precision_score(truth, called), recall_score(truth, called)
        f1_score(truth, called)
        return running / len(self.train), float(roc_auc_score(truth, scores))


class OurLoop:
    def __init__(self, paths: list[Path], labels: Path, folder: Path, device: torch.device, model, optimizer):
        from virnucpro.labels import read_labels
        from virnucpro.recipe import Recipe
        from virnucpro.train import Trainer
        from virnucpro.training_data import load_matrix, original_split

        self.matrix = load_matrix(read_labels(labels, paths), folder / "features.npy", balance=False)
        split = original_split(len(self.matrix.ids), 0.1, 42)
        self.trainer = Trainer(self.matrix, split, Recipe(), device)
        self.model, self.optimizer = model, optimizer

    def epoch(self) -> tuple[float, float]:
        loss = self.trainer.train_epoch(self.model, self.optimizer)
        _, metrics, _ = self.trainer.evaluate(self.model)
        return loss, metrics.roc_auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=3328)
    parser.add_argument("--epochs", type=int, default=2, help="epochs of each loop (alternating)")
    parser.add_argument("--workers", type=int, default=12, help="the original's DataLoader workers (train.py: 12)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's choice)")
    args = parser.parse_args()
    from virnucpro.embed.engine import resolve_device
    from virnucpro.recipe import Recipe
    from virnucpro.train import new_classifier

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "CPU"
    print(f"device {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} CPU threads, "
          f"{args.rows:,} x {args.dim} features, batch 32, original DataLoader workers {args.workers}")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        paths, labels = write_features(folder, args.rows, args.dim)
        print(f"wrote {len(paths)} merged files in {time.perf_counter() - started:.1f} s")
        loops, times = {}, {"original": [], "ours": []}
        for kind in ("original", "ours"):
            torch.manual_seed(0)
            model = new_classifier(args.dim, Recipe()).to(device)
            optimizer = torch.optim.SGD(model.parameters(), lr=2e-4, momentum=0.9)
            started = time.perf_counter()
            loops[kind] = (OriginalLoop(paths, args.workers, device, model, optimizer) if kind == "original"
                           else OurLoop(paths, labels, folder, device, model, optimizer))  # fmt: skip
            print(f"{kind}: data loaded in {time.perf_counter() - started:.1f} s")
        for epoch in range(1, args.epochs + 1):
            for kind, loop in loops.items():
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                started = time.perf_counter()
                loss, auc = loop.epoch()
                if device.type == "cuda":
                    torch.cuda.synchronize(device)
                times[kind].append(time.perf_counter() - started)
                seconds = times[kind][-1]
                print(f"epoch {epoch} {kind:8s} {seconds:8.2f} s  training loss {loss:.4f}  test ROC AUC {auc:.4f}")
        rates = {kind: len(t) / sum(t) for kind, t in times.items()}
        result = {
            "device": name,
            "torch": torch.__version__,
            "rows": args.rows,
            "dim": args.dim,
            "epochs": args.epochs,
            "epochs_per_s": rates,
            "speedup": round(rates["ours"] / rates["original"], 2),
        }
        print(f"epochs/s: original {rates['original']:.4f}, ours {rates['ours']:.4f}; "
              f"ratio {rates['ours'] / rates['original']:.2f}x (median epoch {np.median(times['original']):.2f} s "
              f"vs {np.median(times['ours']):.2f} s)")  # fmt: skip
        loops["ours"].matrix.close()
    print(json.dumps(result, indent=2))  # last, for bench/gpu_suite.py


if __name__ == "__main__":
    main()
