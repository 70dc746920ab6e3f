"""Quality floors per data set, and how a report's values fare against them.

A floor is absolute when the data set sets it, else relative to baselines the same report
measures on the data itself, so that one default serves a 10-class image set and a
12-class text corpus alike:

- ``linear_probe_accuracy`` must beat chance, the share of the most frequent class among
  the test items, by ``probe_margin_over_majority``, and reach ``probe_share_of_raw`` of
  the accuracy that the same probe gets on the raw features; never more than the raw
  features' own accuracy;
- ``effective_rank`` and ``explained_variance`` have absolute defaults (a collapsed or a
  non-reconstructing code is bad whatever the data), but the rank floor never asks for
  more than ``rank_share_of_features`` of the number of raw features: no code of 2
  features has an effective rank above 2, and only a perfectly round one reaches it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

BASELINE_ENCODER = "features"
"""The ``encoder`` of the report rows that describe the input rather than a code: the
baselines below, measured on the featurised items."""

MAJORITY_SHARE = "majority_class_share"
RAW_PROBE = "linear_probe_accuracy"
FEATURE_COUNT = "feature_count"
"""The baselines' metric names, under ``BASELINE_ENCODER``: the share of the most frequent
class among the test items, the linear probe's accuracy on the raw features, and the
number of raw features."""


@dataclass(frozen=True)
class QualityThresholds:
    """Floors that the quality checks hold each encoder to; set per data set.

    ``min_linear_probe_accuracy`` is an absolute floor when set; when ``None`` the floor
    is relative: ``max(majority share + probe_margin_over_majority, probe_share_of_raw *
    raw-feature probe)``, both measured in the same report.
    """

    min_linear_probe_accuracy: float | None = None
    probe_margin_over_majority: float = 0.05
    probe_share_of_raw: float = 0.7
    min_effective_rank: float = 2.0
    rank_share_of_features: float = 0.9
    min_explained_variance: float = 0.3
    # Off unless set: a refit may rightly move neighbourhoods, so no floor is assumed.
    min_neighbour_overlap_previous: float | None = None

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value is not None and not (isinstance(value, int | float) and value == value):
                raise ValueError(f"thresholds: {name} must be a number, got {value!r}")
        for name in ("probe_share_of_raw", "rank_share_of_features"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(
                    f"thresholds: {name} must lie in [0, 1], got {getattr(self, name)}"
                )


@dataclass(frozen=True)
class Floor:
    """The floor of one check, and where it came from (shown in the report and the UI)."""

    metric: str
    minimum: float | None
    source: str


@dataclass(frozen=True)
class ThresholdOutcome:
    check: str
    metric: str
    minimum: float | None
    value: float | None
    guards: str
    source: str = ""

    @property
    def passed(self) -> bool:
        # A metric that cannot be computed (no labels) is not a failure of the encoder.
        return self.value is None or self.minimum is None or self.value >= self.minimum


THRESHOLD_CHECKS = (
    (
        "linear_probe_accuracy",
        "Guards against embeddings from which a linear classifier can no longer recover the "
        "labels, i.e. a representation that lost the class information.",
    ),
    (
        "effective_rank",
        "Guards against a collapsed embedding: all items squeezed onto a point or a line, "
        "which makes every search result arbitrary.",
    ),
    (
        "explained_variance",
        "Guards against an encoder that no longer reconstructs its input, such as a diverged "
        "or under-trained model.",
    ),
    (
        "neighbour_overlap_previous",
        "Guards, when a floor is set, against a refit that reshuffles the neighbourhoods "
        "users search, compared with the model served until now.",
    ),
)


def describe_floor(metric: str, thresholds: QualityThresholds) -> str:
    """The rule of one floor in words, before any baseline is measured (for check specs)."""
    if metric == "linear_probe_accuracy":
        if thresholds.min_linear_probe_accuracy is not None:
            return f">= {thresholds.min_linear_probe_accuracy:g} (absolute)"
        return (
            f">= max(majority-class share + {thresholds.probe_margin_over_majority:g}, "
            f"{thresholds.probe_share_of_raw:g} x the probe on the raw features), both "
            "measured in the same report"
        )
    minimum = getattr(thresholds, f"min_{metric}")
    if minimum is None:
        return "off: no floor set"
    if metric == "effective_rank":
        return (
            f">= {minimum:g} (absolute), at most {thresholds.rank_share_of_features:g} x the "
            "number of raw features"
        )
    return f">= {minimum:g} (absolute)"


def resolve_floors(
    thresholds: QualityThresholds, baselines: Mapping[str, float]
) -> dict[str, Floor]:
    """Each check's floor, given the report's ``baselines`` (``MAJORITY_SHARE`` and
    ``RAW_PROBE``, absent for a data set without labels; ``FEATURE_COUNT``)."""
    floors = {
        "effective_rank": _rank_floor(thresholds, baselines.get(FEATURE_COUNT)),
        "explained_variance": Floor(
            "explained_variance", thresholds.min_explained_variance, "absolute"
        ),
    }
    floors["linear_probe_accuracy"] = _probe_floor(thresholds, baselines)
    overlap = thresholds.min_neighbour_overlap_previous
    floors["neighbour_overlap_previous"] = Floor(
        "neighbour_overlap_previous", overlap, "absolute" if overlap is not None else "off"
    )
    return floors


def _rank_floor(thresholds: QualityThresholds, features: float | None) -> Floor:
    minimum = thresholds.min_effective_rank
    if features is not None and thresholds.rank_share_of_features * features < minimum:
        share = thresholds.rank_share_of_features
        return Floor(
            "effective_rank",
            share * features,
            f"{share:g} x the {features:g} raw features, as the absolute {minimum:g} exceeds it",
        )
    return Floor("effective_rank", minimum, "absolute")


def _probe_floor(thresholds: QualityThresholds, baselines: Mapping[str, float]) -> Floor:
    metric = "linear_probe_accuracy"
    if thresholds.min_linear_probe_accuracy is not None:
        return Floor(metric, thresholds.min_linear_probe_accuracy, "absolute")
    majority, raw = baselines.get(MAJORITY_SHARE), baselines.get(RAW_PROBE)
    candidates: list[tuple[float, str]] = []
    if majority is not None:
        margin = thresholds.probe_margin_over_majority
        candidates.append((majority + margin, f"majority-class share {majority:.4f} + {margin:g}"))
    if raw is not None:
        share = thresholds.probe_share_of_raw
        candidates.append((share * raw, f"{share:g} x raw-feature probe {raw:.4f}"))
    if not candidates:
        return Floor(metric, None, "no labels: no baseline to measure")
    minimum, source = max(candidates)
    others = [text for _, text in candidates if text != source]
    if others:
        source += f" (the larger of it and {others[0]})"
    if raw is not None and minimum > raw:
        # Where the raw features do not beat chance by the margin (a class of 96% of the
        # items, say), no code can be asked to: the floor is what they reach.
        return Floor(metric, raw, f"the raw-feature probe {raw:.4f}, as {source} exceeds it")
    return Floor(metric, min(minimum, 1.0), source)


def check_thresholds(
    values: Mapping[str, float], floors: Mapping[str, Floor]
) -> list[ThresholdOutcome]:
    """One outcome per threshold, in ``THRESHOLD_CHECKS`` order."""
    return [
        ThresholdOutcome(
            check=f"{metric}_at_least",
            metric=metric,
            minimum=floors[metric].minimum,
            value=values.get(metric),
            guards=guards,
            source=floors[metric].source,
        )
        for metric, guards in THRESHOLD_CHECKS
    ]


def report_outcomes(
    values: Mapping[str, Mapping[str, float]], thresholds: QualityThresholds, encoder: str
) -> list[ThresholdOutcome]:
    """The checks of ``encoder`` in a report of ``values`` (``{encoder: {metric: value}}``,
    its baselines under ``BASELINE_ENCODER``), with the floors of ``thresholds``."""
    floors = resolve_floors(thresholds, values.get(BASELINE_ENCODER, {}))
    return check_thresholds(values.get(encoder, {}), floors)


def failed_checks(outcomes: list[ThresholdOutcome]) -> list[str]:
    return [outcome.check for outcome in outcomes if not outcome.passed]
