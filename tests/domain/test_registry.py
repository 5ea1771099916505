import re
from datetime import timedelta

import pytest

from tada.domain.models import PlatformPolicy, Timings
from tada.domain.registry import Registry, RegistryError, load_registry, parse_registry
from tada.domain.states import Category, Channel, Escalation
from tada.settings import SHIPPED_PLATFORMS

GOOD = """
[defaults]
follow_up_after = "2d"
follow_ups = 1
escalate_after = "5d"
escalations = 3
recheck_schedule = ["1d", "30d"]
unresolved_recheck = "60d"
batch_window = "90s"

[[platform]]
name = "Telegram"
category = "social_media"
domains = ["t.me", "telegram.me"]
channel = "email"
email = "abuse@telegram.example"
escalation = "admin"
removed_markers = ["This channel can't be displayed"]
follow_up_after = "1d12h"

[[platform]]
name = "Tube"
category = "pornographic_site"
domains = ["*.tube.example", "*.cdn.tube.example"]
channel = "form"
form_url = "https://tube.example/takedown"
escalation_email = "abuse@host.example"
language = "zh-Hant"
recheck_schedule = ["7d"]

[platform.form_fields]
links = "{urls}"
reference = "Case {case_reference}, reported by {notifier_name} <{notifier_email}> about {url}"
note = "{{not a placeholder}}"

[[platform]]
name = "Videos of tube"
category = "content_farm"
domains = ["videos.tube.example"]
channel = "manual"
manual_instructions = "File it at https://videos.tube.example/report"
escalation = "none"
"""


@pytest.fixture
def registry() -> Registry:
    return parse_registry(GOOD, "test.toml")


def test_defaults(registry):
    assert registry.defaults == Timings(
        follow_up_after=timedelta(days=2),
        follow_ups=1,
        escalate_after=timedelta(days=5),
        escalations=3,
        recheck_schedule=[timedelta(days=1), timedelta(days=30)],
        unresolved_recheck=timedelta(days=60),
        batch_window=timedelta(seconds=90),
    )


def test_platform_fields(registry):
    assert [p.name for p in registry.platforms] == ["Telegram", "Tube", "Videos of tube"]
    telegram, tube, videos = registry.platforms
    assert telegram.domains == ["t.me", "telegram.me"]
    assert telegram.policy.category is Category.SOCIAL_MEDIA
    assert telegram.policy.channel is Channel.EMAIL
    assert telegram.policy.email == "abuse@telegram.example"
    assert telegram.policy.escalation is Escalation.ADMIN
    assert telegram.policy.removed_markers == ["This channel can't be displayed"]
    assert tube.policy.form_url == "https://tube.example/takedown"
    assert tube.policy.form_fields["links"] == "{urls}"
    assert tube.policy.escalation is Escalation.HOST  # the default
    assert tube.policy.escalation_email == "abuse@host.example"
    assert tube.policy.language == "zh-Hant"
    assert videos.policy.manual_instructions == "File it at https://videos.tube.example/report"


def test_timings_are_overridden_per_platform_and_otherwise_defaulted(registry):
    telegram, tube, videos = (p.policy.timings for p in registry.platforms)
    assert telegram.follow_up_after == timedelta(days=1, hours=12)
    assert telegram.escalations == 3
    assert tube.recheck_schedule == [timedelta(days=7)]
    assert tube.follow_up_after == timedelta(days=2)
    assert videos == registry.defaults


def test_a_form_may_live_on_a_local_test_server():
    text = '[[platform]]\nname = "F"\ndomains = ["f.example"]\nchannel = "form"\nform_url = "http://localhost:8080/report"\n'
    assert parse_registry(text, "t.toml").platforms[0].policy.form_url == "http://localhost:8080/report"


