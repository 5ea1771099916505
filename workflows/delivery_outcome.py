"""Reading a sending activity's failure in a workflow: permanent (tada/domain/delivery.py) or not."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from tada.domain.delivery import INCOMPLETE_NOTICE, PERMANENT_FAILURE, DeliveryFailure

__all__ = ["INCOMPLETE_NOTICE", "permanent_failure"]


def permanent_failure(error: ActivityError) -> DeliveryFailure | None:
    """The delivery failure an activity raised as permanent, if it did; None for anything else."""
    cause = error.cause
    if isinstance(cause, ApplicationError) and cause.type == PERMANENT_FAILURE and cause.details:
        return DeliveryFailure.model_validate(cause.details[0])
    return None
