from stepedit_app.cli import main

raise SystemExit(main())
