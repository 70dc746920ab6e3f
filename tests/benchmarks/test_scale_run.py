"""The scale benchmark: its synthetic Parquet file, and a tiny whole run through the CLI."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pyarrow.parquet as pq
import pytest

from tests.helpers import INTERFACE_METRICS


@pytest.fixture(scope="module")
def scale_run() -> ModuleType:
    from benchmarks import scale_run

    return scale_run


def test_generator_writes_the_declared_shape_in_row_groups(
    scale_run: ModuleType, tmp_path: Path
) -> None:
    path = tmp_path / "s.parquet"
    scale_run.write_scale_parquet(path, 2_500, row_group=1_000)
    file = pq.ParquetFile(path)
    assert file.metadata.num_rows == 2_500
    assert file.metadata.num_row_groups == 3
    table = file.read()
    assert table.column_names == [*scale_run.feature_names(), "label"]
    X = np.column_stack([table.column(n).to_numpy() for n in scale_run.feature_names()])
    assert X.shape == (2_500, 64) and X.dtype == np.float32
    # Low intrinsic dimension: 8 factors carry nearly all the variance.
    variances = np.linalg.svd(X - X.mean(axis=0), compute_uv=False) ** 2
    assert variances[:8].sum() / variances.sum() > 0.99
    assert 2 <= len(set(table.column("label").to_pylist())) <= 10
    # Seeded: the same file twice.
    again = tmp_path / "again.parquet"
    scale_run.write_scale_parquet(again, 2_500, row_group=1_000)
    assert pq.read_table(again).equals(table)


def test_a_tiny_scale_run_writes_every_metric(scale_run: ModuleType, tmp_path: Path) -> None:
    result = scale_run.scale_run(600, epochs=None, workdir=tmp_path, encoders="pca", profile=True)
    assert result["exit"] == 0, result.get("stderr")
    # Under profile_run.py: one line per step with its time, starting and peak RSS.
    table = result["profile"]
    assert table[0].startswith("exit 0;") and "start MiB" in table[1]
    steps = {line.split()[0]: line.split()[1:4] for line in table[2:]}
    # Steps are sampled every 0.2 s: at 600 rows only the longest, the report (about a
    # second), is sure to be seen; PCA's fit of 600 rows can fall between two samples.
    assert "quality_report" in steps
    assert all(0 < float(start) <= float(peak) for _, start, peak in steps.values())
    [ingest] = result["ingest"]
    assert ingest.endswith(
        "600 entries read: 600 new, 0 ingested before, 0 duplicates dropped, 0 set aside"
    )
    assert result["peak_rss_mib"] > 0
    assert set(result["metrics"]) == {"pca", "features"}  # and the raw features' baselines
    assert set(result["metrics"]["pca"]) == INTERFACE_METRICS
