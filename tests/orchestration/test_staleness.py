"""Code and data versions: a changed parameter marks what depends on it stale in Dagster's
eyes; a run that changes nothing leaves everything fresh."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest
from dagster._core.definitions.data_version import StaleStatus
from dagster._utils.test.data_versions import get_stale_status_resolver

from repr_assets.datasets.specs import DIGITS
from repr_assets.orchestration import build_representation_assets
from repr_assets.orchestration.resources import build_resources
from tests.helpers import quick_run_config


def statuses(instance, spec) -> dict[str, StaleStatus]:
    """What the UI would say of each asset of ``spec`` (Dagster's own test helper)."""
    assets = [a for a in build_representation_assets(spec) if isinstance(a, dg.AssetsDefinition)]
    resolver = get_stale_status_resolver(instance, assets)
    return {key.path[-1]: resolver.get_status(key) for a in assets for key in a.keys}


@pytest.mark.slow
def test_parameter_changes_mark_downstream_stale_and_reruns_change_nothing(home):
    instance = dg.DagsterInstance.ephemeral()
    for _ in range(2):
        result = dg.materialize(
            build_representation_assets(DIGITS),
            resources=build_resources(home),
            run_config=quick_run_config(),
            instance=instance,
        )
        assert result.success
    assert set(statuses(instance, DIGITS).values()) == {StaleStatus.FRESH}

    stricter = dataclasses.replace(
        DIGITS, thresholds=dataclasses.replace(DIGITS.thresholds, min_effective_rank=5.0)
    )
    after = statuses(instance, stricter)
    assert after["quality_report"] == StaleStatus.STALE
    assert after["served_embeddings"] == StaleStatus.STALE
    assert after["items"] == after["features"] == after["pca_embeddings"] == StaleStatus.FRESH

    resized = dataclasses.replace(DIGITS, image_size=12)
    after = statuses(instance, resized)
    assert after["items"] == StaleStatus.FRESH
    assert after["features"] == StaleStatus.STALE
    assert after["pca_model"] == after["autoencoder_embeddings"] == StaleStatus.STALE
