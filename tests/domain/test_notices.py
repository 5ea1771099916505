"""Notices carry every element a valid DSA notice and TAKE IT DOWN request needs, in both languages."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from jinja2 import meta
from markupsafe import escape
from pydantic import ValidationError

from tada.domain.laws import CitedLaw
from tada.domain.notices import NoticeContext, _text_env, render_notice, thread_headers
from tada.domain.states import NoticeKind

NAME, EMAIL, ADDRESS = "RainLily 風雨蘭", "takedown@rainlily.test", "PO Box 1234, Kowloon"
URLS = ["https://site.test/watch?v=1&list=<x>", "https://site.test/b/2", "https://cdn.site.test/i/3.jpg"]
REFERENCE = "TADA-2025-0042"

#: Concrete phrases each language must carry, by requirement (DSA Art. 16(2), TAKE IT DOWN Act s.3).
REQUIRED = {
    "en": {
        "DSA (a) explanation of illegality": [
            "Why this content is illegal",
            "without the consent of the person depicted",
        ],
        "DSA (b) / TIDA (2) exact location": ["Exact location of the content (3 addresses)", "sufficient to locate it"],
        "DSA (c) / TIDA (4) notifier contact": [NAME, f"Email: {EMAIL}", f"Address: {ADDRESS}"],
        "DSA (d) bona fide statement": [
            "bona fide belief that the information and allegations in this notice are accurate and complete"
        ],
        "TIDA (3) good faith, not consensual": [
            "good faith belief that the intimate visual depictions identified above are not consensual"
        ],
        "TIDA (1) signature": ["Signed electronically by the organisation authorised to act", f"/s/ {NAME}"],
        "identity withheld, organisation is contact": [
            "their identity is not needed",
            "will not be provided",
            "Nothing further is needed from the person depicted",
            f"{NAME} is the point of contact",
        ],
        "reference": [f"Reference: {REFERENCE}"],
    },
    "zh-Hant": {
        "DSA (a) explanation of illegality": ["內容違法的原因", "在未經當事人同意下被發布"],
        "DSA (b) / TIDA (2) exact location": ["內容的確實位置（共3個網址）", "足以讓貴方找出有關內容"],
        "DSA (c) / TIDA (4) notifier contact": [NAME, f"電郵：{EMAIL}", f"地址：{ADDRESS}"],
        "DSA (d) bona fide statement": ["真誠相信本通知所載的資料及指稱均屬準確及完整"],
        "TIDA (3) good faith, not consensual": ["當事人真誠相信，上述私密影像並非在其同意下發布"],
        "TIDA (1) signature": ["獲當事人授權代表其行事的機構以電子方式簽署", f"{NAME}（電子簽署）"],
        "identity withheld, organisation is contact": [
            "毋須當事人的身分資料",
            "我們亦不會提供",
            "當事人毋須再提供任何資料",
            f"{NAME} 是本通知的聯絡人",
        ],
        "reference": [f"參考編號：{REFERENCE}"],
    },
}
HONG_KONG = {
    "en": ["section 159AAE of the Crimes Ordinance (Cap. 200)"],
    "zh-Hant": ["《刑事罪行條例》（第200章）第159AAE條"],
}
#: Laws as the registry would give them (the shipped registry's own are tested in test_laws.py).
HK_LAW = CitedLaw(
    id="hk", name="Crimes Ordinance s.159AAE", citation="Cap. 200 s.159AAE",
    text="Under section 159AAE of the Crimes Ordinance (Cap. 200) of Hong Kong, publishing is an offence. "
    "根據香港《刑事罪行條例》（第200章）第159AAE條，屬刑事罪行。",
)  # fmt: skip
TIDA = CitedLaw(id="tida", name="TAKE IT DOWN Act", citation="47 U.S.C. § 223a (TAKE IT DOWN Act)", deadline_hours=48)
LAWS = {"HK": [HK_LAW], None: [], "US": [TIDA]}
BY_KIND = {
    "en": {
        NoticeKind.INITIAL: ["notice of illegal content under your notice-and-action process"],
        NoticeKind.FOLLOW_UP: ["This is follow-up 2 to our removal", "first sent on 3 March 2025"],
        NoticeKind.ESCALATION_HOST: ["hosted on your network", "on 3 March 2025", "acceptable use policy"],
        NoticeKind.ESCALATION_ADMIN: ["To the administrator of this channel", "please delete it"],
        NoticeKind.REPOST: ["removed after an earlier notice", "1 April 2025", "posted again"],
        NoticeKind.REGULATOR: ["We complain that site.test still shows", "Please take this up with site.test"],
    },
    "zh-Hant": {
        NoticeKind.INITIAL: ["提交本違法內容通知"],
        NoticeKind.FOLLOW_UP: ["第2次跟進通知", "首次通知已於2025年3月3日發出"],
        NoticeKind.ESCALATION_HOST: ["由貴公司的網絡託管", "已於2025年3月3日", "可接受使用政策"],
        NoticeKind.ESCALATION_ADMIN: ["致此頻道或群組的管理員", "懇請閣下刪除有關內容"],
        NoticeKind.REPOST: ["於2025年4月1日被移除", "現再次被發布"],
        NoticeKind.REGULATOR: ["該平台至今仍未移除，特此投訴", "要求 site.test 移除上述每個網址的內容"],
    },
}
SUBJECT_BY_KIND = {
    "en": {
        NoticeKind.INITIAL: "Removal request",
        NoticeKind.FOLLOW_UP: "Follow-up 2",
        NoticeKind.ESCALATION_HOST: "Abuse report",
        NoticeKind.ESCALATION_ADMIN: "channel or group",
        NoticeKind.REPOST: "Repost",
        NoticeKind.REGULATOR: "Complaint",
    },
    "zh-Hant": {
        NoticeKind.INITIAL: "移除要求",
        NoticeKind.FOLLOW_UP: "第2次跟進",
        NoticeKind.ESCALATION_HOST: "濫用舉報",
        NoticeKind.ESCALATION_ADMIN: "頻道或群組",
        NoticeKind.REPOST: "再次發布",
        NoticeKind.REGULATOR: "投訴",
    },
}


class _Text(HTMLParser):
    """The text a reader of the HTML part sees (entities decoded, tags dropped)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _seen(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def _flat(text: str) -> str:
    return " ".join(text.split())


def _context(**changes) -> NoticeContext:
    values = dict(
        kind=NoticeKind.INITIAL,
        platform="site.test",
        urls=URLS,
        case_reference=REFERENCE,
        notifier_name=NAME,
        notifier_email=EMAIL,
        notifier_address=ADDRESS,
        follow_up_number=2,
        first_notice_at=datetime(2025, 3, 3, 9, 30, tzinfo=UTC),
        previous_removal_at=datetime(2025, 4, 1, 12, 0, tzinfo=UTC),
    )
    return NoticeContext(**(values | changes))


@pytest.mark.parametrize("jurisdiction", ["HK", None, "US"])
@pytest.mark.parametrize("language", ["en", "zh-Hant"])
@pytest.mark.parametrize("kind", list(NoticeKind))
def test_every_notice_carries_every_required_element(kind, language, jurisdiction):
    laws = LAWS[jurisdiction]
    notice = render_notice(_context(kind=kind, language=language, jurisdiction=jurisdiction, laws=laws))
    text, seen = _flat(notice.text), _seen(notice.html)
    wanted = [phrase for phrases in REQUIRED[language].values() for phrase in phrases] + BY_KIND[language][kind]
    for phrase in wanted:
        assert phrase in text, f"text lacks {phrase!r}"
        assert phrase in seen, f"HTML lacks {phrase!r}"
    for url in URLS:  # each exact address: verbatim in text, escaped in HTML, the same once parsed
        assert f". {url}\n" in notice.text
        assert f'<code style="word-break:break-all">{escape(url)}</code>' in notice.html
        assert url in seen
    assert "<x>" not in notice.html
    cited = jurisdiction == "HK"  # a law's own paragraph, as the registry words it, and only the laws given
    assert (HK_LAW.text in text, HK_LAW.text in seen) == (cited, cited)
    assert ("159AAE" in notice.text + notice.html + notice.subject) == cited
    assert ("TAKE IT DOWN" in notice.text + notice.html) == (jurisdiction == "US")
    assert "Digital Services Act" not in notice.text and "數碼服務法" not in notice.text
    assert SUBJECT_BY_KIND[language][kind] in notice.subject and REFERENCE in notice.subject
    assert "\r" not in notice.subject and "\n" not in notice.subject
    assert f'<html lang="{language}">' in notice.html
    assert not re.search(r"&(?!amp;|lt;|gt;|quot;|#\d+;)", notice.html), "bare & in HTML"
    for leftover in ("{{", "{%", "victim", "受害人", "Undefined"):
        assert leftover not in notice.text + notice.html + notice.subject


def test_the_context_has_no_field_for_the_victim():
    assert set(NoticeContext.model_fields) == {
        "kind", "platform", "urls", "case_reference", "notifier_name", "notifier_email", "notifier_address",
        "language", "jurisdiction", "follow_up_number", "first_notice_at", "previous_removal_at",
        "notifier_title", "laws", "clock", "missed", "missed_request_at", "earlier_notices", "route",
        "authorised_on", "regulator",
    }  # fmt: skip  # authorised_on: the day of the authorisation, never who gave it


def test_templates_use_only_the_context_and_kinds_hold_only_what_differs():
    allowed = set(NoticeContext.model_fields) | {"layout"}
    names = _text_env.list_templates(extensions=["j2"])
    assert {f"{lang}/{kind.value}.j2" for lang in ("en", "zh-Hant") for kind in NoticeKind} <= set(names)
    for name in names:
        source = _text_env.loader.get_source(_text_env, name)[0]
        assert meta.find_undeclared_variables(_text_env.parse(source)) <= allowed, name
        if not name.rpartition("/")[2].startswith("_"):
            assert set(_text_env.get_template(name).blocks) <= {"subject", "opening", "request_heading", "request"}, (
                name
            )


def test_data_is_never_template_source_and_html_escapes_it():
    notice = render_notice(
        _context(case_reference="{{7*7}}", platform="<script>x</script>{% if 1 %}y{% endif %}", language="zh-Hant")
    )
    for part in (notice.subject, notice.text, _seen(notice.html)):
        assert "{{7*7}}" in part and "49" not in part
        assert "<script>x</script>{% if 1 %}y{% endif %}" in part
    assert "<script>" not in notice.html and "&lt;script&gt;x&lt;/script&gt;" in notice.html


def test_the_subject_is_one_line_whatever_the_data():
    notice = render_notice(_context(platform="site.test\r\nBcc: all@evil.test", case_reference="A\nB"))
    assert "\r" not in notice.subject and "\n" not in notice.subject
    assert notice.subject.endswith("[A B]")


def test_without_dates_or_a_number_the_text_still_reads():
    bare = dict(follow_up_number=0, first_notice_at=None, previous_removal_at=None, notifier_address=None)
    follow_up = render_notice(_context(kind=NoticeKind.FOLLOW_UP, **bare))
    assert "This is a follow-up to our removal request" in _flat(follow_up.text)
    assert follow_up.subject.startswith("Follow-up: ")
    assert "Address:" not in follow_up.text
    repost = render_notice(_context(kind=NoticeKind.REPOST, language="zh-Hant", **bare))
    assert "（參考編號 TADA-2025-0042）而被移除" in repost.text and "地址：" not in repost.text


@pytest.mark.parametrize(
    ("given", "language"),
    [("zh-Hant", "zh-Hant"), ("zh-HK", "zh-Hant"), ("zh_Hant_HK", "zh-Hant"), ("fr", "en"), ("", "en"), ("en", "en")],
)
def test_the_language_falls_back_to_english(given, language):
    context = _context(language=given)
    assert context.language == language
    assert f'lang="{language}"' in render_notice(context).html


def test_jurisdiction_is_normalised_and_a_notice_needs_a_url():
    assert _context(jurisdiction=" hk ").jurisdiction == "HK"
    assert _context(jurisdiction="").jurisdiction is None
    with pytest.raises(ValidationError):
        _context(urls=[])


def test_one_url_reads_in_the_singular():
    assert "Exact location of the content (1 address)" in render_notice(_context(urls=URLS[:1])).text


# --- threading: follow-ups thread onto the first notice ------------------------------


def test_an_initial_notice_has_nothing_to_thread_onto():
    assert thread_headers(None, []) == {}


def test_a_first_follow_up_replies_to_the_first_notice():
    assert thread_headers("<first@org.test>", []) == {
        "In-Reply-To": "<first@org.test>",
        "References": "<first@org.test>",
    }


def test_later_follow_ups_reply_to_the_latest_and_reference_the_chain():
    headers = thread_headers("<a@org.test>", ["<a@org.test>", "b@org.test", " <c@org.test> ", "<b@org.test>"])
    assert headers == {"In-Reply-To": "<c@org.test>", "References": "<a@org.test> <b@org.test> <c@org.test>"}
    assert thread_headers(None, ["<b@org.test>", "<c@org.test>"])["References"] == "<b@org.test> <c@org.test>"


def test_a_long_chain_keeps_the_first_notice_and_the_latest():
    ids = [f"<{n}@org.test>" for n in range(30)]
    references = thread_headers(ids[0], ids[1:])["References"].split()
    assert len(references) == 10 and references[0] == ids[0] and references[-1] == ids[-1]


@pytest.mark.parametrize("bad", ["<a@org.test>\r\nBcc: x@evil.test", "a b@org.test", "<>", "<a<b@org.test>"])
def test_an_id_that_could_break_the_header_is_refused(bad):
    with pytest.raises(ValueError):
        thread_headers(bad, [])
    with pytest.raises(ValueError):
        thread_headers("<a@org.test>", [bad])


def test_the_headers_survive_an_email_round_trip():
    from email import message_from_bytes, policy
    from email.message import EmailMessage

    message = EmailMessage()
    for name, value in thread_headers("<a@org.test>", ["<b@org.test>"]).items():
        message[name] = value
    parsed = message_from_bytes(message.as_bytes(), policy=policy.default)
    assert parsed["In-Reply-To"] == "<b@org.test>"
    assert parsed["References"] == "<a@org.test> <b@org.test>"
