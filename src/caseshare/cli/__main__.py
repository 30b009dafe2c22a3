"""``python -m caseshare.cli``: the same as the ``caseshare`` command."""

from __future__ import annotations

import sys

from caseshare.cli import main

sys.exit(main())
