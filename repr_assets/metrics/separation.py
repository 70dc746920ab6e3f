"""Cluster separation, computed in DuckDB SQL over a LanceDB table read in place."""

from __future__ import annotations

import math

import duckdb
import pyarrow.dataset as ds

# Centroids are averaged component by component (unnest with the component's position,
# then list() in position order), all in DOUBLE. Zero vectors have no direction and are
# left out; so are classes with no spread (a single item), whose ratio is infinite.
CLUSTER_SEPARATION_SQL = """
WITH labelled AS (
    SELECT label, vector::DOUBLE[] AS v FROM embeddings
    WHERE label IS NOT NULL AND list_dot_product(vector::DOUBLE[], vector::DOUBLE[]) > 0
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
SELECT avg(between / within) FILTER (WHERE within > 0),
       count(*),
       count(*) FILTER (WHERE within > 0)
FROM nearest JOIN spread USING (label)
"""


def cluster_separation(embeddings: ds.Dataset) -> float:
    """Mean over classes of (cosine distance from the class centroid to the nearest other
    centroid) / (mean cosine distance of the class's items to their own centroid).

    ``embeddings``: an Arrow dataset (a Lance dataset is one) with ``label`` and
    ``vector`` columns; DuckDB scans it in place. Unlabelled rows and zero vectors are
    ignored, and so are classes whose items all lie on their centroid's direction.
    """
    with duckdb.connect() as connection:
        connection.register("embeddings", embeddings)
        row = connection.execute(CLUSTER_SEPARATION_SQL).fetchone()
    assert row is not None
    value, classes, spread_classes = row
    if not classes or classes < 2:
        raise ValueError("cluster separation needs at least two labelled classes")
    if not spread_classes or value is None or not math.isfinite(value):
        raise ValueError(
            "cluster separation is undefined: in every class the items all lie in the "
            "direction of their centroid"
        )
    return float(value)
