"""How much of exact search the search path finds: recall@k over seeded queries."""

from __future__ import annotations

from repr_assets.items.sampling import seeded_sample
from repr_assets.search.hits import recall_at_k
from repr_assets.search.index import DEFAULT_INDEX_SETTINGS, IndexSettings
from repr_assets.search.searcher import Searcher
from repr_assets.stores.lance import KEY, LanceStore


def search_recall(
    store: LanceStore,
    table_name: str,
    k: int = 10,
    queries: int = 200,
    seed: int = 0,
    settings: IndexSettings = DEFAULT_INDEX_SETTINGS,
    served: bool = True,
) -> float | None:
    """Recall@k of the path ``repr-assets search`` takes on the table, against exact search.

    The queries are ``queries`` items of the table drawn with ``seed``, each searched by
    its id (leaving itself out), as ``repr-assets search --id`` does. When that path is
    exact, as for any table below ``settings.min_rows`` rows, the answer is 1.0 by
    construction and nothing is searched. ``None`` when the table has fewer than two
    rows, so that no item has a neighbour. ``served=False`` measures the newest version
    (the one a quality report judges) instead of the served one.
    """
    searcher = Searcher(store, table_name, settings=settings, served=served)
    if searcher.rows < 2:
        return None
    if searcher.path == "exact":
        return 1.0
    positions = seeded_sample(searcher.rows, queries, seed)
    item_ids = searcher.dataset.take(positions, columns=[KEY]).column(KEY).to_pylist()
    exact = Searcher(store, table_name, exact=True, settings=settings, served=served)
    return recall_at_k(searcher.search_ids(item_ids, k), exact.search_ids(item_ids, k))
