"""Every public name of the documented core modules has a docstring, which names the errors it raises.

Checked: public functions, classes and their public methods and properties (a constructor is
documented by its class). A function whose body raises a DomviaError subclass directly must name
that error or its code in its docstring; errors raised further down are documented by hand and
checked by reading. Each error class states its code.

The group-layer modules (domvia_e2ee.group.*) are listed too, now that their docstrings are written;
a new module of the package is added here with its docstrings.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest

from domvia_e2ee import errors

MODULES = [
    "domvia_e2ee.attachment", "domvia_e2ee.attachment_io", "domvia_e2ee.attachment_seal", "domvia_e2ee.attachment_open",
    "domvia_e2ee.attachment_reader", "domvia_e2ee.attachment_reference", "domvia_e2ee.attachment_stream",
    "domvia_e2ee.padding", "domvia_e2ee.keys", "domvia_e2ee.errors", "domvia_e2ee.encoding", "domvia_e2ee.wrap",
    "domvia_e2ee.vector_files", "domvia_e2ee.hazmat.suites", "domvia_e2ee.hazmat.kdf", "domvia_e2ee.hazmat.hpke",
    "domvia_e2ee.hazmat.curves", "domvia_e2ee.hazmat.xwing", "domvia_e2ee.hazmat.merkle",
    "domvia_e2ee.group.header", "domvia_e2ee.group.members", "domvia_e2ee.group.bundle", "domvia_e2ee.group.verify",
    "domvia_e2ee.group.history", "domvia_e2ee.group.epoch", "domvia_e2ee.group.replay", "domvia_e2ee.group.forks",
    "domvia_e2ee.group.keyring", "domvia_e2ee.group.keyring_state", "domvia_e2ee.group.room",
    "domvia_e2ee.group.opening",
]
ERROR_CLASSES = {name: cls for name, cls in vars(errors).items()
                 if isinstance(cls, type) and issubclass(cls, errors.DomviaError)}


def public_names(module: ModuleType) -> list[str]:
    """__all__ when the module has one, else the functions and classes it defines without a leading _."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name, value in vars(module).items() if not name.startswith("_")
                 and (inspect.isclass(value) or inspect.isfunction(value)) and value.__module__ == module.__name__]
    return [name for name in names if getattr(getattr(module, name), "__module__", module.__name__) == module.__name__]


def documented_callables(module: ModuleType) -> Iterator[tuple[str, Any, str | None]]:
    """(qualified name, function or class, docstring that must document it) for every public name."""
    for name in public_names(module):
        value = getattr(module, name)
        if inspect.isfunction(value):
            yield name, value, value.__doc__
        elif inspect.isclass(value):
            yield name, value, value.__doc__
            for attribute, member in vars(value).items():
                function = _function_of(member)
                if function is None:
                    continue
                if attribute in ("__init__", "__post_init__"):
                    yield f"{name}.{attribute}", function, value.__doc__  # the class documents its constructor
                elif not attribute.startswith("_"):
                    yield f"{name}.{attribute}", function, function.__doc__


def _function_of(member: object) -> Callable[..., Any] | None:
    if isinstance(member, (classmethod, staticmethod)):
        member = member.__func__
    if isinstance(member, property):
        member = member.fget
    return member if inspect.isfunction(member) else None


def directly_raised(function: Callable[..., Any]) -> set[str]:
    """Names of the DomviaError classes a `raise` statement in the function's own body constructs."""
    try:
        source = inspect.getsource(function)
    except OSError:  # generated (a dataclass's __init__): no raise statement of ours
        return set()
    tree = ast.parse(textwrap.dedent(source))
    raised = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Raise) and node.exc is not None:
            target = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(target, ast.Name) and target.id in ERROR_CLASSES:
                raised.add(target.id)
    return raised


def test_directly_raised_sees_raise_statements() -> None:
    def sample(x: int) -> int:
        if x:
            raise errors.FormatError("x", "bad")  # attribute form: not a bare name, not counted
        if x > 1:
            raise errors.AuthenticationError
        raise FormatError("x", "bad") from None

    FormatError = errors.FormatError
    assert directly_raised(sample) == {"FormatError"}
    assert FormatError is errors.FormatError


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_name_has_a_docstring(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert module.__doc__, f"{module_name} has no module docstring"
    missing = [name for name, _, doc in documented_callables(module) if not (doc and doc.strip())]
    assert missing == [], f"{module_name}: no docstring for {missing}"


@pytest.mark.parametrize("module_name", MODULES)
def test_docstrings_name_the_errors_raised(module_name: str) -> None:
    module = importlib.import_module(module_name)
    undocumented = []
    for name, function, doc in documented_callables(module):
        if inspect.isclass(function):
            continue
        for error in sorted(directly_raised(function)):
            if error not in (doc or "") and ERROR_CLASSES[error].code not in (doc or ""):
                undocumented.append(f"{name} raises {error}")
    assert undocumented == [], f"{module_name}: {undocumented}"


@pytest.mark.parametrize("name", sorted(ERROR_CLASSES))
def test_each_error_class_states_its_code(name: str) -> None:
    cls = ERROR_CLASSES[name]
    assert cls.__doc__ and f"Code: {cls.code}" in cls.__doc__, name
