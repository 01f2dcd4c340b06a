"""Writes MNIST as the CSV files the example pipeline reads: train/part-0000.csv and test.csv, columns label,
pixel0 .. pixel783 with raw values 0-255.

  python make_data.py OUT_DIR            downloads MNIST with torchvision
  python make_data.py OUT_DIR --synthetic [ROWS]
                                         writes random digit-like blobs instead (no download; for smoke tests only)
"""

from __future__ import annotations

import csv
import os
import sys

import numpy as np

HEADER = ["label"] + [f"pixel{i}" for i in range(784)]


def write(path: str, images: np.ndarray, labels: np.ndarray) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for img, label in zip(images.reshape(len(labels), 784), labels):
            w.writerow([int(label), *img.astype(int).tolist()])
    print(f"wrote {path} ({len(labels)} rows)")


def synthetic(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Each class is a bright square at its own position plus noise: trivially learnable, enough for a smoke test."""
    labels = rng.integers(0, 10, n)
    images = rng.integers(0, 40, (n, 28, 28))
    for i, c in enumerate(labels):
        r, col = 2 + (c // 5) * 12, 2 + (c % 5) * 5
        images[i, r : r + 10, col : col + 4] = 255
    return images, labels


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    if "--synthetic" in sys.argv:
        rest = [a for a in sys.argv[2:] if a != "--synthetic"]
        n = int(rest[0]) if rest else 2000
        rng = np.random.default_rng(7)
        write(os.path.join(out, "train/part-0000.csv"), *synthetic(n, rng))
        write(os.path.join(out, "test.csv"), *synthetic(max(500, n // 5), rng))
        return 0
    from torchvision.datasets import MNIST  # only for the real download

    for train, name in ((True, "train/part-0000.csv"), (False, "test.csv")):
        ds = MNIST(os.path.join(out, ".download"), train=train, download=True)
        write(os.path.join(out, name), ds.data.numpy(), ds.targets.numpy())
    return 0


if __name__ == "__main__":
    sys.exit(main())
