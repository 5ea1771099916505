"""Every side effect of tada, as Temporal activities. Each class holds its clients
(pool, mailer, HTTP client) so tests swap the dependency, not the code."""
