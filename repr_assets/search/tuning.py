"""How deep the ANN index is probed: the cheapest setting that reaches a target recall.

IVF_SQ's recall depends on the data: on one table 12% of the partitions and 3 x k
re-ranked candidates find 98% of the exact neighbours, on another far fewer (LanceDB users
meet this as "poor recall with the default parameters", lance-format/lance#4094). So when
the index is built (or extended), ``repr_assets.search.upkeep.tune`` measures it: seeded
items of the table are searched by id, as ``repr-assets search --id`` does, against exact
search, for each refine factor with the fewest partitions that reach the target, and the
fastest of those settings is kept. It is stored in the table's Lance config with the ids of
the index it was measured on, so that every reader of that version (search, the report's
recall) uses it, and a later index is never probed by an earlier one's choice.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass

import lance

from repr_assets.search.index import INDEX_NAME, VECTOR_COLUMN

CONFIG_KEY = "repr_assets.ann_tuning"
REFINE_FACTORS = (1, 2, 4, 8)
"""Candidates re-ranked exactly, as multiples of k: more finds the true neighbours among
the index's quantised ranking at the cost of reading their vectors."""
TUNING_QUERIES = 200
TUNING_K = 10


@dataclass(frozen=True)
class AnnTuning:
    """The probe depth chosen for one index, and what it reached when measured."""

    nprobes: int
    refine_factor: int
    partitions: int
    target_recall: float
    recall: float
    queries: int
    ms_per_query: float
    index: tuple[str, ...]
    """The ids of the index segments it was measured on."""

    @property
    def reached(self) -> bool:
        return self.recall >= self.target_recall

    def describe(self) -> str:
        """``nprobes 9 of 123, refine x2: recall@10 0.962 >= 0.95 (200 seeded queries,
        1.8 ms each)``."""
        verdict = ">=" if self.reached else "< (not reached, even probing every partition)"
        return (
            f"nprobes {self.nprobes} of {self.partitions}, refine x{self.refine_factor}: "
            f"recall@{TUNING_K} {self.recall:.3f} {verdict} {self.target_recall:g} "
            f"({self.queries} seeded queries, {self.ms_per_query:.1f} ms each)"
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> AnnTuning:
        values = json.loads(text)
        return cls(**{**values, "index": tuple(values["index"])})


def index_ids(dataset: lance.LanceDataset) -> tuple[str, ...]:
    """The segments of the vector index of ``dataset`` (several after rows were added)."""
    return tuple(
        sorted(
            index["uuid"]
            for index in dataset.list_indices()
            if index["name"] == INDEX_NAME and index["fields"] == [VECTOR_COLUMN]
        )
    )


def stored_tuning(dataset: lance.LanceDataset) -> AnnTuning | None:
    """The tuning stored with this version's index; ``None`` when there is none, or when
    it was measured on another index (one since rebuilt or extended)."""
    text = dataset.config().get(CONFIG_KEY)
    if text is None:
        return None
    try:
        tuning = AnnTuning.from_json(text)
    except (ValueError, TypeError, KeyError):
        return None  # written by another version of this code: tuned again at the next build
    return tuning if tuning.index == index_ids(dataset) else None


def store_tuning(dataset: lance.LanceDataset, tuning: AnnTuning) -> None:
    """Write ``tuning`` into the table's config: one commit, which keeps every row and index."""
    dataset.update_config({CONFIG_KEY: tuning.to_json()})


def probe_counts(partitions: int) -> list[int]:
    """The probe depths tried, shallowest first: doubling from 1, then every partition."""
    counts = []
    probes = 1
    while probes < partitions:
        counts.append(probes)
        probes *= 2
    return [*counts, partitions]
