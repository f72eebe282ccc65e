"""evaluate: see docs/ARCHITECTURE.md."""
