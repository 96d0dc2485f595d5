"""``python -m langchain_platform`` is the ``langchain-platform`` command."""

import sys

from langchain_platform.cli import main

sys.exit(main())
