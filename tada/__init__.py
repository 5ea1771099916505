"""tada, Take-Down Assistance: one durable take-down workflow per reported link.

The layers, each importing only from those before it (docs/architecture.md):
``domain`` (pure rules) → ``workflows`` (deterministic) → ``app`` (use cases), over
``adapters`` and ``clients`` (I/O) → ``activities``, ``cli``, ``api``, ``servers`` → the
entry points (``tada.worker``, ``tada.cli``). ``kit`` is the local world on 127.0.0.1
(``make run``, ``tada simulate``, the tests), used by nothing the product needs.
"""
