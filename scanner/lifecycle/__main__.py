"""``python -m scanner.lifecycle build``: derive the shipped lifecycle catalogue."""

from scanner.lifecycle.build import main

raise SystemExit(main())
