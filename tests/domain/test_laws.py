"""The law in the registry: each law defined once, the platforms it binds, the cases it concerns,
what a valid request under it needs, and the words a notice cites it with."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tada.domain.laws import CaseElements, Element, cite, clock_law, clock_words, missing_elements, refusal
from tada.domain.notices import NoticeContext, render_notice
from tada.domain.registry import RegistryError, load_registry, parse_registry
from tada.domain.states import NoticeKind
from tada.settings import SHIPPED_PLATFORMS

REGISTRY = """
[defaults]
deadline_grace = "3h"

[[law]]
id = "fast_law"
name = "Fast Law"
citation = "Fast Law s.1"
response_deadline = "24h"
elements = ["identification", "authorisation", "signature"]
regulator = "The Regulator"
regulator_url = "https://regulator.test/complain"
source = "https://law.test/fast"

[[law]]
id = "slow_law"
name = "Slow Law"
citation = "Slow Law s.2"
citation_zh = "慢法第2條"
response_deadline = "72h"
deadline_grace = "1h"
source = "https://law.test/slow"

[[law]]
id = "local_law"
name = "Local Law"
citation = "Local Law s.3"
notice_text = "This is a local case under the Local Law."
jurisdictions = ["hk"]
every_platform = true
source = "https://law.test/local"

[[platform]]
name = "Bound"
domains = ["bound.test"]
channel = "email"
email = "abuse@bound.test"
laws = ["slow_law", "fast_law"]
copyright_email = "dmca@bound.test"

