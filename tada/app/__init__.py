"""Use cases: what tada does for a person or a program, over the adapters (intake, caseworker actions, reposts, purge, read model)."""