def test_without_defaults_the_built_in_timings_apply():
    registry = parse_registry(
        '[[platform]]\nname = "A"\ndomains = ["a.example"]\nchannel = "email"\nemail = "x@a.example"\n', "t.toml"
    )
    assert registry.defaults == Timings()
    assert registry.platforms[0].policy.category is Category.OTHER


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://t.me/somechannel/12", "Telegram"),  # exact
        ("https://TELEGRAM.me/x", "Telegram"),
        ("https://tube.example/v/1", "Tube"),  # a wildcard matches the apex
        ("https://www.tube.example/v/1", "Tube"),  # and any subdomain
        ("https://a.b.tube.example/v/1", "Tube"),
        ("https://img.cdn.tube.example/1.jpg", "Tube"),
        ("https://videos.tube.example/v/1", "Videos of tube"),  # exact beats wildcard
        ("https://x.videos.tube.example/v/1", "Tube"),  # exact matches only itself
    ],
)
def test_matching(registry, url, platform):
    assert registry.policy_for(url).name == platform


def test_most_specific_wildcard_wins():
    text = """
[[platform]]
name = "Broad"
domains = ["*.example.com"]
channel = "email"
email = "abuse@example.com"

[[platform]]
name = "Narrow"
domains = ["*.cdn.example.com"]
channel = "email"
email = "abuse@cdn.example.com"
"""
    registry = parse_registry(text, "t.toml")
    assert registry.policy_for("https://a.cdn.example.com/x").name == "Narrow"
    assert registry.policy_for("https://cdn.example.com/x").name == "Narrow"
    assert registry.policy_for("https://other.example.com/x").name == "Broad"


def test_not_a_subdomain_by_suffix_alone(registry):
    assert registry.policy_for("https://nott.me/x").name == "nott.me"
    assert registry.policy_for("https://faketube.example/x").name != "Tube"


def test_unknown_domain_falls_back_to_abuse_at_registrable_domain(registry):
    policy = registry.policy_for("https://sub.example.co.uk/x")
    assert policy == PlatformPolicy(
        name="example.co.uk",
        category=Category.OTHER,
        channel=Channel.EMAIL,
        email="abuse@example.co.uk",
        escalation=Escalation.HOST,
        timings=registry.defaults,
        listed=False,  # Temporal indexes it as "unlisted", never by this domain
        laws=[],  # resolved for the case: no law binds an unknown site here
    )
    assert registry.policy_for("https://t.me/a").listed


def test_ip_hosts_fall_back_to_a_manual_lookup(registry):
    policy = registry.policy_for("http://192.0.2.7/x")
    assert policy.name == "192.0.2.7" and not policy.listed
    assert policy.channel is Channel.MANUAL
    assert policy.email is None
    assert "192.0.2.7" in policy.manual_instructions


def test_policies_handed_out_are_copies(registry):
    registry.policy_for("https://t.me/a").timings.recheck_schedule.append(timedelta(days=1))
    registry.policy_for("https://nowhere.example.org/").timings.recheck_schedule.clear()
    assert registry.policy_for("https://t.me/b").timings.recheck_schedule == [timedelta(days=1), timedelta(days=30)]
    assert registry.defaults.recheck_schedule == [timedelta(days=1), timedelta(days=30)]


def test_idn_domains_are_stored_as_punycode():
    text = '[[platform]]\nname = "B"\ndomains = ["*.Bücher.example"]\nchannel = "email"\nemail = "a@b.example"\n'
    registry = parse_registry(text, "t.toml")
    assert registry.platforms[0].domains == ["*.xn--bcher-kva.example"]
    assert registry.policy_for("https://www.bücher.example/").name == "B"


# --- errors: the file, the entry and the field are named -------------------------

TELEGRAM = '[[platform]]\nname = "Telegram"\ndomains = ["t.me"]\nchannel = "email"\nemail = "abuse@t.example"\n'


def entry(**fields: str) -> str:
    """A third [[platform]] after two good ones, with these TOML lines."""
    first = '[[platform]]\nname = "A"\ndomains = ["a.example"]\nchannel = "email"\nemail = "x@a.example"\n'
    second = first.replace('"A"', '"B"').replace("a.example", "b.example")
    third = "[[platform]]\n" + "".join(f"{key} = {value}\n" for key, value in fields.items())
    return first + second + third


BASE = {"name": '"Telegram"', "domains": '["t.me"]', "channel": '"email"', "email": '"abuse@t.example"'}


