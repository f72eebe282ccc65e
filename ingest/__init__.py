"""ingest: keep a curated research catalog current."""
