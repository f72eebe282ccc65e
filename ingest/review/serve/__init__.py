"""`ingest review serve`: a local review page with each quote highlighted on its PDF page."""
