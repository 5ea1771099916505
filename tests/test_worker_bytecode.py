"""The worker caches the workflow modules' bytecode, which the sandbox re-imports for every workflow."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import tada.workflows.link as link_module
from tada.worker import cache_workflow_bytecode


def test_missing_bytecode_of_the_workflow_modules_is_written():
    source = Path(link_module.__file__)
    cached = Path(importlib.util.cache_from_source(str(source)))
    cached.unlink(missing_ok=True)
    cache_workflow_bytecode()
    assert cached.exists()
    assert cached.stat().st_mtime >= source.stat().st_mtime - 1
