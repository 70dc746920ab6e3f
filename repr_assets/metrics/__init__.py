"""Quality metrics of an embedding, each a pure function of arrays (see docs/interface.md)."""