def error_for(text: str) -> str:
    with pytest.raises(RegistryError) as caught:
        parse_registry(text, "platforms.toml")
    return str(caught.value)


def test_the_example_from_the_issue():
    message = error_for(entry(**BASE, follow_up_after='"3x"'))
    assert (
        message
        == 'platforms.toml: [[platform]] #3 "Telegram": field "follow_up_after": "3x" is not a duration like 90s, 48h or 3d'
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"category": '"porn"'},
            'field "category": "porn" is not one of pornographic_site, social_media, search_engine, content_farm, image_host, other',
        ),
        ({"channel": '"fax"'}, 'field "channel": "fax" is not one of email, form, manual'),
        ({"escalation": '"police"'}, 'field "escalation": "police" is not one of host, admin, none'),
        (
            {"email": '"not-an-email"'},
            'field "email": not an email address like abuse@example.com (the address has no @)',
        ),
        ({"escalation_email": '"a@b"'}, 'field "escalation_email": not an email address like abuse@example.com (the'),
        (
            {"channel": '"form"', "form_url": '"ftp://t.me/x"'},
            'field "form_url": "ftp://t.me/x" is not an http or https address like https://example.com/report',
        ),
        (
            {"channel": '"form"', "form_url": '"https:///x"'},
            'field "form_url": "https:///x" is not an http or https address',
        ),
        (
            {"channel": '"form"', "form_url": '"https://t.me/f"', "form_fields": '{ a = "{victim_name}" }'},
            'field "form_fields": "a" uses {victim_name}; the placeholders are {case_reference}, {notifier_email}, {notifier_name}, {url}, {urls}',
        ),
        (
            {"channel": '"form"', "form_url": '"https://t.me/f"', "form_fields": '{ a = "{url" }'},
            'field "form_fields": "a": ',
        ),
        (
            {"channel": '"form"', "form_url": '"https://t.me/f"', "form_fields": '{ a = "{url!r}" }'},
            'field "form_fields": "a" uses {url!r}; the placeholders are',
        ),
        (
            {"channel": '"form"', "form_url": '"https://t.me/f"', "form_fields": '{ a = "{url:>9}" }'},
            'field "form_fields": "a" uses {url:>9}; the placeholders are',
        ),
        (
            {"channel": '"form"', "form_url": '"https://t.me/f"', "form_fields": '{ a = "{}" }'},
            'field "form_fields": "a" uses {}; the placeholders are',
        ),
        (
            {"channel": '"form"', "form_url": '"https://t.me/f"', "form_fields": "{ a = 3 }"},
            'field "form_fields": "a" must be text, not 3',
        ),
        ({"domains": '["t me"]'}, 'field "domains": "t me" is not a domain like t.me or *.example.com'),
        ({"domains": '["t.*.me"]'}, 'field "domains": "t.*.me" is not a domain'),
        ({"domains": "[]"}, 'field "domains": must list at least one domain'),
        ({"domains": '"t.me"'}, 'field "domains": must be a list of domains'),
        ({"follow_ups": "-1"}, 'field "follow_ups": must be a whole number, 0 or more, not -1'),
        ({"follow_ups": '"2"'}, 'field "follow_ups": must be a whole number, 0 or more, not "2"'),
        ({"escalations": "true"}, 'field "escalations": must be a whole number'),
        (
            {"recheck_schedule": '["1d", "soon"]'},
            'field "recheck_schedule": "soon" is not a duration like 90s, 48h or 3d',
        ),
        ({"unresolved_recheck": "30"}, 'field "unresolved_recheck": 30 is not a duration like 90s, 48h or 3d'),
        ({"language": '"fr"'}, 'field "language": "fr" is not one of en, zh-Hant'),
        ({"removed_markers": '["", "gone"]'}, 'field "removed_markers": must be non-empty text'),
        ({"emial": '"x@t.example"'}, 'unknown field "emial" (did you mean "email"?)'),
        ({"followups": "3"}, 'unknown field "followups" (did you mean "follow_ups"?)'),
    ],
)
def test_field_errors(change, expected):
    message = error_for(entry(**{**BASE, **change}))
    assert message.startswith('platforms.toml: [[platform]] #3 "Telegram": ')
    assert expected in message


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        (
            {"domains": '["t.me"]', "channel": '"email"', "email": '"a@t.example"'},
            '[[platform]] #3: field "name" is missing',
        ),
        (
            {"name": '"T"', "channel": '"email"', "email": '"a@t.example"'},
            '[[platform]] #3 "T": field "domains" is missing',
        ),
        ({"name": '"T"', "domains": '["t.me"]'}, '[[platform]] #3 "T": field "channel" is missing'),
        (
            {"name": '"T"', "domains": '["t.me"]', "channel": '"email"'},
            '[[platform]] #3 "T": field "email" is required when channel is "email"',
        ),
        (
            {"name": '"T"', "domains": '["t.me"]', "channel": '"form"'},
            '[[platform]] #3 "T": field "form_url" is required when channel is "form"',
        ),
        (
            {"name": '"T"', "domains": '["t.me"]', "channel": '"manual"'},
            '[[platform]] #3 "T": field "manual_instructions" is required when channel is "manual"',
        ),
        (
            {"name": '""', "domains": '["t.me"]', "channel": '"manual"'},
            '[[platform]] #3: field "name": must be non-empty text, not ""',
        ),
    ],
)
def test_missing_and_channel_fields(fields, expected):
    assert error_for(entry(**fields)) == f"platforms.toml: {expected}"


