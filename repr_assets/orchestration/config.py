"""Run configuration of the assets: the features' refit switch, and each encoder's fields.

An encoder's config schema is made from its kind's defaults (``encoders.registry``), so an
encoder module adds its own configuration without a class here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from repr_assets.encoders.registry import EncoderKind, effective_defaults

REFIT_DESCRIPTION = (
    "Fit again even when a saved fit with the same parameters exists. Without it, new items "
    "are embedded by the current fit, unchanged."
)


class FeaturesConfig(dg.Config):
    refit: bool = Field(False, description=REFIT_DESCRIPTION)


def encoder_config_schema(kind: EncoderKind, options: Mapping[str, Any]) -> dict[str, dg.Field]:
    """A Dagster config field per default of ``kind`` (the data set's ``options`` over the
    kind's defaults), plus ``refit``."""
    defaults = effective_defaults(kind, options)
    fields = {
        name: dg.Field(
            _config_type(value),
            default_value=value,
            is_required=False,
            description=kind.descriptions.get(name),
        )
        for name, value in defaults.items()
    }
    fields["refit"] = dg.Field(bool, default_value=False, description=REFIT_DESCRIPTION)
    return fields


def encoder_params(kind: EncoderKind, config: Mapping[str, Any]) -> dict[str, Any]:
    """The run config without ``refit``: what the encoder is built from."""
    return {name: config.get(name, default) for name, default in kind.defaults.items()}


def _config_type(value: Any) -> Any:
    if isinstance(value, list):
        return [_config_type(value[0])] if value else [int]
    if isinstance(value, bool):
        return bool
    if isinstance(value, int):
        return int
    if isinstance(value, float):
        return float
    return str
