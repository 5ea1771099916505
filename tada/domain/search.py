"""Search attributes: the only things about a link Temporal may index (ids, states, categories, platforms).

Temporal's visibility store holds them in clear beside the case id, so none may say where a
victim's content is: a platform the registry lists goes by its registry name (one of many
sites' users), a site it does not list by ``UNLISTED`` only, never by its domain (which, beside
the case id, would say where that victim's content was); its category is ``TadaCategory``.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CASE_ID = SearchAttributeKey.for_keyword("TadaCaseId")
STATE = SearchAttributeKey.for_keyword("TadaState")
CATEGORY = SearchAttributeKey.for_keyword("TadaCategory")
PLATFORM = SearchAttributeKey.for_keyword("TadaPlatform")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("TadaNextActionAt")

#: ``TadaPlatform`` of a site the registry does not list.
UNLISTED = "unlisted"

#: name -> indexed type, for registering them on a server.
SEARCH_ATTRIBUTES: dict[str, str] = {
    CASE_ID.name: "Keyword",
    STATE.name: "Keyword",
    CATEGORY.name: "Keyword",
    PLATFORM.name: "Keyword",
    NEXT_ACTION_AT.name: "Datetime",
}
