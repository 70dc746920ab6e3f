"""The GPU path, checked in one short run: training and embedding rates on the GPU against
the CPU, and whether a GPU-trained model is as good as a CPU-trained one.

Run by ``benchmarks/gpu_check.sh``. Both devices train the same autoencoder on the same
synthetic digits (scikit-learn's, up-scaled to 28x28 with noise: nothing is downloaded)
in the same process, so the ratios hold even on a noisy machine. The CPU side uses
``--cpu-threads`` (2: what a 2-core machine does). Goals (issue 7): GPU training at least
20x the CPU's samples/s on one H200, and linear-probe accuracy within 0.01 of the CPU
model's. Without a CUDA device the CPU side still runs and the GPU figures are skipped.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from repr_assets.encoders.autoencoder import Autoencoder, AutoencoderConfig
from repr_assets.encoders.training import cpu_threads
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.metrics.probes import linear_probe_accuracy
from sample_sources import digit_images

ROOT = Path(__file__).resolve().parents[1]

TRAINING_GOAL = 20.0  # GPU samples/s over 2-core CPU samples/s, on one H200
ACCURACY_GOAL = 0.01  # largest |GPU probe accuracy - CPU probe accuracy|


@dataclass(frozen=True)
class Sizes:
    rows: int
    epochs: int


GPU_SIZES = Sizes(rows=70_000, epochs=10)
CPU_ONLY_SIZES = Sizes(rows=6_000, epochs=2)  # CI: the CPU side only, in seconds


def digits(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``(rows, 784)`` float32 pixels in [0, 1] and their labels: scikit-learn's 1,797
    digits up-scaled to 28x28, each drawn copy with its own noise."""
    base, labels = digit_images(1797, 28)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(base), rows)
    noise = rng.integers(-12, 13, size=(rows, 28, 28), dtype=np.int16)
    pixels = np.clip(base[picks].astype(np.int16) + noise, 0, 255).astype(np.uint8)
    return pixels.reshape(rows, -1).astype(np.float32) / np.float32(255.0), labels[picks]


