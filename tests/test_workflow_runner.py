"""The worker's sandbox passes tada's workflow and domain modules through (imported once, shared
by every workflow run: tada/worker.py ``workflow_runner``), so what those modules hold at their
top level must be read-only: nothing one run does can then reach another."""

from __future__ import annotations

import dataclasses
import enum
import inspect
import types
from datetime import timedelta

import pytest
from temporalio.common import RetryPolicy

import tada.workflows.activity_contracts
import tada.workflows.delivery_outcome
import tada.workflows.link
import tada.workflows.notice_batch
import tada.workflows.options
from tada.worker import workflow_runner

WORKFLOW_MODULES = (
    tada.workflows.activity_contracts,
    tada.workflows.delivery_outcome,
    tada.workflows.link,
    tada.workflows.notice_batch,
    tada.workflows.options,
)
#: Values that cannot change. RetryPolicy is a (non-frozen) dataclass of the SDK's: the
#: workflows only hand it to the SDK, which copies it into each command.
READ_ONLY = (str, int, float, bool, bytes, type(None), timedelta, enum.Enum, RetryPolicy)


def _read_only(value: object) -> bool:
    if isinstance(value, READ_ONLY) or inspect.isclass(value):  # a class: the activity contracts
        return True
    if isinstance(value, tuple | frozenset):
        return all(_read_only(item) for item in value)
    if isinstance(value, types.MappingProxyType):
        return all(_read_only(key) and _read_only(item) for key, item in value.items())
    return dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_the_workers_sandbox_passes_through_tadas_workflow_and_domain_modules_only():
    passed = workflow_runner().restrictions.passthrough_modules
    ours = {name for name in passed if name == "tada" or name.startswith("tada.")}
    assert ours == {"tada.workflows", "tada.domain"}  # never the adapters or clients (I/O)


def test_the_workflow_modules_hold_nothing_a_run_could_change():
    shared = []
    for module in WORKFLOW_MODULES:
        for name, value in vars(module).items():
            if name.startswith("__") or inspect.ismodule(value) or inspect.isroutine(value) or inspect.isclass(value):
                continue
            if type(value).__module__ in ("typing", "__future__"):  # NoReturn, a type alias; annotations
                continue
            if not _read_only(value):
                shared.append(f"{module.__name__}.{name}: {type(value).__name__}")
    assert not shared, shared


def test_an_activitys_options_cannot_be_changed():
    with pytest.raises(TypeError):
        tada.workflows.options.STORE["start_to_close_timeout"] = timedelta(0)  # type: ignore[index]
