"""How a delivery failed: the words the sending activity and the link workflow share.

A permanent failure (SMTP 5xx, a form's 4xx, an address that can never work) is raised by
the sending activity as a non-retryable ``ApplicationError`` of type ``PERMANENT_FAILURE``
whose first detail is a ``DeliveryFailure``; the workflow records it as a
``delivery_failed`` event and moves the link on. Temporary failures are retried.
Nothing here names the recipient's address or the URL: only its domain or host.
"""

from __future__ import annotations

from pydantic import BaseModel

from tada.domain.states import Channel

#: ``ApplicationError.type`` of a delivery that can never succeed as it is.
PERMANENT_FAILURE = "DeliveryFailedPermanently"
#: ``DeliveryFailure.code`` of a notice not sent because the case cannot supply what a law it
#: cites requires (tada/domain/laws.py): nothing went out, the recipient is not to blame.
INCOMPLETE_NOTICE = "incomplete"


class DeliveryFailure(BaseModel):
    channel: Channel
    #: What answered: an SMTP reply code ("550"), a form's HTTP status ("403"), or "address" for
    #: a recipient refused before any send.
    code: str
    #: The recipient's domain, or the form's host: never the address, never the URL.
    where: str
    #: A short reason a caseworker understands ("mailbox does not exist", "form refused the report").
    reason: str
