"""A reply to a notice, sorted: what the platform (or its mail system) answered.

``classify(message, sent_notice_text=...)`` reads one received message and says which kind
of answer it is, how sure the rules are, and which rule decided. Transparent rules only, in
this order; the first that decides wins:

1. **Bounce** (``tada.domain.reply_class_bounces``): an RFC 3464 delivery-status report, or a
   mail system's own bounce format read by flufl.bounce. Failed with 5.x.x: *bounce*, high,
   the failed addresses in ``bounced``; failed with 4.x.x: *bounce*, low; only delayed:
   *other*, low (rule ``dsn-delayed:…``: the notice may still arrive).
2. **Automatic reply** (``tada.domain.reply_class_auto``): ``Auto-Submitted`` (not ``no``),
   ``X-Autoreply``, ``X-Autorespond``, ``Precedence: auto_reply|bulk|junk``,
   ``X-Auto-Response-Suppress``, an automatic-reply / out-of-office subject, or a read receipt
   (RFC 8098, rule ``mdn``: *auto_reply* whatever its text says). Platforms'
   ticket systems send their acknowledgements and even their decisions this way, so:
   out-of-office words (subject or text) make it *auto_reply* whatever else it says; without
   them, the phrases of rule 3 decide if they find anything (a ticket system's "we have
   received your report, ticket #123" is *acknowledged*); if they find nothing, *auto_reply*
   (high for ``Auto-Submitted``, ``X-Autoreply``/``X-Autorespond``, an automatic subject, or
   a weak header with out-of-office words; low for ``Precedence`` or
   ``X-Auto-Response-Suppress`` alone).
3. **Phrases** (``tada.domain.reply_class_phrases``) on the reply's own words
   (``tada.domain.reply_text_own``: reply headers and what follows them, ``>`` lines, and the
   lines of ``sent_notice_text`` cut away, so tada's own "please remove" never speaks for
   the platform): *removed*, *rejected*, *needs_info*, *acknowledged*; negations ("has not
   been removed") do not count; conflicting kinds give the most cautious kind with low
   confidence (removed never wins a conflict).
4. Nothing: *other*, low (rule ``none``, or ``negated:removed`` when the only removal it
   mentions is negated).

``confidence`` is ``high`` or ``low``: high means the rule alone may move a link on; low
means a caseworker reads the reply first. ``bounced`` and ``excerpt`` are left out of the
model's repr (nothing may log an address or a reply's words); the excerpt has the reply's
own words only, at most 300 characters, addresses and links masked. Pure, no I/O.
"""

from __future__ import annotations

from email.message import EmailMessage, Message
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tada.domain.replies import ReplyKind
from tada.domain.reply_class_auto import auto_signal
from tada.domain.reply_class_bounces import read_bounce
from tada.domain.reply_class_phrases import PhraseDecision, decide
from tada.domain.reply_text import PARSE_ERRORS, body_text
from tada.domain.reply_text_own import EXCERPT_MAX, excerpt, own_words

__all__ = ["Confidence", "ReplyClass", "ReplyKind", "classify"]

Confidence = Literal["high", "low"]


class ReplyClass(BaseModel):
    """One reply's classification: frozen, and its addresses and words kept out of its repr."""

    model_config = ConfigDict(frozen=True)

    kind: ReplyKind
    confidence: Confidence
    #: The rule that decided, a short stable name: "dsn:5.1.1", "auto-submitted", "phrase:en:removed".
    rule: str
    #: The failed recipients a bounce names, for the caller to mark failed, then drop: never logged,
    #: stored or put in Temporal (``model_copy(update={"bounced": ()})`` before the model travels).
    bounced: tuple[str, ...] = Field(default=(), repr=False)
    #: The reply's own words, quoted text stripped, whitespace collapsed, addresses and links masked.
    excerpt: str = Field(default="", max_length=EXCERPT_MAX, repr=False)


def _confidence(high: bool) -> Confidence:
    return "high" if high else "low"


def _from_phrases(decision: PhraseDecision, words: str) -> ReplyClass:
    assert decision.kind is not None
    return ReplyClass(
        kind=ReplyKind(decision.kind), confidence=_confidence(decision.high), rule=decision.rule, excerpt=words
    )


def _classify(message: EmailMessage | Message, notice: str | None) -> ReplyClass:
    own = own_words(body_text(message), notice)
    words = excerpt(own)
    bounce = read_bounce(message)
    if bounce is not None:
        kind = ReplyKind.BOUNCE if bounce.kind == "bounce" else ReplyKind.OTHER
        return ReplyClass(
            kind=kind, confidence=_confidence(bounce.high), rule=bounce.rule, bounced=bounce.bounced, excerpt=words
        )
    decision = decide(own)
    automatic = auto_signal(message, own)
    if automatic is not None and (automatic.decisive or decision.kind is None):
        return ReplyClass(
            kind=ReplyKind.AUTO_REPLY, confidence=_confidence(automatic.high), rule=automatic.rule, excerpt=words
        )
    if decision.kind is not None:
        return _from_phrases(decision, words)
    return ReplyClass(kind=ReplyKind.OTHER, confidence="low", rule=decision.rule or "none", excerpt=words)


def classify(message: EmailMessage | Message, *, sent_notice_text: str | None = None) -> ReplyClass:
    """The kind of answer ``message`` is, by the rules of this module's docstring. Never raises on
    a damaged message: what cannot be read at all is *other*, low, rule ``unreadable``."""
    try:
        return _classify(message, sent_notice_text)
    except PARSE_ERRORS:
        return ReplyClass(kind=ReplyKind.OTHER, confidence="low", rule="unreadable")
