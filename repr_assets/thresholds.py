"""Quality floors per data set, and how a report's values fare against them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class QualityThresholds:
    """Floors that the quality checks hold each encoder to; set per data set."""

    min_linear_probe_accuracy: float = 0.5
    min_effective_rank: float = 2.0
    min_explained_variance: float = 0.3


@dataclass(frozen=True)
class ThresholdOutcome:
    check: str
    metric: str
    minimum: float
    value: float | None
    guards: str

    @property
    def passed(self) -> bool:
        # A metric that cannot be computed (no labels) is not a failure of the encoder.
        return self.value is None or self.value >= self.minimum


THRESHOLD_CHECKS = (
    (
        "linear_probe_accuracy",
        "min_linear_probe_accuracy",
        "Guards against embeddings from which a linear classifier can no longer recover the "
        "labels, i.e. a representation that lost the class information.",
    ),
    (
        "effective_rank",
        "min_effective_rank",
        "Guards against a collapsed embedding: all items squeezed onto a point or a line, "
        "which makes every search result arbitrary.",
    ),
    (
        "explained_variance",
        "min_explained_variance",
        "Guards against an encoder that no longer reconstructs its input, such as a diverged "
        "or under-trained model.",
    ),
)


def check_thresholds(
    values: Mapping[str, float], thresholds: QualityThresholds
) -> list[ThresholdOutcome]:
    """One outcome per threshold, in ``THRESHOLD_CHECKS`` order."""
    return [
        ThresholdOutcome(
            check=f"{metric}_at_least",
            metric=metric,
            minimum=getattr(thresholds, field_name),
            value=values.get(metric),
            guards=guards,
        )
        for metric, field_name, guards in THRESHOLD_CHECKS
    ]
