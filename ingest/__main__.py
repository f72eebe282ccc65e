"""python -m ingest"""

from .cli import main

main()
