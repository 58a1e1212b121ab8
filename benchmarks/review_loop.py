"""The review loop's learning curve: rounds of reviewer labels, drawn by the queue or at random.

The unlabelled pool is the four marketplace files that carry search keywords or thin categories
(:data:`POOL_FILES`); every title in them is a candidate, keyed ``<file stem>:<line>`` like the
hand labels. ``random`` draws the random arm: a seeded permutation of the pool, cut into rounds,
so that the same command always gives the same titles. Sheets hold uid and title only (no model
output, so the readers stay blind) and are written outside the repository: titles never enter
it, only the readers' labels do, as reviewer files keyed by uid and title hash.

    python benchmarks/review_loop.py random --data ../shared/data --rounds 4 --size 150 --out DIR
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np

from akarclf.training.datasets import GOLD_FILE, title_key

POOL_FILES = (
    "tokopedia_keywords_2025.csv",
    "shopee_keywords_2023.csv",
    "tokopedia_sample_2025.csv",
    "qlapa_handmade_2016.csv",
)
RANDOM_SEED = 2026


def read_pool(data_dir: Path) -> list[tuple[str, str]]:
    """(uid, title) of every pool title, in file order, without titles that are in gold."""
    gold = set()
    with (data_dir / GOLD_FILE).open(encoding="utf-8", newline="") as handle:
        gold = {title_key(row["title"]) for row in csv.DictReader(handle)}
    pool, seen = [], set()
    for name in POOL_FILES:
        path = data_dir / name
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                title = (row.get("title") or "").strip()
                key = title_key(title) if title else ""
                if not title or key in gold or key in seen:
                    continue
                seen.add(key)
                pool.append((f"{path.stem}:{reader.line_num}", title))
    return pool


def draw_random(pool: list[tuple[str, str]], rounds: int, size: int) -> list[list[tuple[str, str]]]:
    """The random arm: ``rounds`` disjoint draws of ``size`` pool titles (seeded)."""
    order = np.random.default_rng(RANDOM_SEED).permutation(len(pool))
    return [[pool[i] for i in order[r * size : (r + 1) * size]] for r in range(rounds)]


def write_sheet(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["uid", "title"])
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rnd = sub.add_parser("random", help="write the random arm's sheets")
    rnd.add_argument("--data", type=Path, required=True)
    rnd.add_argument("--rounds", type=int, default=4)
    rnd.add_argument("--size", type=int, default=150)
    rnd.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    pool = read_pool(args.data)
    args.out.mkdir(parents=True, exist_ok=True)
    for number, rows in enumerate(draw_random(pool, args.rounds, args.size), start=1):
        write_sheet(args.out / f"random_r{number}.csv", rows)
    print(f"pool {len(pool)} titles; {args.rounds} random rounds of {args.size} in {args.out}")


if __name__ == "__main__":
    main()
