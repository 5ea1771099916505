"""Benchmarks: tada against bare Temporal on the same dev server, in the same run.

``make bench`` (= ``.venv/bin/python -m bench``) runs all four; ``python -m bench
happy|import|scale|liveness`` runs one (``--help`` for the sizes). Every
benchmark starts its own local world in a temporary directory -- a Temporal
dev server (SQLite file, WAL), an embedded PostgreSQL, an SMTP sink and an
HTTP server, all on 127.0.0.1 -- runs tada and a bare-Temporal equivalent on
it, prints a table (date, machine, figures, ratio against the target) and
deletes the directory. Nothing leaves the machine.
"""
