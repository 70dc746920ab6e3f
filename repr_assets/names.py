"""The names everything agrees on: a data set's LanceDB tables, its assets and their
step keys, its job, and the run config that asks for a refit.

The CLI, the Dagster layer and the stores all build names here, so that a table, an asset
or a step is spelt once. Plain strings and dicts: no Dagster.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def items_table(dataset: str) -> str:
    return f"{dataset}_items"


def features_table(dataset: str) -> str:
    return f"{dataset}_features"


def embeddings_table(dataset: str, encoder: str) -> str:
    return f"{dataset}_{encoder}"


def dataset_tables(dataset: str, encoders: Iterable[str]) -> list[str]:
    """Every LanceDB table a data set may have, with any of ``encoders``."""
    return [items_table(dataset), features_table(dataset)] + [
        embeddings_table(dataset, encoder) for encoder in encoders
    ]


def shared_tables(dataset: str, others: Iterable[str], encoders: Iterable[str]) -> dict[str, str]:
    """The tables ``dataset`` could share with another data set of ``others``, each with
    that data set's name: ``x`` with ``denoising_autoencoder`` and ``x_denoising`` with
    ``autoencoder`` are both ``x_denoising_autoencoder``."""
    kinds = list(encoders)
    mine = set(dataset_tables(dataset, kinds))
    return {
        table: other
        for other in others
        if other != dataset
        for table in dataset_tables(other, kinds)
        if table in mine
    }


ITEMS = "items"
FEATURES = "features"
QUALITY_REPORT = "quality_report"
SERVED_EMBEDDINGS = "served_embeddings"


def model_asset(encoder: str) -> str:
    return f"{encoder}_model"


def embeddings_asset(encoder: str) -> str:
    return f"{encoder}_embeddings"


def asset_path(dataset: str, asset: str) -> list[str]:
    """An asset's key path: every asset is keyed under its data set (``digits/items``)."""
    return [dataset, asset]


def step_key(dataset: str, asset: str) -> str:
    """The key of the step that materialises ``asset`` (``digits__items``)."""
    return f"{dataset}__{asset}"


def step_asset(step: str) -> str:
    """The asset (or op) name of a step key: ``digits__items`` -> ``items``. Split from
    the right: a data set's name may hold ``__``, an asset's never does."""
    return step.rsplit("__", 1)[-1]


def pipeline_job_name(dataset: str) -> str:
    return f"{dataset}_pipeline"


def run_config(
    dataset: str,
    encoders: Iterable[str],
    *,
    refit: bool = False,
    encoder_config: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The run config of a data set's pipeline job: ``refit`` for the featuriser and every
    model, and ``encoder_config`` fields for the models that are given them."""
    ops: dict[str, Any] = {}
    if refit:
        ops[step_key(dataset, FEATURES)] = {"config": {"refit": True}}
    for encoder in encoders:
        config = {**(encoder_config or {}).get(encoder, {}), **({"refit": True} if refit else {})}
        if config:
            ops[step_key(dataset, model_asset(encoder))] = {"config": config}
    return {"ops": ops}
