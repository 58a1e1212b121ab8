"""``akarclf.scoring.dask.score`` on a two-worker ``distributed.LocalCluster``.

The end-to-end test scores a few thousand real titles (sampled from ``../shared/data`` into a
temporary CSV, never into the repository) with the shipped model and policy, and checks:

- row for row and column for column, the result is what ``akarclf score`` writes for the same
  file. The CLI writes floats as text with :data:`akarclf.scoring.writers.FLOAT_DECIMALS`
  decimals, so both sides are compared as the CLI's text: the CLI file read with every cell as
  a string, the Dask result with its floats formatted by the CLI's own rule. Every byte of
  every cell the CLI would write is then the same;
- at full precision, the result equals :func:`akarclf.score_frame` on the same rows, floats
  bit for bit and dtypes included (the CLI text cannot show the last digits);
- each worker process loaded the model once although it scored several partitions (counted
  by wrapping the loader on the workers with ``Client.run``).
"""

from __future__ import annotations

import csv
import datetime as dt
import random
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import akarclf
from akarclf.cli import main as cli_main
from akarclf.scoring.core import FLOAT_COLUMNS, OUTPUT_COLUMNS
from akarclf.scoring.dask import output_meta, score
from akarclf.scoring.writers import FLOAT_DECIMALS

#: The decision date every path is given, so the CLI and the workers agree.
ON = "2026-11-22"
#: Rows in the end-to-end test.
ROWS = 3000
#: Partitions of the Dask frame: more than the workers, so a per-partition load would show.
PARTITIONS = 8
#: The marketplace files titles are drawn from (all of them have a ``title`` column).
SOURCES = (
    "tokopedia_umkm.csv",
    "bukalapak_products.csv",
    "tokopedia_electronics.csv",
    "lazada_electronics_2019.csv",
    "gold_dev.csv",
)
#: Cross-border spellings the CLI accepts, empty (unknown seller) included.
FLAG_SPELLINGS = ("1", "0", "", "ya", "tidak", "true", "FALSE", "yes", "no")
#: Titles written for these tests: a title with no usable words, one pandas would read as
#: missing unless told not to, quotes and commas.
EXTRA_TITLES = ("!!! ---", "NA", 'Kemeja "slim fit", lengan panjang', "Keripik pisang 250 gr")


def write_listings(shared_data: Path, path: Path, rows: int = ROWS, seed: int = 7) -> Path:
    """A CSV of ``rows`` listings (id, title, cross_border, seller_country): titles drawn with
    a fixed seed from the shared files, plus :data:`EXTRA_TITLES`."""
    titles: list[str] = []
    for name in SOURCES:
        with (shared_data / name).open(encoding="utf-8", newline="") as handle:
            titles.extend(row["title"] for row in csv.DictReader(handle) if row["title"].strip())
    rng = random.Random(seed)
    chosen = [*EXTRA_TITLES, *rng.sample(titles, rows - len(EXTRA_TITLES))]
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "title", "cross_border", "seller_country"])
        for i, title in enumerate(chosen):
            flag = FLAG_SPELLINGS[i % len(FLAG_SPELLINGS)]
            writer.writerow([f"L{i:05d}", title, flag, "CN" if i % 3 else "ID"])
    return path


def cli_score(source: Path, output: Path) -> pd.DataFrame:
    """``akarclf score SOURCE -o OUTPUT --on ON`` with the shipped model and policy, read back
    with every cell as text."""
    status = cli_main(["score", str(source), "-o", str(output), "--on", ON])
    assert status == 0, f"akarclf score exited {status}"
    return pd.read_csv(output, dtype=str, keep_default_na=False)


