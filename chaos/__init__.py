"""Fault tests (`make chaos`): the real engine through worker kills, a Temporal restart,
an SMTP outage and a PostgreSQL outage, then a check that nothing was lost or sent twice."""
