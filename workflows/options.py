"""Timeouts and retries for the link workflow's activities.

Side effects are retried with backoff for as long as it takes (an SMTP relay or
the database being down for an hour must not lose a step); each activity is
idempotent, so a retry never sends or records anything twice.
"""

from datetime import timedelta

from temporalio.common import RetryPolicy

_PATIENT = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
)

LIVENESS = {"start_to_close_timeout": timedelta(seconds=60), "retry_policy": _PATIENT}
NOTICE = {"start_to_close_timeout": timedelta(minutes=2), "retry_policy": _PATIENT}
STORE = {"start_to_close_timeout": timedelta(seconds=30), "retry_policy": _PATIENT}

#: DNS and RDAP: registries rate-limit, so back off further; after a few hours of
#: failures a caseworker is asked for the contact instead.
HOST_LOOKUP = {
    "start_to_close_timeout": timedelta(minutes=5),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=30),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(hours=1),
        maximum_attempts=8,
    ),
}

#: How often a link that waits for an escalation contact logs a reminder.
CONTACT_REMINDER = timedelta(days=1)
