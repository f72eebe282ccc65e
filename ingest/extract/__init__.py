"""extract: see docs/ARCHITECTURE.md."""
