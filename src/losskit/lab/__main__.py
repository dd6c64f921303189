"""``python -m losskit.lab``: the same as ``losskit lab``."""

import sys

from losskit.cli.lab import main

if __name__ == "__main__":  # not when a documentation tool imports the module
    sys.exit(main())
