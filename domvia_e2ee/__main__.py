"""`python -m domvia_e2ee`: the same as the domvia-e2ee command."""

from __future__ import annotations

from .cli import main

raise SystemExit(main())
