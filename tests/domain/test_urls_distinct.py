"""One link, one id; two links, two ids: a property test over many generated links.

A link is drawn as what a browser requests (scheme, host, effective port, the path and query
as escaped text, a ``#!`` route) and then written the ways people and pages write it: other
letter case, ``\\`` for ``/``, lower-case or upper-case escapes, raw non-ASCII, dot segments
(``./``, ``x/../``, ``%2e``), an explicit default port, a percent-encoded or Unicode host,
a fragment, tracking parameters. Every spelling
of one link must normalise to one string; links that differ in what is requested must not.
"""

import ipaddress
import string
import tempfile
from pathlib import Path

import idna
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir

from tada.domain.urls import normalise_url

set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "tada-hypothesis")  # its caches stay out of the checkout

#: Characters neither a browser nor tada escapes, in a path and in a query.
PATH_LITERALS = string.ascii_letters + string.digits + "-._~!$&'()*+,;=:@"
QUERY_LITERALS = string.ascii_letters + string.digits + "-._~!$()*+,;:@/?"
IDN_LABELS = ["bücher", "münchen", "例え", "παράδειγμα", "пример", "straße"]
TLDS = ["com", "org", "example", "co.uk", "uk.com", "github.io"]
DEFAULT_PORT = {"http": 80, "https": 443}

# A unit of a path or query: ("lit", char), ("esc", byte), or ("uni", char); its canonical
# text is the char, "%XX", or the char's UTF-8 escapes (what a browser sends for it).


def _unit(literals: str) -> st.SearchStrategy[tuple[str, object]]:
    return st.one_of(
        st.tuples(st.just("lit"), st.sampled_from(literals)),
        st.tuples(st.just("esc"), st.integers(0, 255)),
        st.tuples(st.just("uni"), st.sampled_from("éß路🙂ü")),
    )


def _canonical(units) -> str:
    out = []
    for kind, value in units:
        if kind == "lit":
            out.append(value)
        elif kind == "esc":
            out.append(f"%{value:02X}")
        else:
            out.extend(f"%{byte:02X}" for byte in value.encode("utf-8"))
    return "".join(out)


def _is_dot_segment(text: str) -> bool:
    return text.lower().replace("%2e", ".") in (".", "..")


segments = st.lists(st.lists(_unit(PATH_LITERALS), max_size=4), min_size=1, max_size=4).filter(
    lambda segs: not any(_is_dot_segment(_canonical(seg)) for seg in segs)
)
#: Query parameters ``name=value``; each name starts with "k", so none is a tracking parameter.
names = st.lists(_unit(QUERY_LITERALS), max_size=3).map(lambda units: [("lit", "k"), *units])
pairs = st.lists(st.tuples(names, st.lists(_unit(QUERY_LITERALS), max_size=3)), max_size=3)
labels = st.text(string.ascii_lowercase + string.digits, min_size=1, max_size=8)
domains = st.tuples(st.just("dns"), st.tuples(st.one_of(labels, st.sampled_from(IDN_LABELS)), st.sampled_from(TLDS)))
ipv4s = st.tuples(st.just("ipv4"), st.integers(0x01000000, 0xDFFFFFFF))
links = st.fixed_dictionaries(
    {
        "scheme": st.sampled_from(["http", "https"]),
        "host": st.one_of(domains, ipv4s),
        "port": st.one_of(st.none(), st.sampled_from([80, 443, 8080, 8443]), st.integers(1, 65535)),
        "path": segments,
        "query": pairs,
        "route": st.one_of(st.none(), st.text(string.ascii_lowercase + "/", max_size=6)),
    }
)


def identity(link: dict) -> tuple:
    """What a browser requests for the link (tada's documented equivalences applied)."""
    kind, value = link["host"]
    host = str(ipaddress.IPv4Address(value)) if kind == "ipv4" else f"{idna.encode(value[0]).decode()}.{value[1]}"
    port = link["port"] or DEFAULT_PORT[link["scheme"]]
    path = "/" + "/".join(_canonical(seg) for seg in link["path"])
    query = tuple((_canonical(name), _canonical(val)) for name, val in link["query"])
    return link["scheme"], host, port, path, query, link["route"]


