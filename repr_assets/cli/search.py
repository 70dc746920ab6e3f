"""``repr-assets search``: nearest neighbours of an item, a vector, a new image or a text."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from repr_assets.cli.common import UsageError
from repr_assets.cli.output import aligned
from repr_assets.datasets.errors import UnknownDatasetError
from repr_assets.home import Home, home_from_environment
from repr_assets.names import embeddings_table, items_table
from repr_assets.search import FilterError, Hits, Searcher, UnknownItemError, parse_where
from repr_assets.search.directions import search_direction
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import served_version


def main(args: argparse.Namespace) -> int:
    home = home_from_environment()
    table = embeddings_table(args.dataset, args.encoder)
    try:
        where = [parse_where(text) for text in args.where]
        # Checked before connecting, which would create the database folder.
        store = LanceStore.of(home) if home.has_lancedb() else None
        if store is None or not store.exists(table):
            raise UsageError(_no_table(home, args.dataset, args.encoder, table))
        searcher = Searcher(store, table, exact=args.exact)
        query = args.item_id if args.item_id is not None else _query_vector(args, store, home)
        if args.minus or args.plus:
            hits = search_direction(searcher, query, args.minus, args.plus, args.k, where)
        elif args.item_id is not None:
            hits = searcher.search_ids([args.item_id], args.k, where)[0]
        else:
            hits = searcher.search(query, args.k, where)[0]
    except UnknownItemError as error:
        # Only the query item can be one a newer, unserved version holds, when it is the
        # one missing: an unknown --minus or --plus item is named as it is.
        query_missing = error.item_id in (None, args.item_id)
        served_why = _not_served(home, store, args, table) if query_missing else None
        raise UsageError(served_why or str(error)) from None
    except (FilterError, UnknownDatasetError, ValueError) as error:
        raise UsageError(str(error)) from None
    _warn_if_never_published(home, store, args.dataset, args.encoder)
    records = hits.records()
    refs = _refs(store, args.dataset, hits)
    if refs is not None:
        for record, ref in zip(records, refs, strict=True):
            record["ref"] = ref
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    header = ["rank", "distance", "label", "item_id", *(["ref"] if refs is not None else [])]
    rows = [
        [
            str(rank),
            f"{hit['distance']:.4f}",
            "NULL" if hit["label"] is None else str(hit["label"]),
            hit["item_id"],
            *([str(hit["ref"])] if refs is not None else []),
        ]
        for rank, hit in enumerate(records, start=1)
    ]
    print(aligned(header, rows, right=[True, True] + [False] * (len(header) - 2)))
    if not rows:
        print("(0 hits)")
    return 0


def _no_table(home: Home, dataset: str, encoder: str, table: str) -> str:
    """Why there is no table to search, with a command that makes one where there is."""
    from repr_assets.datasets.catalog import Catalog, declared_file

    catalog = Catalog(home, declared_file())
    if dataset not in catalog.names():
        return (
            f"unknown data set {dataset!r}: the data sets are {', '.join(catalog.names())}; "
            "a new one needs `repr-assets run --source PATH`"
        )
    return (
        f"no embeddings table {table!r} under {home.lancedb}: "
        f"run `repr-assets run --dataset {dataset} --encoders {encoder}` first"
    )


def _not_served(
    home: Home, store: LanceStore | None, args: argparse.Namespace, table: str
) -> str | None:
    """Why an item that the served version lacks is missing, when a newer version holds
    it: the last publish decision (a model held back by its checks, or a rollback)."""
    if store is None or args.item_id is None:
        return None
    served = served_version(store.dataset(table))
    if served is None or not store.take(table, [args.item_id], columns=["item_id"]).num_rows:
        return None
    why = "see `repr-assets report`"
    last = _last_publication(home, args.dataset, args.encoder)
    if last is not None and last[1] in ("hold", "rollback"):
        why = f"{last[1]}: {last[2]}"
    return (
        f"item {args.item_id!r} is in version {store.dataset(table).version} of {table!r}, "
        f"which is not served; searches read version {served} ({why})"
    )


def _last_publication(home: Home, dataset: str, encoder: str) -> tuple[int, str, str] | None:
    """The newest publish decision for the table, if the reports can be read now."""
    if not home.reports.exists():
        return None
    # Only a search that needs a reason reads the reports: DuckDB is not imported otherwise.
    import duckdb

    from repr_assets.stores.duckdb_file import connect
    from repr_assets.stores.publications import last_publication

    try:
        with connect(home.reports, read_only=True, wait=5.0) as connection:
            return last_publication(connection, dataset, encoder)
    except duckdb.Error:
        return None  # a run is writing the reports: a plainer message, not a failure


def _query_vector(args: argparse.Namespace, store: LanceStore, home: Home) -> Any:
    """The query vector of ``--vector``, ``--file`` or ``--text``."""
    if args.vector is not None:
        try:
            vector = json.loads(args.vector)
        except json.JSONDecodeError:
            vector = None
        if not isinstance(vector, list) or not all(
            isinstance(x, int | float) and not isinstance(x, bool) for x in vector
        ):
            raise UsageError(f"--vector expects a JSON array of numbers, got {args.vector!r}")
        return np.asarray(vector, dtype=np.float64)
    # Featurising a raw item needs the fitted featuriser and model: torch, for some.
    from repr_assets.datasets.catalog import Catalog, declared_file
    from repr_assets.search.raw import ImageFile, Text, encode_raw
    from repr_assets.stores.models import ModelStore

    spec = Catalog(home, declared_file()).get(args.dataset)
    raw = ImageFile(Path(args.file)) if args.file is not None else Text(args.text)
    return encode_raw(spec, args.encoder, raw, store, ModelStore(home.models))


def _refs(store: LanceStore, dataset: str, hits: Hits) -> list[str | None] | None:
    """Where each hit came from (its file, or file and row), for items that record it."""
    table = items_table(dataset)
    if not len(hits) or not store.exists(table) or "ref" not in store.dataset(table).schema.names:
        return None
    found = store.take(table, hits.item_ids, columns=["item_id", "ref"])
    ids, refs = found.column("item_id").to_pylist(), found.column("ref").to_pylist()
    ref_of = dict(zip(ids, refs, strict=True))
    return [ref_of.get(item_id) for item_id in hits.item_ids]


def _warn_if_never_published(home: Home, store: LanceStore, dataset: str, encoder: str) -> None:
    """A table that was never published is read at its newest version; when that
    version's model was held back, say so: these hits come from a model that failed."""
    table = embeddings_table(dataset, encoder)
    if served_version(store.dataset(table)) is not None:
        return
    last = _last_publication(home, dataset, encoder)
    if last is not None and last[1] == "hold":
        print(
            f"repr-assets: warning: {table} was never published: its model was held back "
            f"({last[2]}); these hits come from its newest version",
            file=sys.stderr,
        )
