"""`python -m virnucpro` runs the command-line interface."""

import sys

from virnucpro.cli import main

sys.exit(main())
