"""catalog: see docs/ARCHITECTURE.md."""
