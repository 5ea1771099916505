"""Senders take turns in the inbox (tada/domain/inbox_order.py)."""

from __future__ import annotations

from tada.domain.inbox_order import senders_in_turn


def test_senders_take_turns_each_oldest_first():
    senders = {1: "flood.test", 2: "flood.test", 3: "flood.test", 4: "platform.test", 5: "flood.test", 6: "host.test"}
    assert senders_in_turn([1, 2, 3, 4, 5, 6, 7], senders) == [1, 4, 6, 7, 2, 3, 5]  # 7: no sender known


def test_one_sender_keeps_its_order():
    assert senders_in_turn([3, 1, 2], {}) == [3, 1, 2]
