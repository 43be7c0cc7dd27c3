from dendritic.cli import main

raise SystemExit(main())
