"""Every public name of the message, sealing and identity modules says what it does, and the
modules say which error codes they raise (attachment*.py are documented separately)."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest

MODULES = ["domvia_e2ee.message", "domvia_e2ee.sealing", "domvia_e2ee.identity"]


def _undocumented(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    missing = []
    for name, obj in vars(module).items():
        if name.startswith("_") or getattr(obj, "__module__", None) != module_name:
            continue
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not (obj.__doc__ or "").strip():
            missing.append(name)
        if inspect.isclass(obj):
            for member, value in vars(obj).items():
                function = value.fget if isinstance(value, property) else getattr(value, "__func__", value)
                public = not member.startswith("_") and (callable(function) or isinstance(value, property))
                if public and not (getattr(function, "__doc__", None) or "").strip():
                    missing.append(f"{name}.{member}")
    return missing


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    assert _undocumented(module_name) == []


@pytest.mark.parametrize("module_name", MODULES)
def test_the_module_names_its_error_codes(module_name: str) -> None:
    doc = importlib.import_module(module_name).__doc__ or ""
    assert re.search(r"\bE_FORMAT\b", doc) and "Error codes" in doc
