"""After a whole lifecycle, the Temporal server holds no URL, email address or note in the clear.

The worker and client encrypt with the codec, as in production. Then every history
(the link's, and each notice batch's, every run) is read back with a client that has
no codec -- what the server, its database and its Web UI see -- and searched, as
bytes and as JSON, for each secret; so are the workflows' ids, search attributes and memos.
"""

from __future__ import annotations

from google.protobuf.json_format import MessageToJson

from tada.adapters.codec import ENCODING, EncryptionCodec
from tada.adapters.converter import converter_for
from tests.lifecycle.harness import running_worker
from tests.privacy.history import all_runs, handed_over_batches, payloads_in, raw_client
from tests.privacy.scenario import full_lifecycle


def _sdk_marker_data(path: str) -> bool:
    """What the SDK writes for itself in a marker, which no codec sees: a patch's id
    (``workflow.patched``) and a local activity's bookkeeping (its result is encrypted)."""
    return path.startswith(
        (".marker_recorded_event_attributes.details[patch-data]", ".marker_recorded_event_attributes.details[data]")
    )


def leaks(needles: list[str], blob: bytes) -> list[str]:
    return [needle for needle in needles if needle.encode() in blob]


async def test_no_url_email_or_note_in_any_history(encrypted_time_env, db_pool, settings, mailbox, web, payload_keys):
    env = encrypted_time_env
    async with running_worker(env, db_pool, settings) as h:
        secrets = await full_lifecycle(h, web, mailbox)
        link_ids = list(h.started)
    raw = raw_client(env.client)
    needles = secrets.needles()

    runs = [run for link_id in link_ids for run in await all_runs(raw, link_id)]
    batch_ids = await handed_over_batches(runs, converter_for(payload_keys))
    assert len(batch_ids) == 2  # one batch to the platform (initial, follow-up), one to the contact
    assert all(batch_id.startswith("notices-") for batch_id in batch_ids)
    runs += [run for batch_id in sorted(batch_ids) for run in await all_runs(raw, batch_id)]

    encrypted = local_results = 0
    plaintext = bytearray()
    codec = EncryptionCodec(payload_keys)
    for run in runs:
        assert not leaks(needles, run.workflow_id.encode()), run.workflow_id
        for event in run.events:
            where = f"{run.workflow_id} event {event.event_id} ({event.WhichOneof('attributes')})"
            as_bytes, as_json = event.SerializeToString(), MessageToJson(event).encode()
            assert not leaks(needles, as_bytes) and not leaks(needles, as_json), where
            for path, payload in payloads_in(event):
                if ".search_attributes." in path:
                    continue  # indexed in the clear by design: ids, states, categories, platforms
                if _sdk_marker_data(path):
                    continue  # the SDK's own: a patch's name, a local activity's type, attempt and times
                assert payload.metadata.get("encoding") == ENCODING, f"{where}{path} is not encrypted"
                encrypted += 1
                local_results += path.startswith(".marker_recorded_event_attributes.details[result]")
                [decoded] = await codec.decode([payload])
                plaintext += decoded.data
        description = await raw.get_workflow_handle(run.workflow_id, run_id=run.run_id).describe()
        info = description.raw_description.workflow_execution_info
        for part in (info.search_attributes, info.memo):
            assert not leaks(needles, part.SerializeToString() + MessageToJson(part).encode()), run.workflow_id

    # the check can fail: what the histories carry, decrypted, does name the secrets
    assert encrypted > 20
    assert local_results > 5  # the events, written by local activities: their results went through the codec
    assert secrets.note.encode() in plaintext
    assert secrets.contact.encode() in plaintext
