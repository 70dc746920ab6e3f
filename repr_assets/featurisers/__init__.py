"""Featurisers turn item batches into float32 feature matrices."""
