"""Reporting: the service report regenerated from the database (``tada report``)."""
