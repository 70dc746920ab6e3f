"""Items, the unit everything is made of: their Arrow schemas, content ids and hashes, and
how they are split, sampled and harmlessly changed (for the invariance metrics)."""
