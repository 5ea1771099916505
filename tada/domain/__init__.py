"""Pure models and logic shared by workflows and activities: no I/O here."""
