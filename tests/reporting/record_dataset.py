"""A second hand-built history, for issue 17's record: the scorecard and the trusted-flagger
report. Known answers, hours counted from T0 (2026-06-01 00:00 UTC); every link's first event
is at hour 0 of its own day, so its time to removal is the hour it was removed. The legal
clocks are "take_it_down_act" (48 h), written as the engine writes them (the data contract).

| link | platform  | what happened                                                                     |
|------|-----------|-----------------------------------------------------------------------------------|
| L1   | Tube      | notice h0 (clock due h48); acknowledged h2; removed h10: clock met                |
| L2   | Tube      | notice h0; clock missed h50; follow-up h50; removed h60                           |
| L3   | Tube      | notice h0; needs info h5: clock paused; resumed h29 (due h72); removed h70: met   |
| L4   | Tube      | notice h0; an auto-reply h1 (no answer); still waiting: overdue now               |
| L5   | Tube      | notice h0 (no law); platform confirmed h24, removed; reposted h100, removed h110  |
| L6   | Tube      | notice h0; missed h50; follow-up; admin escalation h60; unresolved h200;          |
|      |           | a regulator complaint h210 (no notice to a provider): overdue now                 |
| C1   | Chatgram  | notice h0, bounced h1; form follow-up h72; rejected h80; escalated to the host    |
|      |           | "Cloud Hosting Ltd" h81; removed h90                                              |
| C2   | Chatgram  | notice h0 by the copyright route (DSA cited, no clock); acknowledged h3; removed h20 |
| C3   | Chatgram  | notice h0 (clock due h48); withdrawn h5: neither met nor missed, not overdue      |
| E1   | Seeker    | notice h0 (clock due h48); needs info h10: clock paused, still paused              |
| O1   | Seeker    | added 2025-12-31 22:00; notice 23:00 (2025); follow-up 2026-01-01 01:00 (2026)    |

Link ids, case ids, references, URLs and the addresses' local parts are made of "secret"
or "xq-" words, so a test can tell that none of them reaches the trusted-flagger report.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import asyncpg

T0 = datetime(2026, 6, 1, tzinfo=UTC)
T_O1 = datetime(2025, 12, 31, 22, tzinfo=UTC)
NOW = datetime(2026, 7, 1, tzinfo=UTC)
HOUR = 3600.0
LAW = "take_it_down_act"

CASES = {"TD-SECRET-A": "REF-SECRET-ALPHA", "TD-SECRET-B": "REF-SECRET-BRAVO", "TD-SECRET-C": "REF-SECRET-CHARLIE"}
LINKS = [  # link, case, platform, category, added
    ("L1", "TD-SECRET-A", "Tube", "pornographic_site", T0),
    ("L2", "TD-SECRET-A", "Tube", "pornographic_site", T0),
    ("L3", "TD-SECRET-A", "Tube", "pornographic_site", T0),
    ("L4", "TD-SECRET-A", "Tube", "pornographic_site", T0),
    ("L5", "TD-SECRET-A", "Tube", "pornographic_site", T0),
    ("L6", "TD-SECRET-A", "Tube", "pornographic_site", T0),
    ("C1", "TD-SECRET-B", "Chatgram", "social_media", T0),
    ("C2", "TD-SECRET-B", "Chatgram", "social_media", T0),
    ("C3", "TD-SECRET-B", "Chatgram", "social_media", T0),
    ("E1", "TD-SECRET-B", "Seeker", "search_engine", T0),
    ("O1", "TD-SECRET-C", "Seeker", "search_engine", T_O1),
]
SECRETS = ("secret", "SECRET", "xq-", "https://", "notice-key")


def link_id(link: str) -> str:
    return f"lnk-secret-{link}"


def _at(hours: float, added: datetime = T0) -> str:
    return (added + timedelta(hours=hours)).isoformat()


def _live() -> tuple:
    return ("liveness", None, None, {"verdict": "live", "reason": "page answers 200"})


def _notice(
    kind: str, *, laws: str | None = LAW, recipient: str | None = None, channel: str = "email", **more
) -> tuple:
    detail = {"kind": kind, "channel": channel, "notice_key": f"notice-key-{kind}"}
    if laws:
        detail["laws"] = laws
    if recipient:
        detail["recipient"] = recipient
    return ("notice", None, None, detail | more)


def _move(source: str, target: str, reason: str = "moved") -> tuple:
    return ("transition", source, target, {"reason": reason})


def _clock(step: str, due_hours: float) -> tuple:
    return ("deadline", None, None, {"law": LAW, "deadline": "48h", "step": step, "due_at": _at(due_hours)})


def _reply(kind: str, hours: float) -> tuple:
    return ("reply", None, None, {"kind": kind, "received_at": _at(hours), "reply": "7"})


def _sent(recipient: str | None = None, **notice) -> list[tuple]:
    return [_live(), _notice("initial", recipient=recipient, **notice), _move("REPORTED", "AWAITING_RESPONSE")]


def _follow_up(**notice) -> list[tuple]:
    return [_live(), _move("AWAITING_RESPONSE", "FOLLOW_UP"), _notice("follow_up", **notice),
            _move("FOLLOW_UP", "AWAITING_RESPONSE")]  # fmt: skip


BOUNCED = {"kind": "reply", "channel": "email", "code": "bounce", "where": "chatgram.example"}
Step = tuple[float, int, tuple]  # (hour, cycle, (kind, from_state, to_state, detail))


def timelines() -> dict[str, list[Step]]:
    def at(hour: float, steps: list[tuple], cycle: int = 1) -> list[Step]:
        return [(hour, cycle, step) for step in steps]

    removed = _move("AWAITING_RESPONSE", "REMOVED", "gone at follow-up check: 404")
    return {
        "L1": at(0, [*_sent("xq-desk@tube.example"), _clock("started", 48)]) + at(2, [_reply("acknowledged", 2)])
        + at(10, [removed, _clock("met", 48)]),
        "L2": at(0, [*_sent(), _clock("started", 48)]) + at(50, [_clock("missed", 48), *_follow_up()])
        + at(60, [removed]),
        "L3": at(0, [*_sent(), _clock("started", 48)]) + at(5, [_reply("needs_info", 5), _clock("paused", 48)])
        + at(29, [_clock("resumed", 72)]) + at(70, [removed, _clock("met", 72)]),
        "L4": at(0, [*_sent(), _clock("started", 48)]) + at(1, [_reply("auto_reply", 1)]),
        "L5": at(0, _sent(laws=None)) + at(24, [("response", None, None, {"outcome": "removed"}),
                                                _move("AWAITING_RESPONSE", "REMOVED", "platform confirmed removal")])
        + at(100, [_live(), _move("REMOVED", "REPORTED", "live again at re-check 1")])
        + at(100, [_live(), _notice("repost", laws=None), _move("REPORTED", "AWAITING_RESPONSE")], cycle=2)
        + at(110, [removed], cycle=2),
        "L6": at(0, [*_sent(), _clock("started", 48)]) + at(50, [_clock("missed", 48), *_follow_up()])
        + at(60, [_move("AWAITING_RESPONSE", "ESCALATED", "no response after every follow-up"),
                  _notice("escalation_admin", recipient="xq-mods@Tube-Admins.example")])
        + at(200, [_move("ESCALATED", "UNRESOLVED", "every escalation used up")])
        + at(210, [_notice("regulator", channel="manual", regulator="Federal Trade Commission")]),
        "C1": at(0, _sent("xq-desk@chatgram.example", laws=None))
        + at(1, [_reply("bounce", 1), ("delivery_failed", None, None, BOUNCED)])
        + at(72, _follow_up(laws=None, channel="form"))
        + at(80, [("response", None, None, {"outcome": "rejected"}),
                  _move("AWAITING_RESPONSE", "ESCALATED", "platform rejected the notice")])
        + at(81, [("contact_found", None, None, {"kind": "host", "name": "Cloud Hosting Ltd",
                                                 "email": "xq-abuse@cloudhost.example", "source": "rdap_ip"}),
                  _notice("escalation_host", laws=None, recipient="xq-abuse@CloudHost.example")])
        + at(90, [_move("ESCALATED", "REMOVED", "gone after escalation: 404")]),
        "C2": at(0, _sent(laws="dsa", route="copyright")) + at(3, [_reply("acknowledged", 3)]) + at(20, [removed]),
        "C3": at(0, [*_sent(), _clock("started", 48)]) + at(5, [_move("AWAITING_RESPONSE", "WITHDRAWN", "withdrawn")]),
        "E1": at(0, [*_sent(), _clock("started", 48)]) + at(10, [_reply("needs_info", 10), _clock("paused", 48)]),
        "O1": at(0, [_live()]) + at(1, [_notice("initial", laws=None), _move("REPORTED", "AWAITING_RESPONSE")])
        + at(3, _follow_up(laws=None)),
    }  # fmt: skip


async def insert_record_dataset(conn: asyncpg.Connection) -> None:
    await conn.executemany("INSERT INTO cases (case_id, reference) VALUES ($1, $2)", list(CASES.items()))
    stories = timelines()
    for link, case, platform, category, added in LINKS:
        events = stories[link]
        last_state = [step[2] for _, _, step in events if step[0] == "transition"][-1]
        cycle = max(c for _, c, _ in events)
        await conn.execute(
            "INSERT INTO links (link_id, case_id, url, host, platform, category, added_at, state, cycle) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            link_id(link), case, f"https://{platform.lower()}.example/secret-{link}", f"{platform.lower()}.example",
            platform, category, added, last_state, cycle,
        )  # fmt: skip
        for seq, (hour, cycle, (kind, source, target, detail)) in enumerate(events, start=1):
            await conn.execute(
                "INSERT INTO link_events (event_key, link_id, case_id, cycle, kind, from_state, to_state, detail, "
                "occurred_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9)",
                f"{link_id(link)}:{cycle}:{seq}", link_id(link), case, cycle, kind, source, target, json.dumps(detail),
                added + timedelta(hours=hour),
            )  # fmt: skip
