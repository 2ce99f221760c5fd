"""``python -m queen``: the same as the ``queen`` console command."""

from queen.cli import main

raise SystemExit(main())
