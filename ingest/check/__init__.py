"""check: see docs/ARCHITECTURE.md."""
