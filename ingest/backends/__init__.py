"""Extraction backends: `openai` (instructor, any OpenAI-compatible server) and `heuristic` (offline)."""
