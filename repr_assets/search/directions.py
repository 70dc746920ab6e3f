"""Direction queries: the neighbours of z(A) − z(B) + z(C), the seed's king − man + woman."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from repr_assets.search.hits import Hits
from repr_assets.search.searcher import Searcher, Where


def search_direction(
    searcher: Searcher,
    query: np.ndarray | str,
    minus: Sequence[str] = (),
    plus: Sequence[str] = (),
    k: int = 10,
    where: Where = (),
) -> Hits:
    """The ``k`` nearest items to ``query − Σ minus + Σ plus``, every vector at unit
    length first (word2vec's 3CosAdd: king − man + woman ≈ queen). ``query`` is an
    item id or a ``(d,)`` vector; the items named (the query item, ``minus`` and
    ``plus``) are left out of the hits, as a search by id leaves its item out."""
    named = [*([query] if isinstance(query, str) else []), *minus, *plus]
    vectors = searcher.vectors_of(named) if named else np.zeros((0, searcher.dim), np.float32)
    if isinstance(query, str):
        start, vectors = vectors[0], vectors[1:]
    else:
        start = searcher.unit_queries(query)[0]
    combined = start - vectors[: len(minus)].sum(axis=0) + vectors[len(minus) :].sum(axis=0)
    if not np.linalg.norm(combined) > 1e-6:
        raise ValueError("the direction cancels out: there is no direction to search by")
    # Enough more than k that k remain once the named items are left out.
    left_out = set(named)
    found = searcher.search(combined, k + len(left_out), where)[0]
    keep = [i for i, item_id in enumerate(found.item_ids) if item_id not in left_out][:k]
    return found.take(keep)
