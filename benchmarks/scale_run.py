"""The whole run at scale: ``repr-assets run`` on 100,000 and 1,000,000 synthetic rows.

Each size is a Parquet file of 64 numeric features with a low intrinsic dimension (8
latent factors through a fixed random linear map, plus a little noise) and a class
label read off the latent factors, written one row group at a time. The command runs
as a user runs it, in a fresh ``REPR_ASSETS_HOME``, and this reports its wall time, the
child's peak resident memory (``ru_maxrss``) and the time ratio of the largest size to
the smallest. Goals (issue 7): ratio at most 12 for 10x the items; peak at most 2 GB at
1M. Training epochs are the same for every size (``--epochs``), so the ratio measures
how the run scales, not how long a full training takes.

    python -m benchmarks.scale_run                         # 100,000 and 1,000,000 items
    python -m benchmarks.scale_run --items 100000 --epochs 5
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from benchmarks.cli_run import (
    latest_metrics,
    profile_table,
    repr_assets_command,
    run_cli,
    under_profiler,
    write_result,
)

FEATURES = 64
LATENT = 8
CLASSES = 10
ROW_GROUP = 50_000


def feature_names(features: int = FEATURES) -> list[str]:
    return [f"f{j:02d}" for j in range(features)]


def write_scale_parquet(
    path: Path,
    items: int,
    features: int = FEATURES,
    latent: int = LATENT,
    classes: int = CLASSES,
    seed: int = 0,
    row_group: int = ROW_GROUP,
) -> None:
    """``items`` rows of ``features`` float32 columns and a string ``label``.

    Rows are ``z @ W + noise`` with ``z`` ``(latent,)`` standard normal and a fixed ``W``;
    the label is the nearest of ``classes`` fixed prototypes in the latent space. One row
    group is built at a time, so memory does not grow with ``items``.
    """
    rng = np.random.default_rng(seed)
    mixing = rng.standard_normal((latent, features)) / np.sqrt(latent)
    prototypes = rng.standard_normal((classes, latent))
    names = feature_names(features)
    schema = pa.schema(
        [*(pa.field(n, pa.float32()) for n in names), pa.field("label", pa.string())]
    )
    with pq.ParquetWriter(path, schema) as writer:
        for start in range(0, items, row_group):
            rows = min(row_group, items - start)
            z = rng.standard_normal((rows, latent))
            x = (z @ mixing + 0.05 * rng.standard_normal((rows, features))).astype(np.float32)
            nearest = ((z[:, None, :] - prototypes[None]) ** 2).sum(axis=2).argmin(axis=1)
            label = pa.array(np.char.add("c", nearest.astype(str)).astype(object), pa.string())
            columns = [pa.array(x[:, j]) for j in range(features)]
            writer.write_table(pa.Table.from_arrays([*columns, label], schema=schema))


def scale_run(
    items: int,
    epochs: int | None,
    workdir: Path,
    profile: bool = False,
    encoders: str | None = None,
) -> dict[str, Any]:
    source = workdir / f"scale_{items}.parquet"
    write_scale_parquet(source, items)
    home = workdir / f"home_{items}"
    arguments = ["run", "--source", str(source), "--modality", "tabular", "--label-column"]
    command = repr_assets_command(*arguments, "label")
    if profile:
        command = under_profiler(command)
    command += ["--dataset", "scale"]
    if epochs is not None:
        # A budget no size reaches: every size trains for exactly these epochs.
        command += ["--epochs", str(epochs), "--max-samples", str(epochs * items)]
    if encoders is not None:
        command += ["--encoders", encoders]
    run = run_cli(command, home)
    result: dict[str, Any] = {
        "items": items,
        "exit": run.exit,
        "seconds": round(run.seconds, 1),
        "peak_rss_mib": round(run.peak_rss_mib),
        "ingest": run.lines_starting("items:"),
    }
    if profile:
        result["profile"] = profile_table(run)
    if run.exit:
        result["stderr"] = run.stderr[-3000:]
    else:
        result["metrics"] = latest_metrics(home, "scale")
    source.unlink()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument(
        "--epochs", type=int, default=5, help="training epochs, the same for every size"
    )
    parser.add_argument(
        "--profile", action="store_true", help="run under profile_run.py: RSS and time by step"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary one")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        for items in sorted(args.items):
            run = scale_run(items, args.epochs, Path(tmp), args.profile)
            print(
                f"{items:>10,} items: {run['seconds']:8.1f} s, peak RSS {run['peak_rss_mib']:,} MiB"
                f", exit {run['exit']}",
                flush=True,
            )
            runs.append(run)
            for line in run.get("profile", []):
                print("    " + line)
    result: dict[str, Any] = {
        "benchmark": "scale_run",
        "epochs": args.epochs,
        "note": f"every size trains for the same {args.epochs} epochs: the ratio measures "
        "scaling, not a full training",
        "runs": runs,
    }
    small, large = runs[0], runs[-1]
    if len(runs) > 1 and not small["exit"] and not large["exit"]:
        ratio = large["seconds"] / small["seconds"]
        growth = large["items"] / small["items"]
        result["time_ratio"] = round(ratio, 2)
        result["items_ratio"] = growth
        result["goal"] = "time ratio <= 12 for 10x items; peak RSS <= 2048 MiB at 1M"
        print(f"time ratio {ratio:.2f} for {growth:g}x the items (goal: at most 12 for 10x)")
    print(f"note: {result['note']}")
    print(f"written to {write_result('scale_run', result)}")


if __name__ == "__main__":
    main()
