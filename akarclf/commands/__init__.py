"""Sub-commands of the ``akarclf`` console command, one module each (see :mod:`akarclf.cli`)."""
