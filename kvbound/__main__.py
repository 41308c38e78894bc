"""``python -m kvbound``: the same as the ``kvbound`` console script."""

import sys

from kvbound.cli import main

sys.exit(main())
