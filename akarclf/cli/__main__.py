"""``python -m akarclf.cli``: the ``akarclf`` command."""

import sys

from akarclf.cli import main

sys.exit(main())
