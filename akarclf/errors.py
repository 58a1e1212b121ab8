"""The one base class of every error akarclf raises on purpose.

A service can catch :class:`AkarclfError` to tell a refused input (bad model file, invalid
policy, unreadable catalogue) from a bug; each subclass also derives from the built-in
exception its callers would expect (``ValueError``, ``FileNotFoundError``, ...).
"""


class AkarclfError(Exception):
    """Base of every akarclf error."""
