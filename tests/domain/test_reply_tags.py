"""Reply tokens: made under the key, read back however people retype them, never forged.

A token is written the ways it comes back: another case, ``1`` as ``l``/``L``/``i``/``I`` and
``0`` as ``o``/``O``, hyphens (any dash), spaces and dots anywhere, punctuation around it,
full-width forms. Every such
spelling reads as the token; a token with a wrong check, or made under another key, does not.
"""

import base64
import tempfile
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tada.adapters.data_crypto import DataCrypto, DataKey, derive_sub_key
from tada.domain.reply_clues import reply_clues
from tada.domain.reply_tags import (
    ALPHABET,
    ID_SYMBOLS,
    ReplyTagKey,
    canonical,
    reply_address,
    tagged_subject,
    tokens_in_addresses,
    tokens_in_subject,
)

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tada-hypothesis")  # its caches stay out of the checkout

MASTER = bytes(range(32))
KEY = ReplyTagKey([derive_sub_key(MASTER, "reply-tags")])
CONFUSIONS = {"1": "1lLiI", "0": "0oO"}


@st.composite
def retyped(draw) -> tuple[str, str]:
    """(a token, a spelling of it as a person might type it back)."""
    token = KEY.token_of(draw(st.text(ALPHABET, min_size=ID_SYMBOLS, max_size=ID_SYMBOLS)))
    full_width = draw(st.booleans())  # an East Asian input method's forms
    out = []
    for symbol in token:
        written = draw(st.sampled_from(CONFUSIONS.get(symbol, symbol)))
        written = written.lower() if draw(st.booleans()) else written
        out.append(chr(ord(written) + 0xFEE0) if full_width else written)
        out.append(draw(st.sampled_from(["", "", "", "-", " ", ".", "\u2013", "\u2010"])))
    before = draw(st.sampled_from(["", "<", "(", '"', "[", "'", "  ", "\u201c", "\u300c"]))
    after = draw(st.sampled_from(["", ">", ")", '"', "]", ".", ",", "!", "  ", "\u201d", "\u3002"]))
    return token, before + "".join(out).strip(" -.\u2013\u2010") + after


@settings(max_examples=300, deadline=None)
@given(retyped())
def test_a_token_reads_back_however_it_is_retyped(pair):
    token, written = pair
    assert KEY.read(written) == token


@settings(max_examples=200, deadline=None)
@given(retyped())
def test_a_retyped_token_is_found_in_a_subject_and_in_a_plus_address(pair):
    token, written = pair
    inner = written.strip("<>()[]\"'.,! \u201c\u201d\u300c\u3002")
    assert token in tokens_in_subject(f"RE: Removal request [td-{inner}] ref CASE-1")
    assert token in tokens_in_subject(f"AW: TD {inner}, and more")
    assert tokens_in_subject(tagged_subject("Re: Removal request ref CASE-1", token)) == [token]
    plain = inner.replace(" ", "")
    assert tokens_in_addresses([f"TakeDown+{plain}@Org.Example"], "takedown@org.example") == [token]


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_wrong_check_is_refused(data):
    token = KEY.token_of(data.draw(st.text(ALPHABET, min_size=ID_SYMBOLS, max_size=ID_SYMBOLS)))
    place = data.draw(st.integers(ID_SYMBOLS, len(token) - 1))
    other = data.draw(st.sampled_from([symbol for symbol in ALPHABET if symbol != token[place]]))
    forged = token[:place] + other + token[place + 1 :]
    assert KEY.read(token) == token
    assert not KEY.verify(forged) and KEY.read(forged) is None


def test_a_token_made_under_another_key_is_refused():
    other = ReplyTagKey([derive_sub_key(bytes(32), "reply-tags")])
    assert not KEY.verify(other.new_token())


def test_after_a_key_rotation_old_tokens_still_read_and_new_ones_use_the_new_key():
    old, new = DataKey("old", bytes(range(32))), DataKey("new", bytes(range(1, 33)))
    before = ReplyTagKey(DataCrypto([old]).sub_keys("reply-tags"))
    after = ReplyTagKey(DataCrypto([new, old]).sub_keys("reply-tags"))
    token = before.new_token()
    assert after.verify(token) and ReplyTagKey(DataCrypto([new]).sub_keys("reply-tags")).verify(token) is False
    assert not before.verify(after.new_token())


def test_the_sub_key_is_neither_the_master_key_nor_another_purposes():
    key = derive_sub_key(MASTER, "reply-tags")
    assert len(key) == 32 and key != MASTER
    assert key == derive_sub_key(MASTER, "reply-tags") != derive_sub_key(MASTER, "other")
    crypto = DataCrypto([DataKey("k", MASTER)])
    assert crypto.sub_keys("reply-tags") == [key]
    assert base64.b64encode(MASTER).decode() not in repr(KEY)


def test_a_token_is_short_and_shown_grouped():
    token = KEY.new_token()
    assert len(token) == 15 and set(token) <= set(ALPHABET)
    address = reply_address("Org <takedown@org.example>", token)
    assert address == f"takedown+{token[:10].lower()}-{token[10:].lower()}@org.example"
    assert tagged_subject("Removal request", token) == f"Removal request [TD-{token[:10]}-{token[10:]}]"


@pytest.mark.parametrize(
    "text",
    ["", "K3X9P2M7QA", "K3X9P2M7QA8F4TZ9", "K3X9P2M7QA8F4TU", "TD-AB3DEF7G", "K3X9_P2M7QA8F4TZ"],
)
def test_what_is_not_a_token_reads_as_none(text):
    assert canonical(text) is None and KEY.read(text) is None


def test_only_the_reply_mailbox_counts_when_it_is_known():
    token = KEY.new_token()
    tagged = [f"takedown+{token}@elsewhere.example", f"other+{token}@org.example"]
    assert tokens_in_addresses(tagged, "takedown@org.example") == []
    assert tokens_in_addresses(tagged) == [token]


def test_a_case_id_in_the_subject_is_no_token_but_a_tag_after_it_is():
    token = KEY.new_token()
    subject = f"Re: TD-AB3DEF7G TD {token[:10]} {token[10:]}"  # the first TD's run reads past the case id
    assert [found for found in tokens_in_subject(subject) if KEY.verify(found)] == [token]


def test_the_clues_of_a_reply():
    token = KEY.new_token()
    message = EmailMessage()
    message["To"] = "Platform Trust <trust@platform.example>"
    message["Cc"] = f"Org <TAKEDOWN+{token}@org.example>"
    message["Delivered-To"] = "takedown@org.example"
    message["In-Reply-To"] = "<b@org.example>"
    message["References"] = "<a@org.example> <b@org.example>"
    message["Subject"] = f"Re: [TD-{token}] Removal request"
    clues = reply_clues(message, "takedown@org.example")
    assert clues.tokens == [token] and clues.subject_tokens == [token]
    assert clues.in_reply_to == ["<b@org.example>"]
    assert clues.references == ["<b@org.example>", "<a@org.example>"]  # the most recent first
