"""Cluster separation, computed in DuckDB SQL over a LanceDB table read in place."""

from __future__ import annotations

import math

import duckdb
import pyarrow.dataset as ds

# Centroids are averaged component by component (unnest with the component's position,
# then list() in position order), all in DOUBLE.
CLUSTER_SEPARATION_SQL = """
WITH labelled AS (
    SELECT label, vector::DOUBLE[] AS v FROM embeddings WHERE label IS NOT NULL
),
components AS (
    SELECT label, unnest(generate_series(1, len(v))) AS position, unnest(v) AS x
    FROM labelled
),
centroids AS (
    SELECT label, list(mean ORDER BY position) AS centroid
    FROM (SELECT label, position, avg(x) AS mean FROM components GROUP BY label, position)
    GROUP BY label
),
spread AS (
    SELECT label, avg(list_cosine_distance(v, centroid)) AS within
    FROM labelled JOIN centroids USING (label)
    GROUP BY label
),
nearest AS (
    SELECT a.label, min(list_cosine_distance(a.centroid, b.centroid)) AS between
    FROM centroids a JOIN centroids b ON a.label <> b.label
    GROUP BY a.label
)
SELECT avg(between / within), count(*), min(within) FROM nearest JOIN spread USING (label)
"""


def cluster_separation(embeddings: ds.Dataset) -> float:
    """Mean over classes of (cosine distance from the class centroid to the nearest other
    centroid) / (mean cosine distance of the class's items to their own centroid).

    ``embeddings``: an Arrow dataset (a Lance dataset is one) with ``label`` and
    ``vector`` columns; DuckDB scans it in place. Unlabelled rows are ignored.
    """
    with duckdb.connect() as connection:
        connection.register("embeddings", embeddings)
        row = connection.execute(CLUSTER_SEPARATION_SQL).fetchone()
    assert row is not None
    value, classes, smallest_spread = row
    if not classes or classes < 2:
        raise ValueError("cluster separation needs at least two labelled classes")
    if smallest_spread == 0 or value is None or not math.isfinite(value):
        raise ValueError("cluster separation is undefined: a class's items all equal its centroid")
    return float(value)
