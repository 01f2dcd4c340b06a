"""Writes synthetic ad-click data (raw/part-0000.csv, eval.csv) for trying the example without real logs.

  python make_data.py OUT_DIR [ROWS]

Columns match examples/ad-click/trainingpipeline.yaml's dataValidation; the label follows a known logistic model,
so a good fit reaches an AUC of about 0.8.
"""

from __future__ import annotations

import csv
import os
import sys

import numpy as np

COLUMNS = ["clicked", "age", "hour", "ad_position", "site_ctr", "user_ctr", "mobile"]


def rows(n: int, rng: np.random.Generator):
    age = rng.uniform(18, 70, n)
    hour = rng.integers(0, 24, n)
    pos = rng.integers(1, 11, n)
    site = rng.beta(2, 30, n)
    user = rng.beta(2, 20, n)
    mobile = rng.integers(0, 2, n)
    z = -1.0 + 25 * site + 15 * user - 0.35 * pos + 0.6 * mobile - 0.02 * (age - 40) + 0.4 * np.sin(hour / 24 * 6.28)
    clicked = (rng.uniform(size=n) < 1 / (1 + np.exp(-z))).astype(int)
    user_missing = rng.uniform(size=n) < 0.02
    for i in range(n):
        yield [
            clicked[i],
            f"{age[i]:.1f}",
            hour[i],
            pos[i],
            f"{site[i]:.5f}",
            "" if user_missing[i] else f"{user[i]:.5f}",
            mobile[i],
        ]


def main() -> int:
    out = sys.argv[1] if len(sys.argv) > 1 else "."
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5000
    os.makedirs(os.path.join(out, "raw"), exist_ok=True)
    rng = np.random.default_rng(7)
    for name, count in (("raw/part-0000.csv", n), ("eval.csv", max(1000, n // 4))):
        with open(os.path.join(out, name), "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            w.writerows(rows(count, rng))
        print(f"wrote {os.path.join(out, name)} ({count} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
