"""Vector search over embeddings tables: exact brute force or an ANN index, by table size.

    searcher = Searcher(LanceStore.of(home), "digits_pca")
    hits = searcher.search_ids(["digits-0001"], k=10, where={"split": "test"})

No Dagster here: the asset that writes an embeddings table calls ``ensure_vector_index``
and the quality report calls ``search_recall``.
"""

from repr_assets.search.filters import FilterError, parse_where
from repr_assets.search.hits import Hits
from repr_assets.search.index import DEFAULT_INDEX_SETTINGS, IndexSettings
from repr_assets.search.recall import recall_at_k, search_recall
from repr_assets.search.searcher import Searcher, UnknownItemError
from repr_assets.search.upkeep import IndexReport, ensure_vector_index

__all__ = [
    "DEFAULT_INDEX_SETTINGS",
    "FilterError",
    "Hits",
    "IndexReport",
    "IndexSettings",
    "Searcher",
    "UnknownItemError",
    "ensure_vector_index",
    "parse_where",
    "recall_at_k",
    "search_recall",
]
