"""When a saved fit still serves: the same parameters, on the same featuriser."""

from __future__ import annotations

from typing import Any

from repr_assets.hashing import canonical_json
from repr_assets.stores.models import FEATURISER, ModelStore, SavedModel


def reusable_fit(
    models: ModelStore, dataset: str, encoder: str, params: dict[str, Any], refit: bool
) -> SavedModel | None:
    """The saved ``encoder`` of ``dataset`` when it was fitted with ``params`` on features
    of the current featuriser and no ``refit`` is asked for; else ``None``.

    New items then get embedded by the model that embedded the others, keeping the model
    version; a refit is a decision (``refit``, or a schedule), not a side effect of growth.
    """
    if refit:
        return None
    saved = models.latest(dataset, encoder)
    featuriser = models.latest(dataset, FEATURISER)
    if saved is None or featuriser is None:
        return None
    same_params = canonical_json(saved.meta.get("params")) == canonical_json(params)
    same_features = saved.meta.get("featuriser_version") == featuriser.version
    return saved if same_params and same_features else None
