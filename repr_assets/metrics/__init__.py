"""Quality metrics of an embedding, each a pure function of arrays (see INTERFACE.md)."""
