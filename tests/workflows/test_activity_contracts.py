"""Each activity the workflows call is implemented with its contract's name and types.

The workflows call activities by their contracts (workflows/activity_contracts.py); a worker
runs the classes of activities/. An implementation that drifted from its contract (another
name, another argument or result type) would leave workflows waiting for an activity no
worker runs, or decoding a result into the wrong type.
"""

from __future__ import annotations

import inspect
import typing

import pytest
from temporalio import activity

from tada.activities.host_lookup import HostLookupActivities
from tada.activities.liveness import LivenessActivities
from tada.activities.notice_handover import NoticeHandOverActivities
from tada.activities.notices import NoticeActivities
from tada.activities.store import StoreActivities
from tada.workflows.activity_contracts import CONTRACTS

IMPLEMENTATIONS = [
    LivenessActivities,
    NoticeHandOverActivities,
    NoticeActivities,
    HostLookupActivities,
    StoreActivities,
]


def _activity_methods(cls: type) -> dict[str, typing.Callable]:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and hasattr(member, "__temporal_activity_definition")
    }


def test_every_contract_has_exactly_one_implementation():
    implemented = [next(c for c in CONTRACTS if issubclass(impl, c)) for impl in IMPLEMENTATIONS]
    assert sorted(c.__name__ for c in implemented) == sorted(c.__name__ for c in CONTRACTS)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS, ids=lambda c: c.__name__)
def test_an_implementation_keeps_its_contracts_names_and_types(implementation: type):
    contract = next(c for c in CONTRACTS if issubclass(implementation, c))
    declared = _activity_methods(contract)
    assert declared, f"{contract.__name__} declares no activity"
    for method_name, declared_fn in declared.items():
        implemented_fn = vars(implementation).get(method_name)
        assert implemented_fn is not None, f"{implementation.__name__} does not implement {method_name}"
        # Registering the implementation with a worker reads the same definition the workflow uses.
        worker_side = activity._Definition.must_from_callable(implemented_fn)  # noqa: SLF001 (test only)
        workflow_side = activity._Definition.must_from_callable(declared_fn)  # noqa: SLF001
        assert worker_side.name == workflow_side.name
        assert typing.get_type_hints(implemented_fn) == typing.get_type_hints(declared_fn)
        assert list(inspect.signature(implemented_fn).parameters) == list(inspect.signature(declared_fn).parameters)
