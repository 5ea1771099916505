"""tada's HTTP API: monitors report reposts, caseworker tools read cases and links (FastAPI on uvicorn)."""
