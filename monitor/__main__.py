"""``python -m monitor`` runs the ``newsmon`` command line."""

from monitor.cli import main

raise SystemExit(main())
