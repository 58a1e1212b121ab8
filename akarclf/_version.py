"""The single place the akarclf version is written."""

__version__ = "0.2.0"
