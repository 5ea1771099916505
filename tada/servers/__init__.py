"""Servers tada runs beside the API: the payload codec server for the Temporal Web UI."""
