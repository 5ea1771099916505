"""Email threading headers (RFC 5322 §3.6.4), so follow-ups thread onto the first notice."""

from __future__ import annotations

#: References kept at most: the first notice plus the most recent ones (RFC 5322 allows trimming the middle).
MAX_REFERENCES = 10


def _msg_id(value: str) -> str:
    inner = value.strip().removeprefix("<").removesuffix(">")
    if not inner or any(c in "<>" or c.isspace() for c in inner):
        raise ValueError(f"not a Message-ID: {value!r}")
    return f"<{inner}>"


def thread_headers(first_message_id: str | None, previous_ids: list[str]) -> dict[str, str]:
    """``In-Reply-To`` and ``References`` for a notice that continues a thread.

    ``first_message_id`` is the first notice's Message-ID; ``previous_ids`` the
    notices sent since, oldest first (the first may be repeated there). The new
    message replies to the most recent one and references the whole chain,
    first notice first. Nothing to thread onto (an initial notice) gives ``{}``.
    Bare ids get their angle brackets; an id with whitespace or CR/LF is refused.
    """
    chain: list[str] = []
    for value in ([first_message_id] if first_message_id else []) + list(previous_ids):
        msg_id = _msg_id(value)
        if msg_id not in chain:
            chain.append(msg_id)
    if not chain:
        return {}
    if len(chain) > MAX_REFERENCES:
        chain = chain[:1] + chain[-(MAX_REFERENCES - 1) :]
    return {"In-Reply-To": chain[-1], "References": " ".join(chain)}
