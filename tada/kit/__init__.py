"""The local world on 127.0.0.1: ``make run``'s stack, and the parts the tests, ``tada
simulate``, ``make chaos`` and ``make bench`` build theirs from.

- servers: embedded PostgreSQL (``postgres``), the Temporal dev server, persisted or in
  memory (``temporal_server``), one SMTP sink (``smtp``; the ``.eml`` outbox is one of its
  uses, ``outbox``), one HTTP server on loopback addresses whose pages the caller supplies
  (``web``);
- ``stack``: those three servers on free ports under a temporary directory, and the
  TADA_* settings they imply (the harnesses');
- ``run``: ``make run``, on fixed ports, its state under ``.tada/``.

Nothing here is needed when tada runs against a separately managed PostgreSQL,
Temporal and SMTP relay, and no product module imports it.
"""
