"""Stores: LanceDB tables (items, features, embeddings), DuckDB reports and saved models."""
