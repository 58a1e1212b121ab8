"""Fixtures every test module may use, and the Hypothesis profiles.

Paths are computed from this file, never from the working directory, so the suite gives the
same answer wherever pytest is started. The real marketplace files are read in place from
``../shared/data`` (beside the repository; CI has them there) and are never copied in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

#: Top of the repository (the directory holding pyproject.toml).
REPO_ROOT = Path(__file__).resolve().parents[1]
#: The real training data, beside the repository; read only, never copied into it.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
#: The example listings the README's quick start scores.
EXAMPLES_CSV = REPO_ROOT / "notebooks" / "examples" / "listings.csv"

# CI runs the same examples every time (a failure there can be reproduced) and does not keep a
# database between runs; on a developer's machine Hypothesis explores and remembers failures.
settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's top directory."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``../shared/data``; fails (does not skip) when it is missing, naming where it looked."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(
            f"the shared training data is missing: expected {SHARED_DATA} beside the repository",
            pytrace=False,
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def examples_csv() -> Path:
    """The example listings file shipped in the repository for the README's quick start."""
    return EXAMPLES_CSV
