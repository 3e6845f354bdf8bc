"""The domvia-e2ee command line. No cryptography here: it parses, calls the library, reports."""

from __future__ import annotations

from .main import main

__all__ = ["main"]
