"""``python -m gankit``: the same as the ``gankit`` command."""

from gankit.cli import main

raise SystemExit(main())
