"""``python -m perception`` runs the command-line interface."""

from perception.cli.main import main

raise SystemExit(main())
