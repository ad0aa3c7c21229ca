"""``python -m scanner.lifecycle build``: derive the shipped lifecycle catalogue."""

from scanner.lifecycle.catalogue import main

raise SystemExit(main())
