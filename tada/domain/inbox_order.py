"""The order the inbox reads its waiting messages in: senders take turns.

Anyone can write to the reply address, the people who posted the content too. A sender who
floods the mailbox with thousands of messages must not hold back the replies of everyone
else: the waiting messages are grouped by the sender's domain and read one from each group
in turn (each group oldest first), so a reply from a platform waits behind at most one
message of each other sender, not behind the whole flood.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import chain, zip_longest


def senders_in_turn(uids: Sequence[int], senders: Mapping[int, str]) -> list[int]:
    """``uids`` (oldest first) reordered so that senders take turns; a message whose sender is
    unknown counts as a sender of its own kind ("")."""
    groups: dict[str, list[int]] = {}
    for uid in uids:
        groups.setdefault(senders.get(uid, ""), []).append(uid)
    rounds = zip_longest(*groups.values())
    return [uid for uid in chain.from_iterable(rounds) if uid is not None]
