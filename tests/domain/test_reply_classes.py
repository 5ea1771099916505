"""Replies sorted: real MIME as MTAs, mail clients and help desks write it (tests/support/mail_samples)."""

from __future__ import annotations

import re
import textwrap
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tada.domain.notice_wording import every_notice_text
from tada.domain.reply_class_phrases import decide
from tada.domain.reply_classes import ReplyClass, ReplyKind, classify
from tada.domain.reply_text import body_text, decode_bytes, html_to_text
from tada.domain.reply_text_own import EXCERPT_MAX, excerpt, own_words
from tada.domain.states import NoticeKind
from tests.support.mail_samples import auto_replies, bounces, malformed, notice, parse, platform_replies

_TAG = re.compile(r"<\s*/?\s*[a-zA-Z!][^>]*>")
#: Lines of a notice that name its case: the sample's platform, address, reference, notifier and dates.
_NAMES_THE_CASE = re.compile(r"Example|platform\.example|http|@|TADA-|20\d\d|Support Service")


def _classify(raw: bytes, **kwargs) -> ReplyClass:
    return classify(parse(raw), **kwargs)


# Rule 1: bounces


def test_an_rfc_3464_report_of_an_unknown_user_is_a_bounce_naming_the_failed_address():
    result = _classify(bounces.postfix_user_unknown())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.BOUNCE, "high", "dsn:5.1.1")
    assert result.bounced == ("takedown@platform.example",)
    # The returned notice (message/rfc822) is not the bounce's words.
    assert "mail system" in result.excerpt and "remove" not in result.excerpt.lower()


def test_a_delivery_status_part_sent_in_base64_is_still_read():
    result = _classify(bounces.postfix_user_unknown(encoded_report=True))
    assert (result.kind, result.rule, result.bounced) == (ReplyKind.BOUNCE, "dsn:5.1.1", ("takedown@platform.example",))


def test_a_delayed_report_is_no_bounce_yet():
    result = _classify(bounces.exchange_delayed())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.OTHER, "low", "dsn-delayed:4.4.7")
    assert result.bounced == ()


def test_a_report_that_gave_up_on_a_temporary_failure_is_a_bounce_of_low_confidence():
    result = _classify(bounces.postfix_gave_up())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.BOUNCE, "low", "dsn:4.4.7")
    assert result.bounced == ("abuse@host.example",)


@pytest.mark.parametrize("sample", [bounces.exim_failed, bounces.qmail_failed], ids=["exim", "qmail"])
def test_plain_text_bounces_are_read_by_flufl_bounce(sample):
    result = _classify(sample())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.BOUNCE, "high", "bounce:permanent")
    assert result.bounced == ("abuse@host.example",)
    # The copy of the notice the bounce returns is cut from the excerpt.
    assert "could not be delivered" in result.excerpt or "wasn't able to deliver" in result.excerpt
    assert "Please remove" not in result.excerpt and "disable access" not in result.excerpt


def test_a_person_who_pastes_a_bounce_into_a_reply_has_not_bounced_the_notice():
    # The same qmail text, written by a person at the platform about some other message of theirs:
    # the notice reached them, so it is no bounce; flufl.bounce's detectors read mail systems' mail only.
    raw = bounces.qmail_failed().replace(b"Return-Path: <>\r\n", b"")
    raw = raw.replace(b"From: MAILER-DAEMON@mail.host.example", b"From: Sam at Support <sam@host.example>")
    raw = raw.replace(b"Subject: failure notice", b"Subject: Re: your notice")
    result = _classify(raw)
    assert result.kind != ReplyKind.BOUNCE and result.bounced == ()
    assert _classify(bounces.qmail_failed()).kind == ReplyKind.BOUNCE  # the mail system's own, still one


def test_the_failed_address_stays_out_of_the_excerpt_and_the_repr():
    result = _classify(bounces.qmail_failed())
    assert "abuse@host.example" not in result.excerpt and "[address]" in result.excerpt
    assert "abuse@host.example" not in repr(result) and "qmail" not in repr(result)


