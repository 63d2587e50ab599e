"""Receiving snippet batches: strict schema, CORS, storage and the session lifecycle."""
