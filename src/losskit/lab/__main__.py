"""``python -m losskit.lab``: the same as ``losskit lab``."""

import sys

from losskit.cli.lab import main

sys.exit(main())
