"""Make a synthetic catalogue for benchmarks: real titles resampled, random seller flags.

Titles are drawn with replacement from the ``title`` column of every CSV in the shared data
folder (``../shared/data`` beside the repository); each row gets a random cross-border flag.
The file goes where you say, which must not be inside the repository (the data may not be
copied into it)::

    python benchmarks/make_catalogue.py /tmp/catalogue.csv --rows 1000000
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"


def read_titles(data_dir: Path = DEFAULT_DATA) -> list[str]:
    """Every non-blank title of every CSV in ``data_dir`` (in file order)."""
    files = sorted(data_dir.glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no CSV files in {data_dir}")
    titles: list[str] = []
    for path in files:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or "title" not in reader.fieldnames:
                continue
            titles.extend(row["title"] for row in reader if (row["title"] or "").strip())
    return titles


def write_catalogue(
    path: Path, rows: int, *, seed: int = 0, titles: list[str] | None = None
) -> Path:
    """Write ``rows`` listings (``id,title,cross_border``) to ``path``; returns ``path``."""
    if REPO in path.resolve().parents:
        raise ValueError(f"refusing to write real titles inside the repository: {path}")
    pool = titles if titles is not None else read_titles()
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "title", "cross_border"])
        batch = 10_000
        for start in range(0, rows, batch):
            n = min(batch, rows - start)
            picks = rng.choices(pool, k=n)
            flags = rng.choices(("1", "0"), k=n)
            writer.writerows(zip(range(start + 1, start + n + 1), picks, flags, strict=True))
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path, help="CSV file to write (outside the repository)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="shared data folder")
    args = parser.parse_args(argv)
    titles = read_titles(args.data)
    write_catalogue(args.output, args.rows, seed=args.seed, titles=titles)
    print(f"wrote {args.rows:,} rows from {len(titles):,} titles to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
