"""`python -m app.cli` is the `prism` command."""

import sys

from app.cli import main

sys.exit(main())
