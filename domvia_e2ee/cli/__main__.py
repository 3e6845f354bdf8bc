"""`python -m domvia_e2ee.cli`: the same as the domvia-e2ee command."""

from __future__ import annotations

from . import main

raise SystemExit(main())
