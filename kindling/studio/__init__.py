"""`kindling studio`: a local web app over the store (runs, graphs, transcripts, principles)."""
