"""The per-file pipeline as stages with plain data between them:
read -> validate -> map -> load -> acknowledge (fetch and finalize live with the sources)."""
