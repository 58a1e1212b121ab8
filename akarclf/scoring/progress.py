"""A rows-and-rows-per-second progress display on stderr (tqdm when installed)."""

from __future__ import annotations

import os
import sys
import time
from typing import IO, Any


def _terminal_size(stream: IO[str]) -> tuple[int, int]:
    """Columns and lines of the terminal behind ``stream``; 80 x 24 where unknown or reported
    as 0 (a pty nobody sized), which would make tqdm hide its bar."""
    try:
        size = os.get_terminal_size(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return 80, 24
    return size.columns or 80, size.lines or 24


class Progress:
    """Counts rows; shows them on ``stream`` when enabled, with tqdm if it can be imported."""

    def __init__(self, enabled: bool, stream: IO[str] | None = None) -> None:
        self.enabled = enabled
        self._stream = stream or sys.stderr
        self._bar: Any = None
        self._rows = 0
        self._started = time.perf_counter()
        self._shown = 0.0
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                return
            columns, lines = _terminal_size(self._stream)
            self._bar = tqdm(
                file=self._stream,
                unit=" rows",
                unit_scale=True,
                desc="scoring",
                leave=True,
                ncols=columns,
                nrows=lines,
            )

    def update(self, rows: int) -> None:
        self._rows += rows
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(rows)
            return
        now = time.perf_counter()
        if now - self._shown >= 0.5:
            self._shown = now
            rate = self._rows / max(now - self._started, 1e-9)
            self._stream.write(f"\rscoring: {self._rows:,} rows, {rate:,.0f} rows/s")
            self._stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        else:
            self._stream.write("\n")
            self._stream.flush()
