"""Reading a Parquet source streams it: Arrow holds about one row group, not the file."""

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from repr_assets.sources.files import read_rows


def test_parquet_rows_hold_one_row_group_at_a_time(tmp_path: Path) -> None:
    path = tmp_path / "wide.parquet"
    names = [f"f{j}" for j in range(64)]
    rng = np.random.default_rng(0)  # random numbers: the file's pages do not compress
    with pq.ParquetWriter(path, pa.schema([pa.field(n, pa.float32()) for n in names])) as writer:
        for _ in range(20):
            values = rng.standard_normal((5_000, 64)).astype(np.float32)
            writer.write_table(pa.table({n: values[:, j] for j, n in enumerate(names)}))
    file_bytes = path.stat().st_size  # about 25.6 MB
    before = pa.total_allocated_bytes()
    peak, rows = 0, 0
    for raw in read_rows(path, batch_size=1024, max_bytes=1 << 30):
        rows += raw.table.num_rows
        peak = max(peak, pa.total_allocated_bytes() - before)
    assert rows == 100_000
    assert peak < file_bytes / 4