# Rule 2: automatic replies


def test_outlooks_out_of_office_is_an_auto_reply():
    result = _classify(auto_replies.outlook_out_of_office())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.AUTO_REPLY, "high", "auto-submitted")
    assert result.excerpt.startswith("Thank you for your email. I am out of the office")
    assert "[address]" in result.excerpt  # the on-call address it gives


def test_a_big5_out_of_office_is_an_auto_reply():
    result = _classify(auto_replies.big5_out_of_office())
    assert (result.kind, result.rule) == (ReplyKind.AUTO_REPLY, "auto-submitted")
    assert "休假" in result.excerpt


def test_a_chinese_out_of_office_known_only_by_its_subject_is_an_auto_reply_though_it_says_received():
    result = _classify(auto_replies.gb2312_out_of_office_by_subject())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.AUTO_REPLY, "high", "subject:out-of-office")
    assert "已收到" in result.excerpt  # an out-of-office's "received" is no acknowledgement of the report


def test_a_help_desks_automatic_acknowledgement_with_a_ticket_number_is_acknowledged():
    result = _classify(auto_replies.ticket_acknowledgement())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.ACKNOWLEDGED, "high", "phrase:en:acknowledged")
    assert "ticket number is 4821936" in result.excerpt


def test_a_read_receipt_for_a_notice_deleted_unread_is_automatic_never_removed():
    raw = auto_replies.read_receipt_deleted()
    assert decide(body_text(parse(raw))).kind == "removed"  # its words alone would say so
    result = _classify(raw)
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.AUTO_REPLY, "high", "mdn")


def test_auto_submitted_no_is_a_person():
    raw = platform_replies.removed_english().replace(b"MIME-Version:", b"Auto-Submitted: no\r\nMIME-Version:", 1)
    assert _classify(raw).kind == ReplyKind.REMOVED


def test_an_automatic_message_that_says_nothing_more_is_an_auto_reply():
    raw = auto_replies.ticket_acknowledgement()
    head, _, _ = raw.partition(b"\r\n\r\n")
    head = re.sub(rb"Content-Type: multipart/alternative;\r\n boundary=\"[^\"]+\";\r\n charset=UTF-8", b"", head)
    bare = head + b"\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nThis mailbox is not monitored.\r\n"
    result = _classify(bare)
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.AUTO_REPLY, "high", "auto-submitted")


# Rule 3: phrases


@pytest.mark.parametrize(
    ("sample", "rule"),
    [
        (platform_replies.removed_english, "phrase:en:removed"),
        (platform_replies.removed_big5, "phrase:zh:removed"),
        (platform_replies.removed_gb2312, "phrase:zh-Hans:removed"),
    ],
    ids=["english-qp", "big5-8bit", "gb2312-base64"],
)
def test_removed_in_english_and_both_chinese_scripts(sample, rule):
    result = _classify(sample())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.REMOVED, "high", rule)


def test_the_chinese_replies_decode_and_leave_tadas_quoted_notice_out():
    big5 = _classify(platform_replies.removed_big5())
    assert "您所檢舉的內容已被移除" in big5.excerpt and "請移除" not in big5.excerpt
    gb = _classify(platform_replies.removed_gb2312())
    assert "相关内容已删除" in gb.excerpt and "原始邮件" not in gb.excerpt and "請移除" not in gb.excerpt


def test_a_rejection_in_quoted_printable_html_only():
    result = _classify(platform_replies.rejected_html())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.REJECTED, "high", "phrase:en:rejected")
    assert "does not violate our Community Guidelines" in result.excerpt
    assert not _TAG.search(result.excerpt)
    for never in ("tracking pixel", "color", "Your report", "Please remove", "wrote:"):
        assert never not in result.excerpt


def test_has_not_been_removed_is_not_removed():
    result = _classify(platform_replies.not_removed())
    assert result.kind != ReplyKind.REMOVED
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.OTHER, "low", "negated:removed")


def test_a_request_for_more_information():
    result = _classify(platform_replies.needs_info())
    assert (result.kind, result.confidence, result.rule) == (ReplyKind.NEEDS_INFO, "high", "phrase:en:needs_info")


