"""Abuse contacts out of RDAP JSON: recursive, in document order, tolerant of odd shapes."""

from __future__ import annotations

import pytest

from tada.domain.abuse_contacts import AbuseEmail, abuse_emails, registrar_abuse, vcard_emails
from tests.support.rdap_records import arin_network, entity, registry_domain, ripe_network

BASE = "https://rdap.example/"


def card(*props) -> list:
    return ["vcard", [["version", {}, "text", "4.0"], *props]]


def test_arin_abuse_nested_in_the_organisation():
    record = arin_network("23.94.0.0/15", "CC-17", "ColoHost Inc", "abuse@colohost.example", base=BASE)
    assert abuse_emails(record) == [AbuseEmail("abuse@colohost.example", "ABUSE3010-ARIN")]


def test_ripe_abuse_c_at_the_top():
    record = ripe_network("185.53.176.0/22", "NET", "HostDE GmbH", "abuse@hostde.example", base=BASE)
    assert abuse_emails(record) == [AbuseEmail("abuse@hostde.example", "AR40377-RIPE")]


def test_deep_nesting_in_document_order_each_email_once():
    deep = entity("DEEP-1", ["abuse"], "Deep", "deep@x.example")
    record = {
        "objectClassName": "ip network",
        "entities": [
            entity(
                "A-1",
                ["registrant"],
                "Org",
                entities=[
                    entity("B-1", ["technical"], "Tech", entities=[entity("C-1", ["noc"], "Noc", entities=[deep])]),
                    entity("ABUSE-1", ["ABUSE", "technical"], "Abuse", "first@x.example", "Deep@X.example"),
                ],
            ),
            entity("ABUSE-2", ["abuse"], "Abuse 2", "first@x.example", "second@x.example"),
        ],
    }
    assert abuse_emails(record) == [
        AbuseEmail("deep@x.example", "DEEP-1"),
        AbuseEmail("first@x.example", "ABUSE-1"),
        AbuseEmail("second@x.example", "ABUSE-2"),
    ]


def test_no_abuse_entity_is_an_empty_list():
    record = arin_network("50.7.0.0/16", "QUIET", "Quiet Hosting", base=BASE)
    assert abuse_emails(record) == []


@pytest.mark.parametrize(
    "record",
    [
        None,
        [],
        "text",
        {},
        {"entities": None},
        {"entities": "abuse@x.example"},
        {"entities": [None, 3, "x", []]},
        {"entities": [{"roles": "technical", "vcardArray": card(["email", {}, "text", "t@x.example"])}]},
        {"entities": [{"roles": ["abuse"]}]},
        {"entities": [{"roles": ["abuse"], "vcardArray": "nope"}]},
        {"entities": [{"roles": ["abuse"], "vcardArray": ["vcard"]}]},
        {"entities": [{"roles": ["abuse"], "vcardArray": ["vcard", [["email"], ["email", {}, "text"], "x", None]]}]},
        {"entities": [{"roles": [None, 5], "vcardArray": card(["email", {}, "text", "a@x.example"])}]},
    ],
)
def test_odd_shapes_are_skipped_not_fatal(record):
    assert abuse_emails(record) == []


def test_odd_values_inside_a_card():
    abuse = {
        "roles": "abuse",  # a bare string instead of a list
        "handle": 42,  # not a string: no handle
        "vcardArray": card(
            ["email", {}, "text", "  mailto:Abuse@Host.example "],
            ["email", {}, "text", "not an email"],
            ["EMAIL", {"type": "work"}, "text", "noc@host.example", "second@host.example"],
            ["email", {}, "text", ["list@host.example", 7]],
            ["email", {}, "text", 12],
            ["fn", {}, "text", "someone@host.example"],
        ),
    }
    assert abuse_emails({"entities": [abuse]}) == [
        AbuseEmail("Abuse@Host.example", None),
        AbuseEmail("noc@host.example", None),
        AbuseEmail("second@host.example", None),
        AbuseEmail("list@host.example", None),
    ]


def test_an_entity_answer_that_is_itself_the_abuse_contact():
    assert abuse_emails(entity("ABUSE-7", ["abuse"], "Abuse", "a@x.example")) == [AbuseEmail("a@x.example", "ABUSE-7")]


def test_cycles_do_not_hang():
    node: dict = {"roles": ["abuse"], "vcardArray": card(["email", {}, "text", "loop@x.example"])}
    node["entities"] = [node]
    assert abuse_emails(node) == [AbuseEmail("loop@x.example", None)]


def test_registrar_and_its_nested_abuse_contact():
    record = registry_domain("tada.com", "Example Registrar, Inc.", "9999", "abuse@registrar.example", base=BASE)
    found = registrar_abuse(record)
    assert found.handle == "9999"
    assert found.name == "Example Registrar, Inc."
    assert found.emails == [AbuseEmail("abuse@registrar.example", None)]


def test_registrar_without_abuse_contact_and_domain_without_registrar():
    registrar = entity("9999", ["registrar"], "Quiet Registrar", "sales@registrar.example")
    assert registrar_abuse({"entities": [registrar]}).emails == []
    assert registrar_abuse({"entities": [entity("R-1", ["registrant"], "Someone")]}) is None
    assert registrar_abuse({"entities": "odd"}) is None
    assert registrar_abuse(None) is None


def test_vcard_emails_of_non_entities():
    assert vcard_emails(None) == []
    assert vcard_emails({"vcardArray": ["vcard", "props"]}) == []
