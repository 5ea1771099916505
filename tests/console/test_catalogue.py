"""The console in Traditional Chinese is whole: every message of its code and templates (as
``pybabel extract -F babel.cfg -k N_`` finds them) has a translation in the catalogue, the
placeholders of each match, and the catalogue holds nothing the console no longer says."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tada.console.i18n import translations

ROOT = Path(__file__).resolve().parents[2]
CATALOGUE = ROOT / "tada/console/locale/zh_Hant/LC_MESSAGES/console.po"
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def _extracted() -> set[str]:
    method_map = [("tada/console/**.py", "python"), ("tada/console/templates/**.j2", "jinja2")]
    options = {"tada/console/templates/**.j2": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None}
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options, keywords=keywords):
        found.add(message if isinstance(message, str) else message[0])
    return found


def _catalogue() -> dict[str, str]:
    with CATALOGUE.open("rb") as po:
        return {m.id: m.string for m in read_po(po) if m.id and isinstance(m.id, str)}


def test_every_message_of_the_console_is_translated():
    catalogue = _catalogue()
    missing = sorted(message for message in _extracted() if not catalogue.get(message))
    assert missing == [], f"messages without a zh-Hant translation (pybabel extract, then fill {CATALOGUE.name})"


def test_translations_keep_their_placeholders_and_the_catalogue_has_no_leftovers():
    catalogue = _catalogue()
    for message, translated in catalogue.items():
        assert set(_PLACEHOLDER.findall(message)) == set(_PLACEHOLDER.findall(translated)), message
    assert sorted(set(catalogue) - _extracted()) == []


def test_the_catalogue_compiles_and_translates():
    assert translations("zh-Hant").gettext("Needs me") == "待我處理"
    assert translations("en").gettext("Needs me") == "Needs me"
