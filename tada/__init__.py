"""tada, Take-Down Assistance: one durable take-down workflow per reported link.

The layers, lowest first; each imports only from its own and those below it
(docs/architecture.md, checked by tests/architecture/test_layers.py):
``domain``, ``errors``, ``settings`` (pure rules, the error vocabulary, settings) →
``workflows`` (deterministic) → ``adapters`` and ``clients`` (I/O) → ``app`` and
``reporting`` (use cases) → ``activities``, ``api``, ``servers`` → ``cli`` and ``worker``
(the entry points) → ``kit`` and ``simulation`` (the local world on 127.0.0.1: ``make run``,
``tada simulate``, the tests), used by nothing the product needs.
"""
