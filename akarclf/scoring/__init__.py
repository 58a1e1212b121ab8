"""Batch scoring: whole catalogues through the classifier and the gate, in bounded memory.

- :func:`score_file` - what ``akarclf score`` runs: CSV/JSONL (``.gz``, stdin/stdout) in,
  scored file and rejects file out, optionally in worker processes;
- :func:`score_records` - the same for an iterable of mappings, yielding dicts lazily;
- :func:`score_columns` - the core every path shares (titles + flags in, columns out);
- :data:`OUTPUT_COLUMNS` - the names of the appended columns, defined once.

:func:`akarclf.scoring.frame.score_frame` applies the same core to a pandas DataFrame.
"""

from __future__ import annotations

from akarclf.scoring.core import (
    EVIDENCE_COLUMN,
    OUTPUT_COLUMNS,
    PROBA_COLUMNS,
    output_columns,
    score_columns,
)
from akarclf.scoring.readers import InputError, UsageError
from akarclf.scoring.records import RejectedRecordError, score_records
from akarclf.scoring.rows import Reject
from akarclf.scoring.runner import DEFAULT_CHUNK_SIZE, ScoreSummary, score_file

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "EVIDENCE_COLUMN",
    "OUTPUT_COLUMNS",
    "PROBA_COLUMNS",
    "InputError",
    "Reject",
    "RejectedRecordError",
    "ScoreSummary",
    "UsageError",
    "output_columns",
    "score_columns",
    "score_file",
    "score_records",
]
