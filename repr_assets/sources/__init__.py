"""Readers that turn a source into batches of items."""