def _synchronise(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _train(X: np.ndarray, device: str, settings: AutoencoderConfig) -> tuple[Autoencoder, float]:
    """A fitted autoencoder and its training rate in samples/s (every epoch runs)."""
    encoder = Autoencoder(replace(settings, device=device))
    _synchronise(device)
    started = time.perf_counter()
    encoder.fit(X)
    _synchronise(device)
    seconds = time.perf_counter() - started
    n_train = len(X) - max(1, round(len(X) * encoder.config.validation_fraction))
    return encoder, n_train * len(encoder.history_.train_loss) / seconds


def _embed_rate(encoder: Autoencoder, X: np.ndarray, device: str) -> tuple[np.ndarray, float]:
    """The codes of ``X`` and the rate (items/s) of encoding them on ``device``, from host
    memory to host memory, as ``embed_items`` does."""
    encoder.config = replace(encoder.config, device=device)
    encoder.transform(X[:1024])  # the first call pays for moving the model and kernels
    _synchronise(device)
    started = time.perf_counter()
    codes = encoder.transform(X)
    _synchronise(device)
    return codes, len(X) / (time.perf_counter() - started)


def _same_steps(settings: AutoencoderConfig, device: str) -> AutoencoderConfig:
    """``settings`` for ``device``: on CUDA, batches are ``gpu_batch_size`` rows, so the
    GPU model trains for as many more epochs as make the same number of optimiser steps
    as the CPU's (cheap there). Its accuracy then shows what bf16 and large batches cost,
    not what fewer steps do."""
    if device != "cuda":
        return settings
    steps_per_batch = max(1, settings.gpu_batch_size // settings.batch_size)
    epochs = settings.epochs * steps_per_batch
    return replace(settings, epochs=epochs, patience=epochs + 1)


def _cuda_status() -> str | None:
    """Why the GPU part cannot run, or ``None`` when it can."""
    if torch.cuda.is_available():
        return None
    if torch.version.cuda is None:
        return (
            f"torch {torch.__version__} is a CPU-only build (on a GPU machine, run "
            'TORCH_SPEC="torch==... --index-url ..." bash benchmarks/gpu_check.sh)'
        )
    return "torch sees no CUDA device"


def run_check(sizes: Sizes, threads: int = 2, seed: int = 0) -> dict[str, Any]:
    """Train, embed and probe on the CPU and (when there is one) the GPU; the figures."""
    X, y = digits(sizes.rows, seed)
    ids = [f"item-{i}" for i in range(len(y))]
    test = stratified_test_mask(ids, [str(label) for label in y], seed)
    # Every epoch runs (no early stopping), so both devices do the same work.
    settings = AutoencoderConfig(
        latent_dim=16,
        hidden_dims=(256, 128),
        validation_fraction=0.1,
        epochs=sizes.epochs,
        patience=sizes.epochs + 1,
        seed=seed,
        cpu_threads=threads,
    )
    skipped = _cuda_status()
    devices = ["cpu"] if skipped else ["cpu", "cuda"]
    result: dict[str, Any] = {
        "rows": len(X),
        "features": X.shape[1],
        "epochs": sizes.epochs,
        "cpu_threads": threads,
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name(0) if not skipped else None,
        "gpu_skipped": skipped,
    }
    for device in devices:
        # The first fit in a process pays one-time set-up (kernels, allocator): not timed.
        _train(X[:2048], device, replace(settings, epochs=1, patience=2))
        with cpu_threads(threads if device == "cpu" else None):
            encoder, train_rate = _train(X, device, _same_steps(settings, device))
            codes, embed_rate = _embed_rate(encoder, X, device)
        result[f"{device}_train_samples_per_s"] = train_rate
        result[f"{device}_embed_items_per_s"] = embed_rate
        result[f"{device}_probe_accuracy"] = linear_probe_accuracy(codes, y, test)
        result[f"{device}_final_validation_loss"] = encoder.history_.validation_loss[-1]
        result[f"{device}_epochs"] = len(encoder.history_.train_loss)
    if skipped:
        result.update(train_ratio=None, embed_ratio=None, accuracy_difference=None)
        result.update(train_goal_met=None, accuracy_goal_met=None)
    else:
        for figure, unit in (("train", "samples"), ("embed", "items")):
            rates = [result[f"{device}_{figure}_{unit}_per_s"] for device in ("cuda", "cpu")]
            result[f"{figure}_ratio"] = rates[0] / rates[1]
        result["accuracy_difference"] = abs(
            result["cuda_probe_accuracy"] - result["cpu_probe_accuracy"]
        )
        result["train_goal_met"] = result["train_ratio"] >= TRAINING_GOAL
        result["accuracy_goal_met"] = result["accuracy_difference"] <= ACCURACY_GOAL
    return result


def report(result: dict[str, Any]) -> str:
    """The figures as the lines the script prints."""
    threads = result["cpu_threads"]
    lines = [
        f"GPU check: {result['rows']:,} x {result['features']} digits, autoencoder "
        f"784-256-128-16, {result['epochs']} epochs, torch {result['torch']}",
        f"  CPU ({threads} threads) training  {result['cpu_train_samples_per_s']:>12,.0f} "
        "samples/s",
    ]
    if result["gpu_skipped"]:
        lines += [
            f"  CPU ({threads} threads) embedding {result['cpu_embed_items_per_s']:>12,.0f} "
            "items/s",
            f"  CPU linear-probe accuracy      {result['cpu_probe_accuracy']:.4f}",
            f"GPU parts skipped: {result['gpu_skipped']}",
        ]
        return "\n".join(lines)
    met = {True: "met", False: "NOT met"}
    lines += [
        f"  GPU training                   {result['cuda_train_samples_per_s']:>12,.0f} "
        f"samples/s  = {result['train_ratio']:.1f}x the CPU (goal >= {TRAINING_GOAL:.0f}x: "
        f"{met[result['train_goal_met']]}); {result['gpu']}",
        f"  CPU ({threads} threads) embedding {result['cpu_embed_items_per_s']:>12,.0f} items/s",
        f"  GPU embedding                  {result['cuda_embed_items_per_s']:>12,.0f} items/s"
        f"  = {result['embed_ratio']:.1f}x the CPU",
        f"  linear-probe accuracy: CPU-trained {result['cpu_probe_accuracy']:.4f} "
        f"({result['cpu_epochs']} epochs), GPU-trained {result['cuda_probe_accuracy']:.4f} "
        f"({result['cuda_epochs']} epochs, the same steps), difference "
        f"{result['accuracy_difference']:.4f} (goal <= {ACCURACY_GOAL}: "
        f"{met[result['accuracy_goal_met']]})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, help="default: 70,000 with a GPU, 6,000 without")
    parser.add_argument("--epochs", type=int, help="default: 10 with a GPU, 2 without")
    parser.add_argument("--cpu-threads", type=int, default=2)
    parser.add_argument("--results-dir", type=Path, default=ROOT / "benchmarks" / "results")
    args = parser.parse_args(argv)
    default = GPU_SIZES if torch.cuda.is_available() else CPU_ONLY_SIZES
    sizes = Sizes(args.rows or default.rows, args.epochs or default.epochs)
    result = run_check(sizes, threads=args.cpu_threads)
    print(report(result))
    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    path = args.results_dir / f"gpu_check-{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {path}")
    return result


if __name__ == "__main__":
    main()
