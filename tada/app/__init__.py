"""Use cases: what tada does for a person or a program, over the adapters.

Intake, caseworker actions, reposts, purge, the read model, the audit trail.
"""
