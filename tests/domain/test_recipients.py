"""One check for every address tada may write to: what can never work is refused, with a
message that names the domain (or "the address") and never the address."""

from __future__ import annotations

import pytest

from tada.domain.recipients import BadRecipient, check_recipient, recipient_domain


@pytest.mark.parametrize(
    "address",
    [
        "abuse@site.test",
        "Abuse.Desk+tada@Host.Example.com",
        "a#$%&'*/=?^_`{}~-@x.example",  # every character RFC 5321 allows but | and !
        "prvs=0123abcd=abuse@x.example",  # = inside is fine (BATV, SRS)
        "  abuse@site.test\n",  # a line end from a file, trimmed
        "a" * 64 + "@x.example",
        "abuse@" + ".".join(["d" * 61] * 3) + ".example",  # 6 + 185 + 8 = 199 characters
    ],
)
def test_an_address_that_can_work_is_kept_as_written(address):
    assert check_recipient(address) == address.strip()


def test_an_international_domain_is_sent_in_its_ascii_form():
    assert check_recipient("abuse@bücher.example") == "abuse@xn--bcher-kva.example"
    assert recipient_domain(check_recipient("abuse@bücher.example")) == "xn--bcher-kva.example"


LONG_DOMAIN = ".".join(["d" * 60] * 3) + ".example"  # 191 characters: a valid name
# (address, what the message says, the domain it may name or None)
REFUSED = [
    ("a@b.example,c@d.example", "more than one recipient", None),
    ("a@b.example;c@d.example", "more than one recipient", None),
    ("a@b.example c@d.example", "space", None),
    ("abuse@site.test\x00", "control", None),
    ("abuse\x00@site.test", "control", None),
    ("abuse@site.test\x1b[2J", "control", None),
    ("abuse@site.test\r\nBcc: evil@x.example", "control", None),
    ("\u202eabuse@site.test", "text-direction", None),
    ("abuse\u200b@site.test", "invisible", None),
    ("mailto:abuse@site.test?bcc=evil@x.example", "mailto:", None),
    ("MAILTO:abuse@site.test", "mailto:", None),
    ("a" * 2048 + "@site.test", "longer than 64", "site.test"),
    ("a" * 65 + "@site.test", "longer than 64", "site.test"),
    ("a" * 64 + "@" + LONG_DOMAIN, "longer than 254", LONG_DOMAIN),
    ("Abuse Desk <abuse@site.test>", "name", None),
    ("<abuse@site.test>", "angle brackets", None),
    ('"abuse desk"@site.test', "quotes", None),
    ("abuse@[127.0.0.1]", "IP address in brackets", None),
    ("abuse@[IPv6:::1]", "IP address in brackets", None),
    ("abuse@127.0.0.1", "IP address as its domain", None),
    ("abuse@localhost", "without a dot", None),
    ("abuse@mail.localhost", "never receives mail", "mail.localhost"),
    ("abuse@site.invalid", "never receives mail", "site.invalid"),
    ("abuse@site.test.", "not a host name", None),
    ("abuse@-site.test", "not a host name", None),
    ("abuse@si_te.test", "not a host name", None),
    ("abuse@site..test", "not a host name", None),
    ("abuse@" + "d" * 64 + ".test", "not a host name", None),
    ("abuse", "has no @", None),
    ("a@b@site.test", "more than one @", None),
    ("@site.test", "nothing before the @", "site.test"),
    ("abuse@", "nothing after the @", None),
    ("abüse@site.test", "outside ASCII", "site.test"),
    (".abuse@site.test", "misplaced dot", "site.test"),
    ("ab..use@site.test", "misplaced dot", "site.test"),
    ("ab(use)@site.test", "cannot hold", "site.test"),
    ("=cmd|'/ccalc'!A0@site.test", "starts with '='", "site.test"),  # a formula in a spreadsheet
    ("=HYPERLINK(1)@site.test", "cannot hold", "site.test"),
    ("+1@site.test", "starts with '+'", "site.test"),
    ("-oQ/tmp@site.test", "starts with '-'", "site.test"),  # an option on a command line
    ("abuse|cat@site.test", "'|' before the @", "site.test"),  # a program, to a mail server
    ("host!abuse@site.test", "'!' before the @", "site.test"),  # a bang path to another host
    ("", "empty", None),
    (None, "not text", None),
    (42, "not text", None),
]


@pytest.mark.parametrize(("address", "said", "domain"), REFUSED)
def test_an_address_that_can_never_work_is_refused_naming_its_domain_at_most(address, said, domain):
    with pytest.raises(BadRecipient) as refused:
        check_recipient(address)
    message = str(refused.value)
    assert said in message
    assert refused.value.domain == domain
    assert refused.value.where == (domain or "the address")
    assert message.startswith(f"the address at {domain} " if domain else "the address ")
    if isinstance(address, str) and address:
        assert address.strip() not in message
        after = address.partition("@")[2]
        if domain is None and len(after) > 2:
            assert after not in message  # nor a part of it that is no domain to name


def test_refusals_are_value_errors_for_the_readers_that_catch_those():
    assert issubclass(BadRecipient, ValueError)


# Every source of addresses uses the check: the registry (and `tada link escalate --to`,
# which reads its value with the registry's reader) and RDAP's abuse contacts.

NEVER_WORK = [a for a, _, _ in REFUSED if isinstance(a, str) and "@" in a and not a.endswith("@")]


@pytest.mark.parametrize("address", NEVER_WORK)
def test_the_registry_refuses_it_without_showing_it(address):
    from tada.domain import registry_values

    with pytest.raises(ValueError, match="not an email address like abuse@example.com") as refused:
        registry_values.email(address)
    assert address.strip() not in str(refused.value)


def test_rdap_contacts_that_can_never_work_are_skipped_not_stored():
    from tada.domain.abuse_contacts import AbuseEmail, abuse_emails
    from tests.support.rdap_records import entity

    values = [*NEVER_WORK, "mailto:abuse@host.example", "abuse@bücher.example"]
    record = {"objectClassName": "ip network", "entities": [entity("ABUSE-1", ["abuse"], "Abuse", *values)]}
    assert abuse_emails(record) == [
        AbuseEmail("abuse@host.example", "ABUSE-1"),
        AbuseEmail("abuse@xn--bcher-kva.example", "ABUSE-1"),
    ]
