"""The quality report of one encoder: the metrics of docs/interface.md (the README's
table lists them).

Supervised metrics need labels: they are left out, with a note saying why, when no item
is labelled or when there is a single class. Sampled metrics draw their samples from the
data set's seed, so a report is reproducible.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow.dataset as ds

from repr_assets.encoders.kind import Encoder
from repr_assets.items.augment import Augmentation
from repr_assets.items.sampling import seeded_sample
from repr_assets.metrics.clustering import (
    calinski_harabasz,
    davies_bouldin,
    kmeans_agreement,
    silhouette,
)
from repr_assets.metrics.disentanglement import dci, mig, sap
from repr_assets.metrics.factors import Factor
from repr_assets.metrics.manifold import (
    INTRINSIC_MAX_ITEMS,
    continuity,
    factor_r2,
    intrinsic_dimension,
)
from repr_assets.metrics.probes import (
    KNN_MAX_NEIGHBOURS,
    PROBE_MAX_TRAIN,
    knn_accuracy,
    linear_probe_accuracy,
    majority_class_share,
    raw_probe_accuracy,
)
from repr_assets.metrics.reconstruction import explained_variance, reconstruction_mse
from repr_assets.metrics.separation import cluster_separation
from repr_assets.metrics.spectrum import effective_rank
from repr_assets.metrics.trustworthiness import TRUSTWORTHINESS_MAX_ITEMS, trustworthiness
from repr_assets.quality.invariance_report import invariance_metrics
from repr_assets.quality.thresholds import FEATURE_COUNT, MAJORITY_SHARE, RAW_PROBE

# What a check metric that is not finite is written as: the worst value a float can
# hold. A decoder that overflows has an explained variance of -inf; left out, its check
# would have nothing to fail on, and a diverged model would be served.
WORST = {
    "explained_variance": -sys.float_info.max,
    "effective_rank": 0.0,
    "linear_probe_accuracy": 0.0,
}


@dataclass
class EncoderReport:
    values: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, metric: str, value: float) -> None:
        """Record ``value``; never a NaN or an infinity (see ``WORST``)."""
        if math.isfinite(value):
            self.values[metric] = float(value)
        elif metric in WORST:
            self.values[metric] = WORST[metric]
            self.notes.append(
                f"{metric} is {value}: written as {WORST[metric]:.4g}, so that its check fails"
            )
        else:
            self.notes.append(f"{metric} is {value} and was left out")


def evaluate_encoder(
    encoder: Encoder,
    X: np.ndarray,
    Z: np.ndarray,
    labels: Sequence[str | None],
    test_mask: np.ndarray,
    seed: int,
    augmentations: Mapping[str, Augmentation] | None = None,
    embeddings: ds.Dataset | None = None,
    inputs: np.ndarray | None = None,
) -> EncoderReport:
    """Metric values for features ``X`` ``(n, f)`` and their codes ``Z`` ``(n, d)``.

    Rows of ``X``, ``Z``, ``labels`` and ``test_mask`` describe the same items in the same
    order. ``augmentations`` (name -> augmentation; ``"all"`` is the composed one) give the
    invariance metrics; ``embeddings``, the stored table, gives ``cluster_separation``
    computed in DuckDB. ``inputs`` are what the encoder reads when that is not ``X`` (the
    raw texts of a pretrained text encoder): the augmentations then change those. An
    encoder without a decoder (``reconstructs = False``) gets no reconstruction metrics.

    The same as ``add_input_metrics`` then ``add_code_metrics``, which a caller holding
    several encoders' codes can run in two passes, the features freed between them.
    """
    report = EncoderReport()
    add_input_metrics(report, encoder, X, Z, test_mask, seed, augmentations, inputs)
    add_code_metrics(report, Z, labels, test_mask, seed, embeddings)
    return report


def add_input_metrics(
    report: EncoderReport,
    encoder: Encoder,
    X: np.ndarray,
    Z: np.ndarray,
    test_mask: np.ndarray,
    seed: int,
    augmentations: Mapping[str, Augmentation] | None = None,
    inputs: np.ndarray | None = None,
) -> None:
    """The metrics that read the features or the encoder: reconstruction, trustworthiness
    and invariance (arguments as for ``evaluate_encoder``)."""
    if not (len(X) == len(Z) == len(test_mask)):
        raise ValueError("features, codes, labels and test mask must describe the same items")
    if getattr(encoder, "reconstructs", True):
        _reconstruction(report, encoder, X[test_mask])
    _trustworthiness(report, X, Z, seed)
    if augmentations:
        inputs = X if inputs is None else inputs
        values, notes = invariance_metrics(encoder, inputs, Z, augmentations, seed)
        for metric, value in values.items():
            report.add(metric, value)
        report.notes.extend(notes)


def add_code_metrics(
    report: EncoderReport,
    Z: np.ndarray,
    labels: Sequence[str | None],
    test_mask: np.ndarray,
    seed: int,
    embeddings: ds.Dataset | None = None,
) -> None:
    """The metrics of the codes alone: effective rank, class separation and the probes."""
    if not (len(Z) == len(labels) == len(test_mask)):
        raise ValueError("features, codes, labels and test mask must describe the same items")
    report.add("effective_rank", effective_rank(Z))
    _intrinsic_dimension(report, Z, seed)
    _supervised(report, Z, labels, test_mask, seed, embeddings)


def add_factor_metrics(
    report: EncoderReport,
    Z: np.ndarray,
    factors: Sequence[Factor],
    test_mask: np.ndarray,
    seed: int,
) -> None:
    """How the codes ``Z`` ``(n, d)`` hold the data set's factors (rows as in ``Z``): the
    disentanglement metrics, and the linear read-out of the numeric ones (``factor_r2``)."""
    report.add("mig", mig(Z, factors))
    report.add("sap", sap(Z, factors))
    try:
        for metric, value in dci(Z, factors, test_mask, seed).items():
            report.add(metric, value)
    except ValueError as error:
        report.notes.append(f"DCI left out: {error}")
    recovered = factor_r2(Z, factors, test_mask) if test_mask.any() else None
    if recovered is not None:
        report.add("factor_r2", recovered)


def _intrinsic_dimension(report: EncoderReport, X: np.ndarray, seed: int) -> None:
    sample = seeded_sample(len(X), INTRINSIC_MAX_ITEMS, seed)
    try:
        report.add("intrinsic_dimension", intrinsic_dimension(X[sample]))
    except ValueError as error:
        report.notes.append(f"intrinsic_dimension left out: {error}")


def _reconstruction(report: EncoderReport, encoder: Any, X_test: np.ndarray) -> None:
    """``encoder`` has a decoder (``inverse_transform``): its kind ``reconstructs``."""
    if len(X_test) == 0:
        report.notes.append("no test items: reconstruction metrics left out")
        return
    X_hat = encoder.inverse_transform(encoder.transform(X_test))
    report.add("reconstruction_mse", reconstruction_mse(X_test, X_hat))
    try:
        report.add("explained_variance", explained_variance(X_test, X_hat))
    except ValueError as error:
        report.notes.append(str(error))


def _trustworthiness(report: EncoderReport, X: np.ndarray, Z: np.ndarray, seed: int) -> None:
    """Trustworthiness and its twin, continuity, on one seeded sample."""
    sample = seeded_sample(len(X), TRUSTWORTHINESS_MAX_ITEMS, seed)
    try:
        report.add("trustworthiness", trustworthiness(X[sample], Z[sample], n_neighbors=10))
        report.add("continuity", continuity(X[sample], Z[sample], n_neighbors=10))
    except ValueError as error:
        report.notes.append(f"trustworthiness and continuity left out: {error}")


def _supervised(
    report: EncoderReport,
    Z: np.ndarray,
    labels: Sequence[str | None],
    test_mask: np.ndarray,
    seed: int,
    embeddings: ds.Dataset | None,
) -> None:
    classes = _classes(report, labels)
    if classes is None:
        return
    labelled, y = classes
    Z_labelled, test_labelled = Z[labelled], test_mask[labelled]
    report.add("silhouette", silhouette(Z_labelled, y, seed=seed))
    report.add("davies_bouldin", davies_bouldin(Z_labelled, y))
    report.add("calinski_harabasz", calinski_harabasz(Z_labelled, y))
    if embeddings is not None:
        try:
            report.add("cluster_separation", cluster_separation(embeddings))
        except ValueError as error:
            report.notes.append(str(error))
    if _probe_split(report, y, test_labelled):
        _note_bounded_training(report, test_labelled)
        probe = linear_probe_accuracy(
            Z_labelled, y, test_labelled, max_train=PROBE_MAX_TRAIN, seed=seed
        )
        report.add("linear_probe_accuracy", probe)
        knn = knn_accuracy(
            Z_labelled, y, test_labelled, seed=seed, max_neighbours=KNN_MAX_NEIGHBOURS
        )
        report.add("knn_accuracy", knn)
        _kmeans(report, Z_labelled[test_labelled], y[test_labelled], seed)


def _note_bounded_training(report: EncoderReport, test: np.ndarray) -> None:
    """Say when the probe and the kNN vote drew on a sample of the training items."""
    train = int((~test).sum())
    if train > min(PROBE_MAX_TRAIN, KNN_MAX_NEIGHBOURS):
        report.notes.append(
            f"linear_probe_accuracy fitted on, and knn_accuracy's neighbours drawn from, "
            f"seeded samples of {min(train, PROBE_MAX_TRAIN):,} and "
            f"{min(train, KNN_MAX_NEIGHBOURS):,} of the {train:,} training items"
        )


def add_transfer_metrics(
    report: EncoderReport,
    Z: np.ndarray,
    labels: Sequence[str | None],
    test_mask: np.ndarray,
    seed: int,
) -> None:
    """The probe and kNN accuracy of codes ``Z`` made by an encoder fitted on another data
    set (``transfer_linear_probe_accuracy``, ``transfer_knn_accuracy``), on this one's
    split: what the borrowed representation gives this data set's classes."""
    classes = _classes(EncoderReport(), labels)  # the encoder's own metrics say why not
    if classes is None:
        return
    labelled, y = classes
    Z_labelled, test_labelled = Z[labelled], test_mask[labelled]
    if _probe_split(EncoderReport(), y, test_labelled):
        probe = linear_probe_accuracy(Z_labelled, y, test_labelled, seed=seed)
        report.add("transfer_linear_probe_accuracy", probe)
        knn = knn_accuracy(Z_labelled, y, test_labelled, seed=seed)
        report.add("transfer_knn_accuracy", knn)


