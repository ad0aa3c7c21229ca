from scanner.cli.app import main

raise SystemExit(main())
