"""paper: see docs/ARCHITECTURE.md."""