def _kmeans(report: EncoderReport, Z_test: np.ndarray, y_test: np.ndarray, seed: int) -> None:
    """k-means agreement on the test codes, when they hold two classes or more."""
    try:
        for metric, value in kmeans_agreement(Z_test, y_test, seed).items():
            report.add(metric, value)
    except ValueError as error:
        report.notes.append(f"k-means agreement left out: {error}")


def baseline_report(
    X: np.ndarray, labels: Sequence[str | None], test_mask: np.ndarray, seed: int
) -> EncoderReport:
    """The baselines that relative floors are measured against (``repr_assets.quality.thresholds``):
    the number of raw features of ``X`` ``(n, f)``, and for a data set of two classes or
    more the majority-class share of the test items and the linear probe on ``X``; and the
    intrinsic dimension of ``X``, which each code's is compared with."""
    report = EncoderReport()
    report.add(FEATURE_COUNT, float(X.shape[1]))
    _intrinsic_dimension(report, X, seed)
    classes = _classes(report, labels)
    if classes is None:
        return report
    labelled, y = classes
    test_labelled = test_mask[labelled]
    if _probe_split(report, y, test_labelled):
        report.add(MAJORITY_SHARE, majority_class_share(y, test_labelled))
        report.add(RAW_PROBE, raw_probe_accuracy(X[labelled], y, test_labelled, seed))
    return report


def _classes(
    report: EncoderReport, labels: Sequence[str | None]
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(labelled mask (n,), integer classes of the labelled items)``, or ``None`` with a
    note when fewer than two classes are labelled."""
    labelled = np.array([label is not None for label in labels], dtype=bool)
    if not labelled.any():
        report.notes.append("no item is labelled: supervised metrics left out")
        return None
    names, y = np.unique(
        np.array([lab for lab in labels if lab is not None], dtype=object).astype(str),
        return_inverse=True,
    )
    if len(names) < 2:
        report.notes.append(
            f"every labelled item has the label {names[0]!r}: class-separation and probe "
            "metrics need at least two classes"
        )
        return None
    return labelled, y


def _probe_split(report: EncoderReport, y: np.ndarray, test: np.ndarray) -> bool:
    """Whether the split lets a probe be trained (two classes) and scored (a test item)."""
    if not test.any():
        report.notes.append("no labelled test items: probes left out")
        return False
    if len(np.unique(y[~test])) < 2:
        report.notes.append("the training split holds fewer than two classes: probes left out")
        return False
    return True
