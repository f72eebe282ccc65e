"""jobs: see docs/ARCHITECTURE.md."""
