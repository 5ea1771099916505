"""Timeouts and retries for the link workflow's activities.

Side effects are retried with backoff for as long as it takes (an SMTP relay or
the database being down for an hour must not lose a step); each activity is
idempotent, so a retry never sends or records anything twice. The one exception is
a delivery that can never succeed as it is (tada/domain/delivery.py): it fails at
once, and the link workflow moves on.

Every value here is read-only (a MappingProxyType of options): the worker passes these
modules through the sandbox, so every workflow run shares them (tada/worker.py).
"""

from dataclasses import replace
from datetime import timedelta
from types import MappingProxyType

from temporalio.common import RetryPolicy
from temporalio.workflow import ActivityCancellationType

from tada.domain.delivery import PERMANENT_FAILURE

_PATIENT = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)

#: A liveness check turns whatever the site does into a verdict; only tada's own faults (the
#: database, the worker) fail it, and those are retried for a few minutes, not for ever: then
#: the workflow records the check as "unknown" and the link goes on (its notice goes out).
LIVENESS = MappingProxyType(
    {
        "start_to_close_timeout": timedelta(seconds=60),
        "retry_policy": replace(_PATIENT, maximum_interval=timedelta(minutes=2), maximum_attempts=8),
    }
)
#: Handing a notice to its batch: quick, retried like any side effect.
HAND_OVER = MappingProxyType({"start_to_close_timeout": timedelta(minutes=2), "retry_policy": _PATIENT})
#: Sending: a permanent failure (SMTP 5xx, a form's 4xx, an address that can never work) is
#: not retried; the send heartbeats, so a withdrawal or pause cancels it while it is in flight,
#: and the workflow waits until the cancellation is done (nothing goes out after it).
NOTICE = MappingProxyType(
    {
        "start_to_close_timeout": timedelta(minutes=2),
        "heartbeat_timeout": timedelta(seconds=30),
        "cancellation_type": ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
        "retry_policy": replace(_PATIENT, non_retryable_error_types=[PERMANENT_FAILURE]),
    }
)
STORE = MappingProxyType({"start_to_close_timeout": timedelta(seconds=30), "retry_policy": _PATIENT})

#: DNS and RDAP: registries rate-limit, so back off further; after a few hours of
#: failures a caseworker is asked for the contact instead.
HOST_LOOKUP = MappingProxyType(
    {
        "start_to_close_timeout": timedelta(minutes=5),
        "retry_policy": RetryPolicy(
            initial_interval=timedelta(seconds=30),
            backoff_coefficient=2.0,
            maximum_interval=timedelta(hours=1),
            maximum_attempts=8,
        ),
    }
)

#: How often a link that waits for an escalation contact logs a reminder.
CONTACT_REMINDER = timedelta(days=1)
