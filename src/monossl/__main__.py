from monossl.cli import main

raise SystemExit(main())
