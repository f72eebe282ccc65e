"""A loopback arXiv API and PDF host that serves the real corpus (being written)."""
