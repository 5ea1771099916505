"""The local stack that ``make run`` starts and the test suite reuses.

Embedded PostgreSQL, the Temporal dev server and an SMTP outbox, all on
127.0.0.1, all keeping their state under ``.tada/``. Nothing here is needed
when tada runs against a separately managed PostgreSQL, Temporal and SMTP relay.
"""
