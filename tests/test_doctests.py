"""The examples in docstrings are tests too."""
import doctest
import importlib
import pkgutil

import pytest

import engine
import oms

MODULES = sorted(f"{pkg.__name__}.{m.name}" for pkg in (engine, oms)
                 for m in pkgutil.iter_modules(pkg.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0
