"""I/O glue shared by the worker, the CLI and the local stack (database, Temporal client, logs)."""
