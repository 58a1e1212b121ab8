"""``akarclf.scoring.spark.score`` in Spark local mode (two cores), against the CLI.

Runs where PySpark and Java are installed and is skipped, with the reason shown by ``-ra``,
where either is missing; in CI (``AKARCLF_REQUIRE_SPARK=1``, set by ``.ci/run``, which installs
the extra ``[spark]`` apart from ``[dev]``) a missing one fails the run. The same few thousand
real titles as the Dask test (sampled from ``../shared/data`` into a temporary CSV) go through
``spark.read.csv`` and ``score``; the result must be, row for row and column for column, the
text ``akarclf score`` writes (see ``test_integrations_dask`` for why the comparison is on
the CLI's text), and at full precision the values :func:`akarclf.score_frame` returns.

Loads are counted in the Python workers themselves: a ``sitecustomize`` module written to a
temporary directory on ``PYTHONPATH`` wraps the model loader and the partition scorer in every
Python process Spark starts, and appends the process id of each call to a log file.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import os
import shutil
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from test_integrations_dask import ON, as_cli_text, assert_same_text, cli_score, write_listings

import akarclf
from akarclf.scoring.core import FLOAT_COLUMNS, OUTPUT_COLUMNS

# CI (.ci/run) installs the extra [spark] apart from [dev] and sets AKARCLF_REQUIRE_SPARK=1:
# there a missing PySpark or Java fails the run instead of skipping this module.
if os.environ.get("AKARCLF_REQUIRE_SPARK") == "1" and (
    importlib.util.find_spec("pyspark") is None
    or (shutil.which("java") is None and not os.environ.get("JAVA_HOME"))
):
    pytest.fail("AKARCLF_REQUIRE_SPARK=1, but PySpark or Java is missing", pytrace=False)
pytest.importorskip("pyspark", reason="PySpark is not installed (extra [spark])")
if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
    pytest.skip("Spark needs Java 17 or later, and none is installed", allow_module_level=True)

from pyspark.sql import SparkSession

from akarclf.scoring.spark import score

REPO = Path(__file__).resolve().parents[1]

# PySpark 4.3 warns about pandas 3 on every conversion (its own code, not akarclf's).
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]
#: Spark partitions scored: more than the two Python workers of local[2].
PARTITIONS = 8

#: Written to a temporary directory put on the Python workers' PYTHONPATH.
SITECUSTOMIZE = """
import os

_log = os.environ.get("AKARCLF_TEST_LOAD_LOG")
if _log:
    import akarclf.scoring.distributed as _integrations
    import akarclf.model.persistence as _persistence

    def _note(event):
        with open(_log, "a", encoding="utf-8") as handle:
            handle.write(f"{event} {os.getpid()}\\n")

    _load, _score = _persistence._load_uncached, _integrations.ScoringSpec.score

    def _counted_load(*args, **kwargs):
        _note("load")
        return _load(*args, **kwargs)

    def _counted_score(self, frame):
        _note("batch")
        return _score(self, frame)

    _persistence._load_uncached = _counted_load
    _integrations.ScoringSpec.score = _counted_score
"""


@pytest.fixture(scope="module")
def load_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("spark_log") / "loads.log"


@pytest.fixture(scope="module")
def spark(tmp_path_factory: pytest.TempPathFactory, load_log: Path) -> Iterator[Any]:
    hooks = tmp_path_factory.mktemp("spark_hooks")
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        # The JVM and the Python workers it starts inherit this environment.
        patch.setenv("PYSPARK_PYTHON", sys.executable)
        patch.setenv("PYSPARK_DRIVER_PYTHON", sys.executable)
        path = os.pathsep.join(filter(None, [str(hooks), str(REPO), os.environ.get("PYTHONPATH")]))
        patch.setenv("PYTHONPATH", path)
        patch.setenv("AKARCLF_TEST_LOAD_LOG", str(load_log))
        session = (
            SparkSession.builder.master("local[2]")
            .appName("akarclf-test")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", str(PARTITIONS))
            .config("spark.python.worker.reuse", "true")
            .getOrCreate()
        )
        session.sparkContext.setLogLevel("ERROR")
        try:
            yield session
        finally:
            session.stop()


@pytest.mark.shared_data
def test_spark_local_scores_like_the_cli_and_loads_once_per_python_worker(
    spark: Any, shared_data: Path, tmp_path: Path, load_log: Path
) -> None:
    listings = write_listings(shared_data, tmp_path / "listings.csv")
    expected_text = cli_score(listings, tmp_path / "scored.csv")

    df = spark.read.csv(str(listings), header=True, multiLine=True, escape='"')
    df = df.repartition(PARTITIONS)
    load_log.write_text("", encoding="utf-8")
    result = score(df, on=ON).toPandas().sort_values("id").reset_index(drop=True)

    # Spark reads an empty cell as null; akarclf reads both as a missing flag.
    inputs = list(df.columns)
    result[inputs] = result[inputs].astype(object).where(result[inputs].notna(), "")
    assert_same_text(as_cli_text(result), expected_text)

    frame = pd.read_csv(listings, dtype=str, keep_default_na=False)
    expected = akarclf.score_frame(
        frame, model=akarclf.load_model(), policy=akarclf.load_policy(), on=dt.date(2026, 11, 22)
    )
    for name in OUTPUT_COLUMNS:
        if name in FLOAT_COLUMNS:
            assert np.array_equal(result[name].to_numpy(), expected[name].to_numpy()), name
        else:
            assert result[name].tolist() == expected[name].tolist(), name

    events = [line.split() for line in load_log.read_text(encoding="utf-8").splitlines()]
    loads = Counter(pid for event, pid in events if event == "load")
    batches = Counter(pid for event, pid in events if event == "batch")
    assert sum(batches.values()) >= PARTITIONS, events
    assert set(loads) == set(batches), events
    assert all(n == 1 for n in loads.values()), events
    assert sum(batches.values()) > len(loads), events


def test_schema_types_the_output_columns(spark: Any) -> None:
    from pyspark.sql.types import DoubleType, StringType

    df = spark.createDataFrame([("Kaos polos", "1")], "title string, cross_border string")
    schema = score(df, on=ON).schema
    assert schema.fieldNames() == ["title", "cross_border", *OUTPUT_COLUMNS]
    for name in OUTPUT_COLUMNS:
        kind = DoubleType if name in FLOAT_COLUMNS else StringType
        assert isinstance(schema[name].dataType, kind), name


@pytest.mark.parametrize("kind", ["boolean", "int"])
def test_boolean_and_integer_flag_columns_are_read(spark: Any, kind: str) -> None:
    from akarclf.gate.decision import DOMESTIC_SELLER, UNKNOWN_SELLER

    yes, no = (True, False) if kind == "boolean" else (1, 0)
    rows = [("Kaos polos katun", yes), ("Kaos polos katun", no), ("Kaos polos katun", None)]
    df = spark.createDataFrame(rows, f"title string, cross_border {kind}")
    result = score(df, on=ON).toPandas()
    reasons = result["reason"].tolist()
    assert reasons[1] == DOMESTIC_SELLER
    assert reasons[2] == UNKNOWN_SELLER
    assert reasons[0] not in (DOMESTIC_SELLER, UNKNOWN_SELLER)


def test_a_non_string_title_column_is_refused(spark: Any) -> None:
    df = spark.createDataFrame([(1, "1")], "title int, cross_border string")
    with pytest.raises(TypeError, match="must be a string column"):
        score(df, on=ON)


def test_a_pandas_frame_is_refused() -> None:
    with pytest.raises(TypeError, match="pyspark"):
        score(pd.DataFrame({"title": ["x"]}))
