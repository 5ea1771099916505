"""Search attributes: the only things about a link Temporal may index (ids, states, categories, hosts)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

CASE_ID = SearchAttributeKey.for_keyword("TadaCaseId")
STATE = SearchAttributeKey.for_keyword("TadaState")
CATEGORY = SearchAttributeKey.for_keyword("TadaCategory")
PLATFORM = SearchAttributeKey.for_keyword("TadaPlatform")
NEXT_ACTION_AT = SearchAttributeKey.for_datetime("TadaNextActionAt")

#: name -> indexed type, for registering them on a server.
SEARCH_ATTRIBUTES: dict[str, str] = {
    CASE_ID.name: "Keyword",
    STATE.name: "Keyword",
    CATEGORY.name: "Keyword",
    PLATFORM.name: "Keyword",
    NEXT_ACTION_AT.name: "Datetime",
}
