"""`python -m courtfeed.cli`: the same as the `courtfeed` command."""

import sys

from courtfeed.cli import main

sys.exit(main())
