"""How much does the quality report cost next to the autoencoder training it evaluates?

Both are timed in one run on the same synthetic image data set (10 classes of 16x16 grey
images drawn around class prototypes), and the ratio is printed. Wall-clock times on a
shared machine are noisy; the ratio is the figure to compare.

    python -m benchmarks.report_vs_training --items 1000000   # the default training budget
    python -m benchmarks.report_vs_training --quick       # 5,000 items, a smoke run
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from repr_assets.encoders.autoencoder import Autoencoder
from repr_assets.items.augment import image_augmentations
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.pipeline.embed import embedding_schema
from repr_assets.quality.encoder_report import evaluate_encoder
from repr_assets.stores.lance import LanceStore
from sample_sources import embedding_batches

SIZE = 16


def synthetic_images(n: int, seed: int = 0) -> tuple[np.ndarray, list[str]]:
    """``(n, SIZE * SIZE)`` float32 images in [0, 1] and their labels (10 classes)."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.linspace(-1, 1, SIZE), np.linspace(-1, 1, SIZE)), -1)
    centres = rng.uniform(-0.6, 0.6, size=(10, 3, 2))  # three blobs per class
    y = rng.integers(0, 10, size=n)
    jitter = rng.normal(0, 0.12, size=(n, 3, 2))
    X = np.zeros((n, SIZE, SIZE), dtype=np.float32)
    for blob in range(3):
        where = centres[y, blob] + jitter[:, blob]
        distance = np.sum((grid[None] - where[:, None, None, :]) ** 2, axis=-1)
        X += np.exp(-distance / 0.05).astype(np.float32)
    X += rng.normal(0, 0.05, size=X.shape).astype(np.float32)
    return np.clip(X, 0, 1).reshape(n, -1), [str(label) for label in y]


def write_embeddings(store: LanceStore, ids: list[str], labels: list[str], Z: np.ndarray) -> None:
    batches = embedding_batches(ids, list(labels), Z, model_version="bench")
    store.replace("bench_autoencoder", embedding_schema(Z.shape[1]), batches)


@dataclass
class ReportVsTraining:
    items: int
    features: int
    test_items: int
    training_s: float
    epochs: int
    report_s: float
    metrics: dict[str, float]

    @property
    def ratio(self) -> float:
        """The report's time over the training's: the goal is less than 1."""
        return self.report_s / self.training_s


def measure(items: int, epochs: int | None) -> ReportVsTraining:
    """Train the autoencoder on ``items`` synthetic images, then time its quality report.

    ``epochs=None`` trains as a default run does: at most 200 epochs within the default
    budget of samples seen (``TrainingConfig.max_samples``), early stopping on.
    """
    X, labels = synthetic_images(items)
    ids = [f"item-{i:07d}" for i in range(items)]
    test_mask = stratified_test_mask(ids, labels, seed=0)

    started = time.perf_counter()
    encoder = Autoencoder(seed=0) if epochs is None else Autoencoder(epochs=epochs, seed=0)
    encoder.fit(X[~test_mask])
    training = time.perf_counter() - started

    Z = encoder.transform(X)
    with tempfile.TemporaryDirectory() as folder:
        store = LanceStore(Path(folder))
        write_embeddings(store, ids, labels, Z)
        started = time.perf_counter()
        report = evaluate_encoder(
            encoder,
            X,
            Z,
            list(labels),
            test_mask,
            seed=0,
            augmentations=image_augmentations(SIZE),
            embeddings=store.dataset("bench_autoencoder"),
        )
        reporting = time.perf_counter() - started
    return ReportVsTraining(
        items=items,
        features=X.shape[1],
        test_items=int(test_mask.sum()),
        training_s=training,
        epochs=len(encoder.history_.train_loss),
        report_s=reporting,
        metrics=dict(report.values),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--epochs", type=int, default=None, help="default: the training budget")
    parser.add_argument("--quick", action="store_true", help="5,000 items and 5 epochs")
    args = parser.parse_args()
    if args.quick:
        args.items, args.epochs = 5_000, 5

    result = measure(args.items, args.epochs)
    print(f"{result.items:,} items of {result.features} features; {result.test_items:,} test items")
    training, epochs, reporting = result.training_s, result.epochs, result.report_s
    print(f"training:  {training:8.1f} s  ({epochs} epochs, {training / epochs:.2f} s/epoch)")
    print(f"report:    {reporting:8.1f} s  ({len(result.metrics)} metrics)")
    print(f"ratio report / training: {result.ratio:.2f}")
    print(f"ratio report / one training epoch: {reporting / (training / epochs):.2f}")
    for metric, value in sorted(result.metrics.items()):
        print(f"  {metric:<34}{value:10.4f}")


if __name__ == "__main__":
    main()