[[platform]]
name = "Free"
domains = ["free.test"]
channel = "email"
email = "abuse@free.test"
"""


def test_laws_are_read_and_bind_the_platforms_that_list_them_and_the_cases_they_concern():
    registry = parse_registry(REGISTRY, "test.toml")
    assert list(registry.laws) == ["fast_law", "slow_law", "local_law"]
    assert registry.laws["fast_law"].deadline_grace == timedelta(hours=3)  # the registry's default
    assert registry.laws["slow_law"].deadline_grace == timedelta(hours=1)
    assert registry.laws["local_law"].jurisdictions == ["HK"]
    bound = registry.policy_for("https://bound.test/a")
    assert [law.id for law in bound.laws] == ["fast_law", "slow_law"]  # the registry's order
    assert (bound.copyright_route, bound.copyright_email) == (True, "dmca@bound.test")
    assert [law.id for law in registry.policy_for("https://bound.test/a", "HK").laws] == [
        "fast_law", "slow_law", "local_law",
    ]  # fmt: skip
    assert [law.id for law in registry.policy_for("https://free.test/a", "GB").laws] == []
    assert [law.id for law in registry.policy_for("https://free.test/a", "hk").laws] == ["local_law"]
    assert [law.id for law in registry.policy_for("https://elsewhere.test/a", "HK").laws] == ["local_law"]
    assert registry.policy_for("https://free.test/a").copyright_route is False


def test_the_clock_is_the_deadline_that_runs_out_first():
    registry = parse_registry(REGISTRY, "test.toml")
    laws = registry.policy_for("https://bound.test/a", "HK").laws
    clock = clock_law(laws)
    assert clock is not None and (clock.id, clock.response_deadline) == ("fast_law", timedelta(hours=24))
    assert clock.regulator == "The Regulator" and clock.regulator_url == "https://regulator.test/complain"
    assert clock_law(registry.policy_for("https://free.test/a", "HK").laws) is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ('laws = ["fast_lw"]', 'field "laws": no law "fast_lw" (did you mean "fast_law"?)'),
        ('laws = ["unheard_of"]', 'no law "unheard_of" (define it in a [[law]] table)'),
        ('laws = "fast_law"', 'field "laws": must be a list of ids'),
    ],
)
def test_a_platform_listing_an_unknown_law_is_named(change, message):
    text = REGISTRY.replace('laws = ["slow_law", "fast_law"]', change)
    with pytest.raises(RegistryError, match="Bound") as raised:
        parse_registry(text, "test.toml")
    assert message in str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ('elements = ["identification", "authorisation", "signature"]', 'elements = ["signatur"]',
         '[[law]] #1 "fast_law": field "elements": "signatur" is not one of identification'),
        ('response_deadline = "24h"', 'response_deadline = "a day"',
         '[[law]] #1 "fast_law": field "response_deadline"'),
        ('jurisdictions = ["hk"]', 'jurisdictions = ["Hong Kong"]',
         'field "jurisdictions": "Hong Kong" is not a place'),
        ('every_platform = true', 'every_platform = "yes"', 'field "every_platform": must be true or false'),
        ('id = "slow_law"', 'id = "fast_law"', '[[law]] #2: field "id": "fast_law" is already used by [[law]] #1'),
        ('id = "slow_law"', 'id = "Slow Law"', 'field "id": "Slow Law" is not an id'),
        ('source = "https://law.test/slow"', 'sauce = "https://law.test/slow"',
         'unknown field "sauce" (did you mean "source"?)'),
        ('citation = "Local Law s.3"\n', '', '[[law]] #3 "local_law": field "citation" is missing'),
    ],
)  # fmt: skip
def test_a_bad_law_is_named_with_its_field(old, new, message):
    assert old in REGISTRY
    with pytest.raises(RegistryError) as raised:
        parse_registry(REGISTRY.replace(old, new, 1), "test.toml")
    assert message in str(raised.value)


def test_missing_elements_are_named_with_how_to_supply_them():
    organisation = CaseElements(
        notifier_name="Org", notifier_title="Authorised representative", notifier_email="a@o.test"
    )
    needed = [Element.IDENTIFICATION, Element.AUTHORISATION, Element.SIGNATURE, Element.CONTACT]
    assert missing_elements(needed, organisation) == [Element.AUTHORISATION]
    assert missing_elements(needed, organisation.model_copy(update={"authorised_on": date(2026, 1, 2)})) == []
    unsigned = organisation.model_copy(update={"notifier_title": " "})
    assert missing_elements(needed, unsigned) == [Element.AUTHORISATION, Element.SIGNATURE]
    why = refusal("Fast Law", [Element.AUTHORISATION])
    assert why.startswith("a notice under Fast Law needs what this case cannot supply: authorisation")
    assert "tada case authorise CASE --authorised-on DATE" in why


def test_the_shipped_registry_defines_the_laws_with_sources_and_binds_only_cited_platforms():
    registry = load_registry(SHIPPED_PLATFORMS)
    laws = registry.laws
    assert {"take_it_down_act", "dsa", "au_online_safety_act", "hk_crimes_ordinance_159aae"} <= set(laws)
    assert all(law.source.startswith("http") for law in laws.values())
    tida = laws["take_it_down_act"]
    assert tida.response_deadline == timedelta(hours=48) and tida.regulator == "Federal Trade Commission"
    assert Element.AUTHORISATION in tida.elements and Element.SIGNATURE in tida.elements
    hk = laws["hk_crimes_ordinance_159aae"]  # no platform duty: no deadline, no regulator
    assert (hk.response_deadline, hk.regulator, hk.every_platform, hk.jurisdictions) == (None, None, True, ["HK"])
    assert laws["dsa"].response_deadline is None
    assert [law.id for law in registry.policy_for("https://x.com/a/status/1", "HK").laws] == [
        "take_it_down_act", "dsa", "hk_crimes_ordinance_159aae",
    ]  # fmt: skip
    assert [law.id for law in registry.policy_for("https://www.reddit.com/r/x", "GB").laws] == []
    assert registry.policy_for("https://t.me/somechannel/1").copyright_email == "dmca@telegram.org"
    assert all(text is not None for law in laws.values() for text in (law.citation, law.citation_zh))
    assert clock_law(registry.policy_for("https://x.com/a", None).laws).id == "take_it_down_act"


def test_a_hong_kong_notice_cites_the_ordinance_as_before_and_nothing_it_was_not_given():
    registry = load_registry(SHIPPED_PLATFORMS)
    for language, words in (
        ("en", "section 159AAE of the Crimes Ordinance (Cap. 200) of Hong Kong, publishing or threatening"),
        ("zh-Hant", "根據香港《刑事罪行條例》（第200章）第159AAE條，未經同意下發布或威脅發布他人的私密影像"),
    ):
        policy = registry.policy_for("https://lihkg.com/thread/1", "HK")
        laws = cite(registry.laws_of([law.id for law in policy.laws]), language)
        notice = render_notice(
            NoticeContext(
                kind=NoticeKind.INITIAL, platform="LIHKG", urls=["https://lihkg.com/thread/1"], case_reference="R",
                notifier_name="Org", notifier_email="a@o.test", language=language, laws=laws,
            )
        )  # fmt: skip
        flat = "".join(notice.text.split())
        assert "".join(words.split()) in flat
        assert "TAKE IT DOWN" not in notice.text and "Digital Services Act" not in notice.text


def test_a_law_is_cited_in_the_notices_language_with_its_deadline():
    registry = parse_registry(REGISTRY, "test.toml")
    [fast, slow] = cite(registry.laws_of(["fast_law", "slow_law"]), "zh-Hant")
    assert (fast.citation, fast.deadline_hours) == ("Fast Law s.1", 24)  # no Chinese citation: the English one
    assert (slow.citation, slow.deadline_hours) == ("慢法第2條", 72)
    notice = render_notice(
        NoticeContext(
            kind=NoticeKind.FOLLOW_UP, platform="Bound", urls=["https://bound.test/a"], case_reference="R",
            notifier_name="Org", notifier_email="a@o.test", laws=[fast], clock=fast, missed=fast,
            missed_request_at=datetime(2026, 5, 20, 9, tzinfo=UTC),
            earlier_notices=[datetime(2026, 5, 20, tzinfo=UTC), datetime(2026, 5, 22, tzinfo=UTC)],
        )
    )  # fmt: skip
    flat = " ".join(notice.text.split())
    assert "Our valid request of 20 May 2026 under Fast Law s.1 was not acted on within 24 hours." in flat
    assert "We wrote to you about this content on 20 May 2026 and 22 May 2026." in flat
    assert "Please act within 24 hours of this request, as Fast Law s.1 requires." in flat


def test_a_clock_in_words_due_overdue_paused_met_missed():
    now = datetime(2026, 6, 3, 12, tzinfo=UTC)
    assert clock_words(None, None, now) is None
    assert clock_words("started", now + timedelta(hours=20, minutes=5), now) == "due in 20h05m"
    assert clock_words("resumed", now + timedelta(days=2, hours=3), now) == "due in 51h00m"
    assert clock_words("resumed", now + timedelta(days=4, hours=3), now) == "due in 4d3h"
    assert clock_words("started", now - timedelta(minutes=40), now) == "overdue by 40m"
    assert clock_words("missed", now - timedelta(days=3), now) == "overdue by 3d"  # still up
    assert clock_words("missed", now - timedelta(days=3), now, removed=True) == "missed"
    assert clock_words("paused", now - timedelta(days=3), now) == "paused"
    assert clock_words("started", now - timedelta(days=3), now, removed=True) == "stopped"  # withdrawn
    assert clock_words("met", now - timedelta(days=3), now) == "met"


def test_a_platforms_own_deadline_grace_is_refused():
    text = REGISTRY.replace(
        'copyright_email = "dmca@bound.test"', 'copyright_email = "dmca@bound.test"\ndeadline_grace = "1h"'
    )
    with pytest.raises(RegistryError, match='"Bound": unknown field "deadline_grace"'):
        parse_registry(text, "test.toml")
