"""markdown: see docs/ARCHITECTURE.md."""
