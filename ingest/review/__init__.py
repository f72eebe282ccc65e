"""review: see docs/ARCHITECTURE.md."""
