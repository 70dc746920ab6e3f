"""Run configuration of the assets: the features' refit switch, and each encoder's fields.

An encoder's config schema is made from its kind's config class
(``repr_assets.encoders.config``): a Dagster field per field, whose default is the data
set's value and whose description is the field's help. The model asset turns the run
config back into that typed config before anything reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from pydantic import Field

from repr_assets.encoders.config import EncoderConfig
from repr_assets.encoders.kind import EncoderKind
from repr_assets.encoders.registry import configured

REFIT = "refit"
REFIT_DESCRIPTION = (
    "Fit again even when a saved fit with the same parameters exists. Without it, new items "
    "are embedded by the current fit, unchanged."
)


class FeaturesConfig(dg.Config):
    refit: bool = Field(False, description=REFIT_DESCRIPTION)


def encoder_config_schema(kind: EncoderKind, config: EncoderConfig) -> dict[str, dg.Field]:
    """A Dagster config field per field of ``config`` (its value the default), plus
    ``refit``."""
    help = kind.config.help()
    fields = {
        name: dg.Field(
            _config_type(value), default_value=value, is_required=False, description=help[name]
        )
        for name, value in config.values().items()
    }
    fields[REFIT] = dg.Field(bool, default_value=False, description=REFIT_DESCRIPTION)
    return fields


def run_encoder_config(kind: EncoderKind, op_config: Mapping[str, Any]) -> EncoderConfig:
    """The typed config of a model asset's run config (``refit`` left out)."""
    return configured(kind, {k: v for k, v in op_config.items() if k != REFIT})


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
