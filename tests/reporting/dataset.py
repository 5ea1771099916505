"""A hand-built history with known answers, inserted straight into PostgreSQL.

Eleven links in three cases added on 2022-01-10 (inside 2021-04-01..2023-03-31),
one more in a fourth case added in 2024 (outside it). Days are counted from T0;
every link's first event is at T0, so its time to removal is the day it was removed.

| link | platform (category)      | what happened                                                   | step              |
|------|--------------------------|-----------------------------------------------------------------|-------------------|
| P1   | Tube (porn)              | initial notice; gone at the follow-up check, day 3              | first notice      |
| P2   | Tube (porn)              | initial + 2 follow-ups; gone day 9                              | follow-up 2       |
| P3   | Tube (porn)              | escalated, host found by RDAP (shadowhost.example); gone day 16 | escalation to host|
| P4   | Dark Tube (porn)         | escalated to "Venom Hosting"; UNRESOLVED, never removed         | -                 |
| P5   | Dark Tube (porn)         | already gone at the first check, day 0                          | already gone      |
| S1   | Chatgram (social)        | 2 follow-ups, escalated to the admin; gone day 12               | escalation to admin|
| S2   | Chatgram (social)        | initial; the platform confirmed removal, day 1                  | platform confirmed|
| S3   | Facespace (social)       | rejected by the platform; UNRESOLVED (no escalation route)      | -                 |
| E1   | Seeker (search)          | removed day 3; reposted; removed again after the repost notice  | first notice x2   |
| E2   | Seeker (search)          | removed day 3; reposted; repost UNRESOLVED after 2 follow-ups   | first notice      |
| F1   | Daily Buzz (farm)        | escalated to the host by the registry's address; gone day 14    | escalation to host|
| X1   | Pix (image host), 2024   | initial notice; gone day 2                                      | first notice      |
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

T0 = datetime(2022, 1, 10, tzinfo=UTC)
T_2024 = datetime(2024, 6, 1, tzinfo=UTC)
DAY = 86400.0

LINKS = [  # link, case, platform, category, added
    ("P1", "TD-A", "Tube", "pornographic_site", T0),
    ("P2", "TD-A", "Tube", "pornographic_site", T0),
    ("P3", "TD-A", "Tube", "pornographic_site", T0),
    ("P4", "TD-A", "Dark Tube", "pornographic_site", T0),
    ("P5", "TD-A", "Dark Tube", "pornographic_site", T0),
    ("S1", "TD-B", "Chatgram", "social_media", T0),
    ("S2", "TD-B", "Chatgram", "social_media", T0),
    ("S3", "TD-B", "Facespace", "social_media", T0),
    ("E1", "TD-B", "Seeker", "search_engine", T0),
    ("E2", "TD-C", "Seeker", "search_engine", T0),
    ("F1", "TD-C", "Daily Buzz", "content_farm", T0),
    ("X1", "TD-D", "Pix", "image_host", T_2024),
]


def _live() -> tuple:
    return ("liveness", None, None, {"verdict": "live", "reason": "page answers 200"})


def _notice(kind: str, recipient: str | None = None) -> tuple:
    detail = {"kind": kind, "channel": "email"}
    if recipient:
        detail["recipient"] = recipient
    return ("notice", None, None, detail)


def _move(source: str, target: str, reason: str) -> tuple:
    return ("transition", source, target, {"reason": reason})


def _sent_and_waiting(kind: str = "initial") -> list[tuple]:
    return [_notice(kind), _move("REPORTED", "AWAITING_RESPONSE", f"{kind} notice sent")]


def _follow_ups(count: int) -> list[tuple]:
    steps: list[tuple] = []
    for number in range(1, count + 1):
        steps += [_live(), _move("AWAITING_RESPONSE", "FOLLOW_UP", "no response, still live"), _notice("follow_up"),
                  _move("FOLLOW_UP", "AWAITING_RESPONSE", f"follow-up {number} sent")]  # fmt: skip
    return steps


#: link -> [(day, cycle, (kind, from_state, to_state, detail)), ...]; the first event is at day 0.
def timelines() -> dict[str, list[tuple[float, int, tuple]]]:
    def at(day: float, steps: list[tuple], cycle: int = 1) -> list[tuple[float, int, tuple]]:
        return [(day, cycle, step) for step in steps]

    gone = lambda reason: _move("AWAITING_RESPONSE", "REMOVED", reason)  # noqa: E731
    return {
        "P1": at(0, [_live(), *_sent_and_waiting()]) + at(3, [gone("gone at follow-up check: 404 not found")]),
        "P2": at(0, [_live(), *_sent_and_waiting()]) + at(3, _follow_ups(2)) + at(9, [gone("gone at follow-up check: 404")]),
        "P3": at(0, [_live(), *_sent_and_waiting()]) + at(6, _follow_ups(2)) + at(9, [
            _move("AWAITING_RESPONSE", "ESCALATED", "no response after every follow-up"),
            ("contact_found", None, None, {"kind": "host", "email": "abuse@ShadowHost.example", "source": "rdap_ip"}),
            ("contact_found", None, None, {"kind": "registrar", "email": "abuse@registrar.example", "source": "rdap_domain"}),
            _notice("escalation_host", "abuse@ShadowHost.example"),
        ]) + at(16, [_move("ESCALATED", "REMOVED", "gone after escalation: 404")]),
        "P4": at(0, [_live(), *_sent_and_waiting()]) + at(6, _follow_ups(2)) + at(9, [
            _move("AWAITING_RESPONSE", "ESCALATED", "no response after every follow-up"),
            ("contact_found", None, None, {"kind": "host", "name": "Venom Hosting", "email": "abuse@venom.example",
                                           "source": "rdap_ip"}),
            _notice("escalation_host", "abuse@venom.example"),
        ]) + at(23, [_move("ESCALATED", "UNRESOLVED", "every escalation used up")]),
        "P5": at(0, [("liveness", None, None, {"verdict": "gone", "reason": "404 not found"}),
                     _move("REPORTED", "REMOVED", "already gone: 404 not found")]),
        "S1": at(0, [_live(), *_sent_and_waiting()]) + at(6, _follow_ups(2)) + at(9, [
            _move("AWAITING_RESPONSE", "ESCALATED", "no response after every follow-up"),
            _notice("escalation_admin", "admins@chatgram.example"),
        ]) + at(12, [_move("ESCALATED", "REMOVED", "gone after escalation: removed-content notice")]),
        "S2": at(0, [_live(), *_sent_and_waiting()]) + at(1, [
            ("response", None, None, {"outcome": "removed"}),
            _move("AWAITING_RESPONSE", "REMOVED", "platform confirmed removal"),
        ]),
        "S3": at(0, [_live(), *_sent_and_waiting()]) + at(2, [
            ("response", None, None, {"outcome": "rejected"}),
            _move("AWAITING_RESPONSE", "UNRESOLVED", "platform rejected the notice; no escalation route"),
        ]),
        "E1": at(0, [_live(), *_sent_and_waiting()]) + at(3, [gone("gone at follow-up check: 404")])
        + at(4, [_live(), _move("REMOVED", "REPORTED", "live again at re-check 1")])
        + at(4, [_live(), *_sent_and_waiting("repost")], cycle=2) + at(7, [gone("gone at follow-up check: 404")], cycle=2),
        "E2": at(0, [_live(), *_sent_and_waiting()]) + at(3, [gone("gone at follow-up check: 404")])
        + at(4, [_live(), _move("REMOVED", "REPORTED", "live again at re-check 1")])
        + at(4, [_live(), *_sent_and_waiting("repost")], cycle=2) + at(7, _follow_ups(2), cycle=2)
        + at(13, [_live(), _move("AWAITING_RESPONSE", "UNRESOLVED", "no response after every follow-up; no escalation route")],
             cycle=2),
        "F1": at(0, [_live(), *_sent_and_waiting()]) + at(6, _follow_ups(2)) + at(9, [
            _move("AWAITING_RESPONSE", "ESCALATED", "no response after every follow-up"),
            _notice("escalation_host", "abuse@FarmHost.example"),
        ]) + at(14, [_move("ESCALATED", "REMOVED", "gone after escalation: 404")]),
        "X1": at(0, [_live(), *_sent_and_waiting()]) + at(2, [gone("gone at follow-up check: 404")]),
    }  # fmt: skip


async def insert_dataset(conn: asyncpg.Connection) -> None:
    cases = sorted({case for _, case, *_ in LINKS})
    await conn.executemany("INSERT INTO cases (case_id) VALUES ($1)", [(case,) for case in cases])
    for link, case, platform, category, added in LINKS:
        await conn.execute(
            "INSERT INTO links (link_id, case_id, url, host, platform, category, added_at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            link, case, f"https://{platform.lower().replace(' ', '')}.example/{link}", "example", platform, category, added,
        )  # fmt: skip
    stories = timelines()
    for link, case, _, _, added in LINKS:
        for seq, (day, cycle, (kind, source, target, detail)) in enumerate(stories[link], start=1):
            await conn.execute(
                "INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, from_state, to_state, detail, occurred_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)",
                f"{link}:{cycle}:{seq}", link, case, cycle, kind, source, target, json.dumps(detail), added + timedelta(days=day),
            )  # fmt: skip
