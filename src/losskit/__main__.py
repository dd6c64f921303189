"""``python -m losskit``: the same as the ``losskit`` command."""

import sys

from losskit.cli import main

if __name__ == "__main__":  # not when a documentation tool imports the module
    sys.exit(main())
