"""Ingest: source clients, file readers, the COPY loader and the batch audit trail."""