def spelling(link: dict, draw) -> str:
    """One way of writing the link, chosen by ``draw``."""
    scheme = "".join(c.upper() if draw(st.booleans()) else c for c in link["scheme"])
    kind, value = link["host"]
    if kind == "ipv4":  # in hex, octal or short form it is refused (test_urls.py)
        host = str(ipaddress.IPv4Address(value)) + draw(st.sampled_from(["", "."]))
    else:
        label, tld = value
        label = draw(st.sampled_from([label, idna.encode(label).decode()]))
        host = f"{label}.{tld}"
        host = "".join(c.upper() if c.isascii() and draw(st.booleans()) else c for c in host)
        if host.isascii() and draw(st.booleans()):
            host = "".join(f"%{ord(c):02x}" if c.isalnum() and draw(st.booleans()) else c for c in host)
        host += draw(st.sampled_from(["", "."]))
    port = link["port"]
    if port is None and draw(st.booleans()):
        port = DEFAULT_PORT[link["scheme"]]
    netloc = host + (f":{port:0{draw(st.integers(1, 5))}d}" if port is not None else "")
    path = ""
    for seg in link["path"]:
        noise = draw(st.sampled_from(["", "./", "%2e/", "zz/../", "zz/%2E%2e/", "q/.%2E/"]))
        path += draw(st.sampled_from(["/", "\\"])) + noise + _written(seg, draw)
    query = [f"{_written(name, draw)}={_written(val, draw)}" for name, val in link["query"]]
    if draw(st.booleans()):
        query.insert(draw(st.integers(0, len(query))), "utm_source=share")
    if draw(st.booleans()):
        query.append("fbclid=abc")
    url = f"{scheme}://{netloc}{path}"
    if query or draw(st.booleans()):
        url += "?" + "&".join(query)
    if link["route"] is not None:
        url += "#!" + link["route"]
    elif draw(st.booleans()):
        url += "#section-2"
    return url


def _written(units, draw) -> str:
    out = []
    for kind, value in units:
        if kind == "lit":
            out.append(value)
        elif kind == "esc":
            out.append(draw(st.sampled_from([f"%{value:02X}", f"%{value:02x}"])))
        else:
            out.append(value if draw(st.booleans()) else "".join(f"%{b:02x}" for b in value.encode("utf-8")))
    return "".join(out)


@settings(max_examples=300, deadline=None, database=None)
@given(link=links, data=st.data())
def test_every_spelling_of_one_link_normalises_to_one_string(link, data):
    first = normalise_url(spelling(link, data.draw))
    second = normalise_url(spelling(link, data.draw))
    assert first == second
    assert normalise_url(first) == first


def twin(link: dict, draw) -> dict:
    """The link with one small change a normaliser could wrongly undo: an escape for its
    character (``%41``/``A``), another letter case, a ``/`` or ``&`` or ``=`` for its escape,
    one segment less, another scheme, port, host label or route."""
    twin = {
        **link,
        "path": [list(seg) for seg in link["path"]],
        "query": [(list(n), list(v)) for n, v in link["query"]],
    }
    where = draw(st.sampled_from(["unit", "slash", "query", "scheme", "port", "host", "route"]))
    if where == "unit":
        seg = draw(st.sampled_from(twin["path"]))
        if seg:
            at = draw(st.integers(0, len(seg) - 1))
            seg[at : at + 1] = _twin_unit(seg[at], PATH_LITERALS, draw)
    elif where == "slash" and len(twin["path"]) > 1:
        at = draw(st.integers(0, len(twin["path"]) - 2))
        byte = draw(st.sampled_from([0x2F, 0x5C]))  # "/" and "\\" escaped: inside a segment
        twin["path"][at : at + 2] = [twin["path"][at] + [("esc", byte)] + twin["path"][at + 1]]
    elif where == "query" and twin["query"]:
        name, value = draw(st.sampled_from(twin["query"]))
        part, first = draw(st.sampled_from([(name, 1), (value, 0)]))  # a name keeps its "k"
        if len(part) > first:
            at = draw(st.integers(first, len(part) - 1))
            part[at : at + 1] = _twin_unit(part[at], QUERY_LITERALS, draw)
        else:
            part.append(("esc", draw(st.sampled_from([0x26, 0x3D]))))  # "&" and "=" escaped
    elif where == "scheme":
        twin["scheme"] = {"http": "https", "https": "http"}[link["scheme"]]
    elif where == "port":
        twin["port"] = draw(st.sampled_from([None, 80, 443, 8080, 1]))
    elif where == "host" and link["host"][0] == "dns":
        label, tld = link["host"][1]
        twin["host"] = ("dns", (label + draw(st.sampled_from(["x", "0"])), tld))
    elif where == "host":
        twin["host"] = ("ipv4", link["host"][1] ^ (1 << draw(st.integers(0, 23))))
    else:
        twin["route"] = draw(st.sampled_from([None, "", "/", "a"]))
    return twin


def _twin_unit(unit, literals: str, draw) -> list:
    kind, value = unit
    if kind == "lit":
        return draw(st.sampled_from([[("esc", ord(value))], [("lit", value.swapcase())], []]))
    if kind == "esc":
        return [("lit", chr(value))] if chr(value) in literals else [("esc", value ^ 0x20)]
    return [("esc", value.encode("utf-8")[0])]  # a stray byte instead of the character


@settings(max_examples=300, deadline=None, database=None)
@given(link=links, data=st.data())
def test_two_different_links_never_normalise_to_one_string(link, data):
    other = twin(link, data.draw)
    assume(not any(_is_dot_segment(_canonical(seg)) for seg in other["path"]))
    assume(identity(link) != identity(other))
    assert normalise_url(spelling(link, data.draw)) != normalise_url(spelling(other, data.draw))
