"""Ingest: turn the bundled curriculum and a team's own files into heading-aware chunks in the vector store.

Idempotent by construction: chunk ids are derived from the source and the chunk's content hash, and only
chunks the store does not hold yet are embedded.
"""
