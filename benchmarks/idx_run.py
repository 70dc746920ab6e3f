"""A real-sized image run: ``repr-assets run --source`` on a folder of 60,000 IDX images.

Builds ``--items`` 28x28 images (scikit-learn's digits, up-scaled, each shifted, rotated
and noised so that no two are alike) as gzipped MNIST-format files, ``train`` and
``t10k``, then times the command as a user runs it, in a fresh home, and reports its
peak resident memory (the child's ``ru_maxrss``), and writes the result as JSON to
``benchmarks/results/``.

    python -m benchmarks.idx_run --items 60000 [--epochs 200 --max-samples 100000000] [--profile]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from benchmarks.cli_run import (
    latest_metrics,
    profile_table,
    repr_assets_command,
    run_cli,
    under_profiler,
    write_result,
)
from repr_assets.items.augment import image_augmentations
from sample_sources import digit_images, write_idx


def synthetic_digits(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    base, labels = digit_images(1797, 28)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), count)
    augment = image_augmentations(28, max_shift=0.08, max_degrees=12, noise_std=0.03)["all"]
    generator = torch.Generator().manual_seed(seed)
    out = np.empty((count, 28, 28), np.uint8)
    for start in range(0, count, 5000):
        chunk = picks[start : start + 5000]
        moved = augment(base[chunk].reshape(len(chunk), -1) / 255.0, generator)
        out[start : start + len(chunk)] = np.rint(np.clip(moved, 0, 1) * 255).reshape(-1, 28, 28)
    return out, labels[picks]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=60_000)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument(
        "--max-samples", type=int, default=None, help="the training budget (see --max-samples)"
    )
    parser.add_argument(
        "--profile", action="store_true", help="run under profile_run.py: RSS and time by step"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images, labels = synthetic_digits(args.items)
        test = args.items // 7
        write_idx(root / "idx", "train", images[test:], labels[test:], gz=True)
        write_idx(root / "idx", "t10k", images[:test], labels[:test], gz=True)
        command = repr_assets_command("run", "--source", str(root / "idx"), "--dataset", "idx")
        if args.epochs:
            command += ["--epochs", str(args.epochs)]
        if args.max_samples:
            command += ["--max-samples", str(args.max_samples)]
        if args.profile:
            command = under_profiler(command)
        run = run_cli(command, root / "home")
        result = {
            "benchmark": "idx_run",
            "items": args.items,
            "exit": run.exit,
            "seconds": round(run.seconds, 1),
            "peak_rss_mib": round(run.peak_rss_mib),
            "ingest": run.lines_starting("items:"),
        }
        if args.profile:
            result["profile"] = profile_table(run)
        if run.exit:
            print(run.stderr[-3000:], file=sys.stderr)
        else:
            metrics = latest_metrics(root / "home", "idx")
            result["linear_probe_accuracy"] = [
                values.get("linear_probe_accuracy") for values in metrics.values()
            ]
            result["metrics"] = metrics
        print(json.dumps(result, indent=2))
        print(f"written to {write_result('idx_run', result)}")


if __name__ == "__main__":
    main()
