"""`python -m platformctl`: what the schedule's systemd units run, whatever the console script's path."""

from platformctl.cli import main

raise SystemExit(main())
