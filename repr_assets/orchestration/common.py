"""What every asset of a data set shares: its key, group, owners, code version, pool."""

from __future__ import annotations

from typing import Any

import dagster as dg

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.names import asset_path
from repr_assets.orchestration.pool import STORE_POOL


def asset_key(spec: DatasetSpec, asset: str) -> dg.AssetKey:
    return dg.AssetKey(asset_path(spec.name, asset))


def asset_fields(
    spec: DatasetSpec,
    asset: str,
    *,
    kinds: set[str],
    code_version: str,
    description: str,
    writes: bool = True,
) -> dict[str, Any]:
    """The ``@dg.asset`` arguments of ``asset`` of ``spec``: keyed under the data set and
    grouped by it, owned by its owners; a step that ``writes`` the stores takes a slot of
    the store pool (see ``repr_assets.orchestration.pool``)."""
    fields: dict[str, Any] = {
        "key": asset_key(spec, asset),
        "group_name": spec.name,
        "kinds": kinds,
        "code_version": code_version,
        "owners": list(spec.owners),
        "description": description,
    }
    if writes:
        fields["pool"] = STORE_POOL
    return fields