def test_thanks_over_a_quoted_notice_that_says_please_remove_is_not_removed():
    result = _classify(platform_replies.thanks_quoting_notice(), sent_notice_text=notice().text)
    assert (result.kind, result.confidence, result.rule, result.excerpt) == (ReplyKind.OTHER, "low", "none", "Thanks")


def test_thanks_over_a_pasted_notice_is_not_removed_when_tadas_notice_is_given():
    repost = notice(kind=NoticeKind.REPOST).text
    assert "was removed" in repost  # tada's own words would read as a removal
    assert _classify(platform_replies.thanks_pasted_over_repost()).kind == ReplyKind.REMOVED
    result = _classify(platform_replies.thanks_pasted_over_repost(), sent_notice_text=repost)
    assert (result.kind, result.excerpt) == (ReplyKind.OTHER, "Thanks")


@pytest.mark.parametrize("language", ["en", "zh-Hant"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_text_holds_each_line_of_each_notice_tada_sends(language, kind):
    # What the router gives the classifier: whichever notice a reply pastes, its lines are tada's.
    sent = notice(language=language, kind=kind).text
    whole = _letters(every_notice_text())  # as the classifier compares: whitespace (so wrapping) ignored
    lines = [line for line in sent.splitlines() if len(line.strip()) >= 15 and not _NAMES_THE_CASE.search(line)]
    assert len(lines) >= 3 and [line for line in lines if _letters(line) not in whole] == []


def _letters(text: str) -> str:
    return "".join(text.split()).lower()


def test_thanks_over_a_pasted_repost_notice_is_not_removed_with_every_notice_text():
    result = _classify(platform_replies.thanks_pasted_over_repost(), sent_notice_text=every_notice_text())
    # The lines naming this case (its platform, reference, dates) stay in the excerpt; tada's words go.
    assert result.kind == ReplyKind.OTHER and result.excerpt.startswith("Thanks")
    assert "removed" not in result.excerpt and "illegal" not in result.excerpt
    # and a platform's own word above a pasted notice still counts
    removed = platform_replies.thanks_pasted_over_repost().replace(b"Thanks", b"We have removed the video.")
    assert _classify(removed, sent_notice_text=every_notice_text()).kind == ReplyKind.REMOVED


@pytest.mark.parametrize(
    ("text", "kind", "high", "rule"),
    [
        ("We have removed the video.", "removed", True, "phrase:en:removed"),
        ("The video has\nbeen removed.", "removed", True, "phrase:en:removed"),
        ("相關內容已\n移除。", "removed", True, "phrase:zh:removed"),
        ("The content has not\n\nbeen removed.", None, False, ""),
        ("The post is no longer available on our service.", "removed", True, "phrase:en:removed"),
        ("We’ve taken down the reported material.", "removed", True, "phrase:en:removed"),
        ("The content hasn't been removed yet.", None, False, "negated:removed"),
        ("Once it has been removed we will let you know.", None, False, "negated:removed"),
        ("Could you confirm whether it has been removed?", "needs_info", True, "phrase:en:needs_info"),
        ("該內容尚未移除。", None, False, ""),
        ("有關影片已經下架，謝謝。", "removed", True, "phrase:zh:removed"),
        ("您举报的内容不违反我们的社区准则。", "rejected", True, "phrase:zh-Hans:rejected"),
        ("經審查，有關內容並未違反本平台的社群守則，因此無法移除。", "rejected", True, "phrase:zh-Hant:rejected"),
        ("请提供相关链接。", "needs_info", True, "phrase:zh-Hans:needs_info"),
        ("我們已收到您的檢舉，案件編號為 88213。", "acknowledged", True, "phrase:zh:acknowledged"),
        ("If you have additional information, reply to this email.", None, False, ""),
        ("We removed the photo you reported.", "removed", True, "phrase:en:removed"),
        ("The URL has been delisted from our search results.", "removed", True, "phrase:en:removed"),
        ("After review, the reported content doesn't violate our Community Guidelines.", "rejected", True,
         "phrase:en:rejected"),
        ("We do not host this content. Please contact the website owner.", "rejected", True, "phrase:en:rejected"),
        ("Your report has been received. Our team will review it within 48 hours.", "acknowledged", True,
         "phrase:en:acknowledged"),
        ("我們會盡快審核您的檢舉。", "acknowledged", True, "phrase:zh:acknowledged"),
        ("您举报的内容已处理。", "acknowledged", True, "phrase:zh:acknowledged"),
        ("We have received your report and removed the content.", "removed", True, "phrase:en:removed"),
        ("We removed two of the links. The third does not violate our policies.", "rejected", False,
         "phrase-conflict:rejected+removed"),
        ("We have removed the content but need more information about the second link.", "needs_info", False,
         "phrase-conflict:needs_info+removed"),
        ("One video has been removed, the other has not been removed.", "removed", False,
         "phrase-conflict:removed+negated"),
    ],
)  # fmt: skip
def test_phrases_negations_and_conflicts(text, kind, high, rule):
    assert (decide(text).kind, decide(text).high, decide(text).rule) == (kind, high, rule)


@pytest.mark.parametrize("language", ["en", "zh-Hant"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_tadas_own_notices_say_nothing_a_platform_would_except_the_repost(language, kind):
    """A quote of tada's notice that escapes the cuts must not decide a reply; the repost notice
    says "was removed", which is why the classifier takes the notice's text."""
    decided = decide(notice(language, kind).text).kind
    assert decided == ("removed" if (language, kind) == ("en", NoticeKind.REPOST) else None)


# Rule 4 and robustness


@pytest.mark.parametrize(
    "sample",
    [
        malformed.lost_boundary,
        malformed.truncated_base64_unknown_charset,
        malformed.unterminated_html,
        malformed.no_headers_at_all,
    ],
)
def test_damaged_mail_is_other_and_never_raises(sample):
    result = _classify(sample())
    assert (result.kind, result.confidence) == (ReplyKind.OTHER, "low")
    assert not _TAG.search(result.excerpt) and "var x" not in result.excerpt
    assert all(ch.isprintable() for ch in result.excerpt)


@pytest.mark.parametrize(
    ("sample", "words"),
    [
        (malformed.big5_declared_utf8, "有關內容已移除"),
        (malformed.utf8_declared_latin1, "相關影片已下架"),
        (malformed.latin1_english, "Renée"),
    ],
)
def test_a_wrong_declared_charset_falls_back(sample, words):
    result = _classify(sample())
    assert result.kind == ReplyKind.REMOVED and words in result.excerpt


def test_undeclared_bytes_are_read_by_the_likelier_codec():
    assert decode_bytes("我們已經移除了這個影片".encode("big5"), None) == "我們已經移除了這個影片"
    assert decode_bytes("我们已经删除了这个视频".encode("gb2312"), "x-unknown") == "我们已经删除了这个视频"
    # Bytes no Chinese codec reads as Chinese: Windows-1252, or Latin-1, which reads anything.
    assert decode_bytes("Renée".encode("latin-1"), None) == "Renée"
    assert decode_bytes(b"\xff\xfe\x81", "utf-8") == "\xff\xfe\x81"
    assert decode_bytes("Removed".encode("utf-16"), "utf-16") == "Removed"


def test_html_is_read_as_text_never_rendered():
    html = (
        "<html><head><title>t</title><style>p{x:1}</style><script>alert(1)</script></head>"
        "<body><p>We&nbsp;have removed<br>the video &amp; its copies.</p><img src='https://track.example/p.gif'>"
        "<blockquote><p>Please remove</p></blockquote></body></html>"
    )
    assert html_to_text(html) == "We have removed\nthe video & its copies.\n> Please remove"


def test_own_words_cut_reply_headers_and_phone_lines():
    outlook = (
        "Done.\n\nFrom: Example <a@tada.example.org>\nSent: 1 December 2026 10:02\nTo: x\nSubject: y\n\nPlease remove"
    )
    assert own_words(outlook) == "Done."
    phone = "已下架。\n\n從我的 iPhone 傳送\n\n請移除或封鎖上述每個網址的內容"
    assert own_words(phone) == "已下架。"
    gmail_hant = "已處理\n\n2026年12月1日 週二 上午10:02 Example <a@tada.example.org> 寫道：\n\n> 請移除"
    assert own_words(gmail_hant) == "已處理"


def test_tadas_notice_is_cut_however_the_client_rewrapped_it_and_the_words_above_it_stay():
    sent = notice().text
    rewrapped = "\n".join(textwrap.fill(part, 50) for part in sent.split("\n\n"))  # no blank lines left
    assert own_words(f"Thanks\n\n{rewrapped}", sent) == "Thanks"
    # "Removed" right above the pasted notice, which says "want it removed": the platform's word stays.
    assert own_words(f"Removed\n{sent}", sent) == "Removed"
    chinese = notice("zh-Hant").text
    assert own_words(f"已移除\n{chinese}", chinese) == "已移除"


def test_the_excerpt_is_short_single_spaced_and_free_of_controls_links_and_addresses():
    text = (
        "Removed\u202e by\x1b[2J us.\n\n\tSee https://platform.example/policy or write to help@platform.example. "
        + "x" * 400
    )
    short = excerpt(text)
    assert len(short) <= EXCERPT_MAX and short.endswith("…")
    assert short.startswith("Removed by us. See [link] or write to [address] xxx")


def test_the_model_is_frozen_and_bounded():
    result = _classify(platform_replies.removed_english())
    with pytest.raises(ValidationError):
        result.kind = ReplyKind.OTHER  # type: ignore[misc]
    with pytest.raises(ValidationError):
        ReplyClass(kind=ReplyKind.OTHER, confidence="low", rule="none", excerpt="x" * (EXCERPT_MAX + 1))
    with pytest.raises(ValidationError):
        ReplyClass(kind=ReplyKind.OTHER, confidence="maybe", rule="none")  # type: ignore[arg-type]
    assert ReplyClass.model_validate_json(result.model_dump_json()) == result


_SAMPLES = [
    bounces.postfix_user_unknown,
    bounces.exchange_delayed,
    bounces.exim_failed,
    bounces.qmail_failed,
    auto_replies.outlook_out_of_office,
    auto_replies.big5_out_of_office,
    auto_replies.ticket_acknowledgement,
    auto_replies.read_receipt_deleted,
    platform_replies.removed_big5,
    platform_replies.removed_gb2312,
    platform_replies.rejected_html,
]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sample=st.sampled_from(_SAMPLES),
    cut=st.floats(min_value=0, max_value=1),
    junk=st.binary(max_size=64),
    at=st.floats(min_value=0, max_value=1),
)
def test_any_damage_to_real_mail_gives_a_classification_never_an_error(sample, cut, junk, at):
    raw = sample()
    raw = raw[: int(len(raw) * (0.05 + 0.95 * cut))]
    where = int(len(raw) * at)
    result = _classify(raw[:where] + junk + raw[where:])
    assert result.kind in ReplyKind and result.confidence in ("high", "low") and result.rule
    assert len(result.excerpt) <= EXCERPT_MAX and all(ch.isprintable() for ch in result.excerpt)


def test_a_huge_hostile_body_is_read_in_bounded_time():
    line = "we have removed " + "a@b." * 2000 + " ticket ? " * 500 + "<" * 3000 + "\n"
    body = (line * 40).encode("utf-8")
    raw = b"From: x@platform.example\r\nSubject: Re\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
    started = time.monotonic()
    result = _classify(raw)
    assert time.monotonic() - started < 10
    assert len(result.excerpt) <= EXCERPT_MAX


def test_an_excerpt_keeps_nothing_of_an_escape_sequence():
    from tada.domain.reply_text_own import excerpt

    assert excerpt("It is \x1b[31mREMOVED\x1b[0m now\x1b]8;;https://x.test\x07 here") == "It is REMOVED now here"