def test_duplicate_domain_across_platforms():
    message = error_for(entry(**{**BASE, "domains": '["t.me", "B.example"]'}))
    assert (
        message
        == 'platforms.toml: [[platform]] #3 "Telegram": field "domains": "b.example" is already listed by [[platform]] #2 "B"'
    )


def test_duplicate_platform_name():
    message = error_for(entry(**{**BASE, "name": '"A"'}))
    assert message == 'platforms.toml: [[platform]] #3 "A": field "name": "A" is already used by [[platform]] #1'


def test_defaults_errors():
    assert error_for('[defaults]\nfollow_up_after = "3x"\n') == (
        'platforms.toml: [defaults]: field "follow_up_after": "3x" is not a duration like 90s, 48h or 3d'
    )
    assert error_for('[defaults]\nemail = "a@b.example"\n') == 'platforms.toml: [defaults]: unknown field "email"'


def test_unknown_top_level_keys():
    assert (
        error_for('[[platforms]]\nname = "x"\n') == 'platforms.toml: unknown key "platforms" (did you mean "platform"?)'
    )
    assert error_for('[platform]\nname = "x"\n') == (
        "platforms.toml: write each platform as a [[platform]] table (double brackets)"
    )


def test_toml_syntax_errors_name_the_file_and_line():
    message = error_for("[defaults]\nfollow_ups = 2\nfollow_up_after = 3d\n")
    assert message.startswith("platforms.toml: not valid TOML: ")
    assert "line 3" in message


def test_missing_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(RegistryError, match=f"^{missing}: no such file"):
        load_registry(missing)


