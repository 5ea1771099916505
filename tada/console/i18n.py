"""The console's languages: English (the messages as written) and Traditional Chinese, from the
message catalogue tada/console/locale/zh_Hant/LC_MESSAGES/console.po (Babel's format, made with
``pybabel extract`` from the templates and code; see the README's console section).

The catalogue is compiled in memory when first needed, so only the ``.po`` file (text, reviewable)
is kept in the repository. ``translations(language)`` gives gettext callables for one language.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable
from functools import cache
from importlib.resources import files

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = ("en", "zh-Hant")
DOMAIN = "console"
#: The language tag of a console language in the catalogue's folder name, and its name in itself.
_FOLDERS = {"zh-Hant": "zh_Hant"}
LANGUAGE_NAMES = {"en": "English", "zh-Hant": "繁體中文"}


def language_of(value: str | None) -> str:
    """One of LANGUAGES (English for anything else)."""
    return value if value in LANGUAGES else "en"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``language``; English is the messages themselves."""
    language = language_of(language)
    if language == "en":
        return gettext.NullTranslations()
    source = files("tada.console").joinpath("locale", _FOLDERS[language], "LC_MESSAGES", f"{DOMAIN}.po")
    with source.open("rb") as po:
        catalog = read_po(po, locale=_FOLDERS[language], domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def gettext_for(language: str) -> Callable[[str], str]:
    """The ``gettext`` of ``language``'s catalogue."""
    return translations(language).gettext


def N_(message: str) -> str:  # noqa: N802 - the name extraction looks for (pybabel -k N_)
    """Marks a message for the catalogue where it is defined; it is translated where it is shown."""
    return message


#: The roles as a page names them.
ROLE_NAMES = {"ops": N_("ops"), "caseworker": N_("caseworker")}
#: A reply's kinds as a page names them (tada/domain/replies.py).
REPLY_KIND_NAMES = {
    "acknowledged": N_("acknowledged"), "removed": N_("removed"), "rejected": N_("rejected"),
    "needs_info": N_("needs information"), "auto_reply": N_("automatic reply"), "bounce": N_("bounce"),
    "other": N_("other"),
}  # fmt: skip
#: A link's states as a page names them (tada/domain/states.py LinkState); the value stays in forms.
STATE_NAMES = {
    "REPORTED": N_("reported"), "AWAITING_RESPONSE": N_("awaiting a response"), "FOLLOW_UP": N_("followed up"),
    "ESCALATED": N_("escalated"), "REMOVED": N_("removed"), "UNRESOLVED": N_("unresolved"),
    "WITHDRAWN": N_("withdrawn"),
}  # fmt: skip
