"""Reading what the Temporal server holds, as the server (or its Web UI) sees it: no codec."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client
from temporalio.converter import DataConverter

from tada.workflows.activity_contracts import HAND_OVER_NOTICE


@dataclass
class Run:
    workflow_id: str
    run_id: str
    events: list[HistoryEvent]


def raw_client(client: Client) -> Client:
    """A client on the same connection whose data converter has no codec."""
    return Client(client.service_client, namespace=client.namespace)


async def all_runs(client: Client, workflow_id: str) -> list[Run]:
    """Every run of a workflow: the latest, then back along continue-as-new."""
    runs: list[Run] = []
    run_id: str | None = None
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        events = list(history.events)
        started = events[0].workflow_execution_started_event_attributes
        runs.append(Run(workflow_id, history.run_id, events))
        run_id = started.continued_execution_run_id
        if not run_id:
            return runs


async def handed_over_batches(runs: Iterable[Run], converter: DataConverter) -> set[str]:
    """Ids of the notice batches these link runs handed notices to (the hand-over's results,
    decrypted: the test server cannot list workflows)."""
    ids = set()
    for run in runs:
        hand_overs = {
            event.event_id
            for event in run.events
            if event.activity_task_scheduled_event_attributes.activity_type.name == HAND_OVER_NOTICE
        }
        for event in run.events:
            completed = event.activity_task_completed_event_attributes
            if not event.HasField("activity_task_completed_event_attributes"):
                continue
            if completed.scheduled_event_id in hand_overs:
                ids.update(await converter.decode(completed.result.payloads, [str]))
    return ids


def payloads_in(message: Message, path: str = "") -> Iterator[tuple[str, Payload]]:
    """Every Payload inside a proto message, with where it was found."""
    if isinstance(message, Payload):
        yield path, message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        where = f"{path}.{field.name}"
        if field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    yield from payloads_in(item, f"{where}[{key}]")
        elif getattr(field, "is_repeated", None) or getattr(field, "label", None) == 3:  # LABEL_REPEATED
            for index, item in enumerate(value):
                yield from payloads_in(item, f"{where}[{index}]")
        else:
            yield from payloads_in(value, where)