def test_load_registry_reads_a_file_and_names_it(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(TELEGRAM, encoding="utf-8")
    assert load_registry(path).policy_for("https://t.me/x").email == "abuse@t.example"
    path.write_text(TELEGRAM + 'follow_ups = "x"\n', encoding="utf-8")
    with pytest.raises(RegistryError, match=f'^{path}: \\[\\[platform\\]\\] #1 "Telegram": field "follow_ups"'):
        load_registry(path)


def test_registry_error_is_a_value_error():
    assert issubclass(RegistryError, ValueError)


# --- the shipped registry -----------------------------------------------------------


def test_the_shipped_platforms_toml_loads():
    registry = load_registry(SHIPPED_PLATFORMS)
    names = {p.name for p in registry.platforms}
    assert {"Telegram", "Instagram", "Facebook", "LIHKG", "Google Search", "X", "Reddit", "Imgur"} <= names
    assert {"Bing", "Pornhub", "XVideos", "XNXX", "xHamster", "OnlyFans", "TikTok", "Discord"} <= names
    assert registry.defaults == Timings(
        follow_up_after=timedelta(days=3),
        follow_ups=2,
        escalate_after=timedelta(days=7),
        escalations=2,
        recheck_schedule=[timedelta(days=d) for d in (1, 7, 30, 90)],
        unresolved_recheck=timedelta(days=30),
        batch_window=timedelta(seconds=60),
    )
    telegram = registry.policy_for("https://t.me/somechannel/5")
    assert (telegram.name, telegram.channel, telegram.email, telegram.escalation) == (
        "Telegram",
        Channel.EMAIL,
        "abuse@telegram.org",
        Escalation.ADMIN,
    )
    assert registry.policy_for("https://i.imgur.com/a.jpg").escalation is Escalation.HOST
    assert registry.policy_for("https://www.instagram.com/p/x/").channel is Channel.MANUAL
    assert registry.policy_for("https://www.google.com/search?q=x").category is Category.SEARCH_ENGINE
    assert registry.policy_for("https://unknown-site.example.com/x").email == "abuse@example.com"


def test_the_shipped_manual_platforms_say_where_to_file():
    for platform in load_registry(SHIPPED_PLATFORMS).platforms:
        if platform.policy.channel is Channel.MANUAL:
            assert "https://" in platform.policy.manual_instructions
            assert "`tada link filed`" in platform.policy.manual_instructions, platform.name


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://cn.bing.com/images/search?q=x", "Bing"),
        ("https://th.bing.com/th?id=x", "Bing"),
        ("https://www.google.com.hk/search?q=x", "Google Search"),
        ("https://drive.google.com/file/d/x", "google.com"),  # not Search: falls back
        ("https://cdn.discordapp.com/attachments/1/2/x.jpg", "Discord"),
        ("https://discord.gg/invite", "Discord"),
        ("https://www.pornhub.com/view_video.php?viewkey=x", "Pornhub"),
        ("https://www.xvideos.com/video123/x", "XVideos"),
        ("https://xhamster.com/videos/x", "xHamster"),
        ("https://lihkg.com/thread/1/page/1", "LIHKG"),
        ("https://www.tiktok.com/@x/video/1", "TikTok"),
    ],
)
def test_the_shipped_registry_routes_links(url, platform):
    assert load_registry(SHIPPED_PLATFORMS).policy_for(url).name == platform


def _shipped_entries() -> list[tuple[str, str]]:
    """(comment block above it, entry text) for each [[platform]] in the shipped file."""
    lines = (SHIPPED_PLATFORMS).read_text(encoding="utf-8").splitlines()
    starts = [i for i, line in enumerate(lines) if line.strip() == "[[platform]]"]
    tops = []
    for start in starts:
        top = start
        while top > 0 and lines[top - 1].startswith("#"):
            top -= 1
        tops.append(top)
    ends = tops[1:] + [len(lines)]
    return [("\n".join(lines[top:start]), "\n".join(lines[start:end])) for top, start, end in zip(tops, starts, ends)]


def _bare(address: str) -> str:
    return re.sub(r"^https?://(www\.)?", "", address).rstrip("/.;:")


def test_every_shipped_platform_cites_the_page_its_contacts_come_from():
    """Each entry has a `# source:` comment with the date checked, and every contact or address
    the entry sends a caseworker to appears in that comment."""
    entries = _shipped_entries()
    assert len(entries) == len(load_registry(SHIPPED_PLATFORMS).platforms)
    for comment, entry in entries:
        name = re.search(r'^name = "(.+)"', entry, re.M).group(1)
        assert re.search(r"^# source: \S", comment, re.M), name
        assert re.search(r"checked \d{4}-\d{2}-\d{2}", comment), name
        contacts = re.findall(r'^(?:email|escalation_email|form_url) = "(.+)"', entry, re.M)
        contacts += re.findall(r"https?://[^\s)\"',]+", entry)
        for contact in contacts:
            assert _bare(contact) in comment, f"{name}: {contact} is not in its source comment"


def test_the_registrys_domain_names_are_what_a_resolver_is_asked():
    names = load_registry(SHIPPED_PLATFORMS).domain_names()
    assert "x.com" in names and "t.me" in names  # "*.x.com" covers x.com itself
    assert not [name for name in names if "*" in name]
    assert len(names) == len(set(names))
