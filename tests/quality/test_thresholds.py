"""Quality floors: absolute when set, else relative to baselines of the same report."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from repr_assets.quality.thresholds import (
    FEATURE_COUNT,
    MAJORITY_SHARE,
    RAW_PROBE,
    QualityThresholds,
    check_thresholds,
    describe_floor,
    failed_checks,
    resolve_floors,
)

PROBE = "linear_probe_accuracy"

DRIFT = "neighbour_overlap_previous"


def test_the_relative_probe_floor_by_hand():
    # 12 classes, majority 0.22, raw probe 0.45: max(0.27, 0.315) = 0.315.
    floor = resolve_floors(QualityThresholds(), {MAJORITY_SHARE: 0.22, RAW_PROBE: 0.45})[PROBE]
    assert floor.minimum == pytest.approx(0.315)
    assert "0.7 x raw-feature probe 0.4500" in floor.source
    assert "majority-class share 0.2200 + 0.05" in floor.source
    # Digits: majority 0.10, raw probe 0.97: 0.679.
    floor = resolve_floors(QualityThresholds(), {MAJORITY_SHARE: 0.10, RAW_PROBE: 0.97})[PROBE]
    assert floor.minimum == pytest.approx(0.679)
    # A hard data set whose raw probe is barely above chance: chance plus the margin wins.
    floor = resolve_floors(QualityThresholds(), {MAJORITY_SHARE: 0.5, RAW_PROBE: 0.6})[PROBE]
    assert floor.minimum == pytest.approx(0.55)
    assert floor.source.startswith("majority-class share 0.5000 + 0.05")


# No subnormals: torch, imported by other tests, flushes them to zero process-wide.
@given(
    majority=st.floats(0.0, 1.0, allow_subnormal=False),
    raw=st.floats(0.0, 1.0, allow_subnormal=False),
    margin=st.floats(0.0, 0.5, allow_subnormal=False),
    share=st.floats(0.0, 1.0, allow_subnormal=False),
)
def test_the_relative_probe_floor_asks_no_more_than_the_raw_features_reach(
    majority, raw, margin, share
):
    thresholds = QualityThresholds(probe_margin_over_majority=margin, probe_share_of_raw=share)
    floor = resolve_floors(thresholds, {MAJORITY_SHARE: majority, RAW_PROBE: raw})[PROBE]
    assert floor.minimum is not None
    # The raw features themselves always pass; so does a code as good as them.
    assert floor.minimum <= raw + 1e-12
    # Below the raw probe, the floor is at least each of its parts.
    if majority + margin <= raw:
        assert floor.minimum >= majority + margin - 1e-12
    assert floor.minimum >= min(share * raw, raw) - 1e-12


@pytest.mark.parametrize(
    ("features", "floor", "source"),
    [
        # Two features: a code of them reaches an effective rank of 2 only if perfectly
        # round (PCA of two standardised columns measured 1.991), so 2 could never pass.
        (2, 1.8, "0.9 x the 2 raw features, as the absolute 2 exceeds it"),
        (3, 2.0, "absolute"),  # 0.9 x 3 = 2.7 asks no more than 2
        (13, 2.0, "absolute"),
        (None, 2.0, "absolute"),  # a report from before the baseline was measured
    ],
)
def test_the_rank_floor_asks_no_more_than_the_raw_features_allow(features, floor, source):
    baselines = {} if features is None else {FEATURE_COUNT: features}
    floors = resolve_floors(QualityThresholds(), baselines)
    assert (floors["effective_rank"].minimum, floors["effective_rank"].source) == (
        pytest.approx(floor),
        source,
    )
    outcomes = {o.metric: o for o in check_thresholds({"effective_rank": 1.991}, floors)}
    assert outcomes["effective_rank"].passed is (features == 2)


def test_an_imbalanced_data_set_is_held_to_what_its_raw_features_reach():
    # 96% of the items in one class, a raw probe of 0.97: chance + 0.05 would be 1.01.
    floor = resolve_floors(QualityThresholds(), {MAJORITY_SHARE: 0.96, RAW_PROBE: 0.97})[PROBE]
    assert floor.minimum == pytest.approx(0.97)
    assert "raw-feature probe 0.9700" in floor.source
    floors = resolve_floors(QualityThresholds(), {MAJORITY_SHARE: 0.96, RAW_PROBE: 0.97})
    outcomes = check_thresholds({PROBE: 0.97, "effective_rank": 5.0}, floors)
    assert failed_checks(outcomes) == []


def test_an_absolute_floor_ignores_the_baselines():
    thresholds = QualityThresholds(min_linear_probe_accuracy=0.8)
    floor = resolve_floors(thresholds, {MAJORITY_SHARE: 0.9, RAW_PROBE: 0.99})[PROBE]
    assert (floor.minimum, floor.source) == (0.8, "absolute")
    assert describe_floor(PROBE, thresholds) == ">= 0.8 (absolute)"
    assert "majority-class share" in describe_floor(PROBE, QualityThresholds())


def test_without_labels_the_probe_has_no_floor_and_passes():
    floors = resolve_floors(QualityThresholds(), {})
    assert floors[PROBE].minimum is None
    outcomes = check_thresholds({PROBE: 0.01, "effective_rank": 5.0}, floors)
    assert failed_checks(outcomes) == []


def test_outcomes_for_each_threshold_field():
    thresholds = QualityThresholds(
        min_linear_probe_accuracy=0.9, min_effective_rank=2.0, min_explained_variance=0.5
    )
    values = {PROBE: 0.8, "effective_rank": 5.0, "explained_variance": 0.5}
    outcomes = {o.metric: o for o in check_thresholds(values, resolve_floors(thresholds, {}))}
    assert outcomes[PROBE].passed is False
    assert outcomes[PROBE].minimum == 0.9
    assert outcomes["effective_rank"].passed is True
    assert outcomes["explained_variance"].passed is True  # inclusive
    for metric, outcome in outcomes.items():
        assert outcome.check == f"{metric}_at_least"
        assert outcome.value == values.get(metric)
    # The drift floor is off unless set; set, it holds a reshuffling refit back.
    assert outcomes[DRIFT].minimum is None and outcomes[DRIFT].passed
    drift = QualityThresholds(min_neighbour_overlap_previous=0.8)
    [judged] = [
        o for o in check_thresholds({DRIFT: 0.5}, resolve_floors(drift, {})) if o.metric == DRIFT
    ]
    assert not judged.passed and judged.minimum == 0.8


def test_outcomes_of_missing_metrics_pass_with_value_none():
    outcomes = check_thresholds({}, resolve_floors(QualityThresholds(), {}))
    assert {o.metric for o in outcomes} == {PROBE, "effective_rank", "explained_variance", DRIFT}
    for outcome in outcomes:
        assert outcome.value is None
        assert outcome.passed is True
        assert outcome.guards  # each says what it guards against


@pytest.mark.parametrize(
    "field, value", [("probe_share_of_raw", 1.5), ("min_effective_rank", float("nan"))]
)
def test_bad_thresholds_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        QualityThresholds(**{field: value})
