"""A loopback OpenAI-compatible server with scripted answers (being written)."""
