"""``python -m ndpmon``: the same as the ``ndpmon`` command."""

import sys

from .cli import main

sys.exit(main())
