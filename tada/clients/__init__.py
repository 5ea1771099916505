"""Clients of the outside world that the activities use: SMTP, web forms, DNS, RDAP, safe HTTP egress, rate limits."""
