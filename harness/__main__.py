"""`python -m harness`: the same CLI as the `photopipe` console script."""

from harness.cli import main

raise SystemExit(main())
