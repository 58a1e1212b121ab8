"""Worker processes that end with the process that made their pool."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

#: ``prctl`` option that asks the kernel to signal a process when its parent dies (Linux).
_PR_SET_PDEATHSIG = 1

#: Seconds between a worker's checks that the process that made the pool is still there.
OWNER_CHECK_SECONDS = 1.0


def die_with_owner(owner: int) -> None:
    """End this worker soon after ``owner`` (the process that made the pool) is gone.

    A worker holds both ends of the pool's pipes, so it never sees end-of-file when the owner
    is killed outright (SIGKILL, the out-of-memory killer) and would wait for work for ever.
    On Linux a forked worker asks the kernel for SIGTERM when its parent dies; a worker made
    by a fork server (whose parent is the server, which outlives the owner) or spawned
    elsewhere checks every :data:`OWNER_CHECK_SECONDS` from a daemon thread instead.
    """
    if sys.platform.startswith("linux") and os.getppid() == owner:
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except (OSError, AttributeError):
            pass
        else:
            return
    threading.Thread(target=_exit_when_gone, args=(owner,), daemon=True).start()


def _exit_when_gone(owner: int) -> None:
    while _alive(owner):
        time.sleep(OWNER_CHECK_SECONDS)
    os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
