"""``python -m ndpmon``: the same as the ``ndpmon`` command."""

import sys

from ndpmon.commands.main import main

sys.exit(main())
