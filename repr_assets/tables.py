"""Names of the LanceDB tables of a data set."""


def items_table(dataset: str) -> str:
    return f"{dataset}_items"


def features_table(dataset: str) -> str:
    return f"{dataset}_features"


def embeddings_table(dataset: str, encoder: str) -> str:
    return f"{dataset}_{encoder}"
