"""Adapters to what tada runs on: PostgreSQL, the Temporal client, the payload codec, data encryption, logging."""