def as_cli_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every cell as the text ``akarclf score`` writes for it."""
    text = {}
    for name in frame.columns:
        values = frame[name].tolist()
        if name in FLOAT_COLUMNS:
            text[name] = [f"{x:.{FLOAT_DECIMALS}f}" for x in values]
        else:
            text[name] = [str(x) for x in values]
    return pd.DataFrame(text, dtype=object)


def assert_same_text(actual: pd.DataFrame, expected: pd.DataFrame) -> None:
    assert list(actual.columns) == list(expected.columns)
    assert len(actual) == len(expected)
    for name in expected.columns:
        got, want = actual[name].tolist(), expected[name].tolist()
        bad = [i for i, (a, b) in enumerate(zip(got, want, strict=True)) if a != b]
        assert not bad, f"{name} differs at rows {bad[:5]}: {[got[i] for i in bad[:5]]} != " + (
            f"{[want[i] for i in bad[:5]]}"
        )


# -- counting loads on the workers ---------------------------------------------------------


def _install_counters() -> None:
    """On a worker: count real model loads and partitions scored."""
    import akarclf.model.persistence as persistence
    import akarclf.scoring.distributed as integrations

    persistence.clear_model_cache()
    counts = {"loads": 0, "partitions": 0}
    load, score_partition = persistence._load_uncached, integrations.ScoringSpec.score

    def counted_load(*args: Any, **kwargs: Any) -> Any:
        counts["loads"] += 1
        return load(*args, **kwargs)

    def counted_score(self: Any, frame: Any) -> Any:
        counts["partitions"] += 1
        return score_partition(self, frame)

    persistence._load_uncached = counted_load  # type: ignore[assignment]
    integrations.ScoringSpec.score = counted_score  # type: ignore[method-assign]
    persistence._test_counts = counts  # type: ignore[attr-defined]


def _read_counters() -> dict[str, int]:
    import akarclf.model.persistence as persistence

    return dict(persistence._test_counts)  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def listings(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_listings(shared_data, tmp_path_factory.mktemp("dask") / "listings.csv")


@pytest.mark.shared_data
def test_dask_cluster_scores_like_the_cli_and_loads_once_per_worker(
    client: Client, listings: Path, tmp_path: Path
) -> None:
    expected_text = cli_score(listings, tmp_path / "scored.csv")

    client.run(_install_counters)
    ddf = dd.read_csv(
        listings, dtype=str, keep_default_na=False, blocksize=listings.stat().st_size // 7
    )
    assert ddf.npartitions >= PARTITIONS - 1
    scored = score(ddf, on=ON)
    result = scored.compute()

    # Identical to the CLI, as the CLI's text.
    assert_same_text(as_cli_text(result.reset_index(drop=True)), expected_text)

    # Identical to score_frame at full precision, with the dtypes meta promised.
    model, policy = akarclf.load_model(), akarclf.load_policy()
    frame = ddf.compute()
    expected = akarclf.score_frame(frame, model=model, policy=policy, on=dt.date(2026, 11, 22))
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
    assert scored.dtypes.equals(expected.dtypes)

    # Once per worker, not once per partition.
    counts = client.run(_read_counters)
    assert sum(c["partitions"] for c in counts.values()) == ddf.npartitions
    busy = {w: c for w, c in counts.items() if c["partitions"]}
    assert busy, counts
    assert all(c["loads"] == 1 for c in busy.values()), counts
    assert sum(c["partitions"] for c in busy.values()) > len(busy), counts


# -- the call itself (synchronous scheduler, hand-written titles) ---------------------------


def _small_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "id": [f"r{i}" for i in range(6)],
            "title": ["Kaos polos katun", "Kopi bubuk robusta", "", None, "Tas anyaman", "HP"],
            "cross_border": ["1", "0", "", "ya", "tidak", "true"],
        }
    )


def test_meta_and_result_match_score_frame_with_empty_partitions() -> None:
    pdf = _small_frame()
    ddf = dd.from_pandas(pdf, npartitions=3)
    # An empty partition: score_frame alone would give it object text columns.
    filtered = ddf[ddf["id"] != "r2"]
    filtered = filtered[filtered["id"].isin(["r0", "r1", "r2", "r3"])]
    scored = score(filtered, on=ON, explain=True, explain_top=2)
    with dask.config.set(scheduler="sync"):
        parts = [part.compute() for part in scored.to_delayed()]
    assert any(len(p) == 0 for p in parts)
    for part in parts:
        assert part.dtypes.equals(scored.dtypes)
    result = pd.concat(parts)
    expected = akarclf.score_frame(
        filtered.compute(),
        model=akarclf.load_model(),
        policy=akarclf.load_policy(),
        on=dt.date(2026, 11, 22),
        explain=True,
        explain_top=2,
    )
    pd.testing.assert_frame_equal(result, expected, check_exact=True)
    assert list(result.columns[-len(OUTPUT_COLUMNS) - 1 :]) == [*OUTPUT_COLUMNS, "evidence"]


def test_output_meta_types_output_columns() -> None:
    from akarclf.scoring.distributed import make_spec

    meta = pd.DataFrame({"title": pd.Series([], dtype=object), "n": np.array([], dtype="int64")})
    spec = make_spec(
        ["title", "n"],
        model=None,
        policy=None,
        on=ON,
        title_col="title",
        cross_border_col=None,
        explain=False,
    )
    result = output_meta(meta, spec)
    assert list(result.columns) == ["title", "n", *OUTPUT_COLUMNS]
    assert result["n"].dtype == np.int64
    for name in OUTPUT_COLUMNS:
        if name in FLOAT_COLUMNS:
            assert result[name].dtype == np.float64
        else:
            assert result[name].dtype == pd.Series(["x"]).dtype


def test_missing_flag_column_warns_once_and_treats_every_listing_as_cross_border() -> None:
    ddf = dd.from_pandas(_small_frame().drop(columns="cross_border"), npartitions=3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        scored = score(ddf, on=ON)
        result = scored.compute(scheduler="sync")
    assert [str(w.message) for w in caught if w.category is UserWarning] == [
        "input has no column 'cross_border': every listing is treated as cross-border"
    ]
    assert "DOMESTIC_SELLER" not in set(result["reason"])


def test_decision_date_is_fixed_on_the_client() -> None:
    from akarclf.gate.policy import today_utc
    from akarclf.scoring.distributed import make_spec

    def spec_on(on: object) -> dt.date:
        return make_spec(
            ["title"],
            model=None,
            policy=None,
            on=on,
            title_col="title",
            cross_border_col=None,
            explain=False,
        ).on

    assert spec_on(None) == today_utc()
    assert spec_on(ON) == dt.date(2026, 11, 22)
    assert spec_on(dt.datetime(2026, 11, 21, 23, 30, tzinfo=dt.UTC)) == dt.date(2026, 11, 21)


def test_policy_and_model_by_path_or_object(tmp_path: Path) -> None:
    from test_batch_stub import stub_policy, write_stub_policy

    from akarclf.model.persistence import default_model_path

    ddf = dd.from_pandas(_small_frame(), npartitions=2)
    by_default = score(ddf, on=ON, policy=stub_policy()).compute(scheduler="sync")
    by_path = score(
        ddf,
        on=ON,
        model=default_model_path(),
        policy=write_stub_policy(tmp_path / "policy.toml"),
    ).compute(scheduler="sync")
    pd.testing.assert_frame_equal(by_path, by_default, check_exact=True)
    assert set(by_path["policy_version"]) == {"test-policy@1"}


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"title_col": "name"}, KeyError, "no column 'name'"),
        ({"model": object()}, TypeError, "path of a model file"),
        ({"policy": 3}, TypeError, "policy must be"),
        ({"on": "22/11/2026"}, ValueError, "not an ISO date"),
        ({"explain_top": 0}, ValueError, "explain_top"),
    ],
)
def test_bad_calls_fail_before_any_task_runs(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    ddf = dd.from_pandas(_small_frame(), npartitions=2)
    with pytest.raises(error, match=message):
        score(ddf, **kwargs)


def test_an_input_with_output_columns_is_refused() -> None:
    ddf = dd.from_pandas(_small_frame().assign(decision="x"), npartitions=2)
    with pytest.raises(ValueError, match="already has output column"):
        score(ddf, on=ON)


def test_a_pandas_frame_is_refused() -> None:
    with pytest.raises(TypeError, match=r"dask\.dataframe"):
        score(_small_frame())
