"""Saving a trained torch encoder as ``params.json`` plus ``state.pt``, and reading it back.

``state.pt`` holds only tensors and plain values (the ``state_dict`` and the loss
history), so it loads with ``weights_only=True``: no pickled code runs on load.

Reading is defensive, in this order, so that a malformed or hostile checkpoint is refused
with one ``ModelFileError`` line before anything large is built or read:

1. ``params.json`` is checked against the kind's config (``TrainingConfig.saved_schema``:
   its fields but the runtime ones, and ``n_features``): types, bounds
   (``repr_assets.schema``), no missing or unknown key;
2. the module is built from them on torch's ``meta`` device, which allocates nothing, and
   its weight count bounded (``MAX_PARAMETERS``);
3. ``state.pt`` must be an uncompressed zip no larger than those weights need, loads
   with ``weights_only=True``, and must hold exactly the module's tensors, each of its
   shape and dtype and finite, and a well-formed loss history;
4. the tensors are then assigned to the module (``strict=True``): no second copy.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from repr_assets.encoders.config import TrainingConfig
from repr_assets.encoders.training import TrainingHistory
from repr_assets.schema import (
    MAX_FEATURES,
    MAX_PARAMETERS,
    Schema,
    integer,
)
from repr_assets.stores.model_files import ModelFileError, error_summary, read_params, regular_file

STATE_OVERHEAD_BYTES = 1 << 20
"""What ``state.pt`` may hold beyond the tensors' data: the pickle of their layout, the
zip's small records and the loss history (plus ``HISTORY_BYTES_PER_EPOCH`` an epoch)."""
HISTORY_BYTES_PER_EPOCH = 64

Build = Callable[[Any, int], nn.Module]
"""``build(config, n_features)``: the kind's module, untrained."""


@dataclass(frozen=True)
class Checkpoint:
    config: Any
    """The kind's ``TrainingConfig``, from the checked ``params.json``."""
    n_features: int
    module: nn.Module
    """Built by the kind's ``build`` and holding the saved weights, on the CPU."""
    history: TrainingHistory


def save_checkpoint(
    directory: Path,
    params: dict[str, Any],
    n_features: int,
    module: nn.Module,
    history: TrainingHistory,
) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "params.json").write_text(json.dumps({**params, "n_features": n_features}))
    torch.save(
        {"state_dict": module.state_dict(), "history": asdict(history)}, directory / "state.pt"
    )


def checkpoint_schema(config: type[TrainingConfig]) -> Schema:
    """What ``params.json`` of a kind configured by ``config`` holds."""
    return {**config.saved_schema(), "n_features": integer(1, MAX_FEATURES)}


def read_checkpoint(directory: Path, config_type: type[TrainingConfig], build: Build) -> Checkpoint:
    """The checkpoint in ``directory`` of a kind configured by ``config_type`` and whose
    module ``build`` makes, checked as the module docstring says."""
    params_path, state_path = directory / "params.json", directory / "state.pt"
    params = read_params(params_path, checkpoint_schema(config_type))
    n_features = params.pop("n_features")
    config = config_type.from_options(params)
    settings = config
    with torch.device("meta"):
        module = build(config, n_features)
    expected = module.state_dict()
    count = sum(tensor.numel() for tensor in expected.values())
    if count > MAX_PARAMETERS:
        raise ModelFileError(
            params_path,
            f"describes a model of {count:,} weights, more than the {MAX_PARAMETERS:,} allowed",
        )
    budget = sum(t.numel() * t.element_size() for t in expected.values())
    budget += STATE_OVERHEAD_BYTES + HISTORY_BYTES_PER_EPOCH * settings.epochs
    state = _load_state(state_path, budget)
    weights = _weights(state["state_dict"], expected, state_path)
    module.load_state_dict(weights, strict=True, assign=True)
    history = _history(state["history"], settings.epochs, state_path)
    return Checkpoint(config, n_features, module, history)


def _load_state(path: Path, budget: int) -> dict[str, Any]:
    """``state.pt`` by the weights-only loader, once its archive is known to be small."""
    regular_file(path)
    if path.stat().st_size > budget + budget // 2:  # half again for the zip's own records
        raise ModelFileError(
            path, f"is larger than the {budget:,} bytes its params.json model needs"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ModelFileError(
            path, f"is not a torch checkpoint archive ({error_summary(error)})"
        ) from None
    if any(entry.compress_type != zipfile.ZIP_STORED for entry in entries):
        raise ModelFileError(path, "holds compressed entries; torch.save never writes them")
    size = sum(entry.file_size for entry in entries)
    if size > budget:
        raise ModelFileError(
            path, f"holds {size:,} bytes, more than the {budget:,} its params.json model needs"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # whatever a corrupt archive or a refused pickle raises
        raise ModelFileError(
            path, f"cannot be loaded as weights only ({error_summary(error)})"
        ) from None
    if not isinstance(state, dict) or set(state) != {"state_dict", "history"}:
        found = sorted(map(str, state)) if isinstance(state, dict) else type(state).__name__
        raise ModelFileError(path, f"expected the keys 'history', 'state_dict', got {found}")
    return state


# Buffers that checkpoints written before them lack, with the value that keeps such a
# model computing what it did: ``input_scale`` 1 divides nothing.
_LEGACY_DEFAULTS = {"input_scale": torch.ones(())}


def _weights(
    weights: Any, expected: dict[str, torch.Tensor], path: Path
) -> dict[str, torch.Tensor]:
    """``weights`` when it holds exactly the tensors of ``expected``, of their shapes and
    dtypes, all finite."""
    if not isinstance(weights, dict):
        raise ModelFileError(path, f"state_dict is a {type(weights).__name__}, not a dict")
    if isinstance(weights, dict):
        legacy = {k: v for k, v in _LEGACY_DEFAULTS.items() if k in expected}
        weights = {**legacy, **weights}
    missing = [name for name in expected if name not in weights]
    unknown = sorted(str(name) for name in weights if name not in expected)
    if missing or unknown:
        problem = f"missing {missing[:3]}" if missing else f"unknown {unknown[:3]}"
        raise ModelFileError(path, f"state_dict does not fit params.json's model: {problem}")
    for name, want in expected.items():
        tensor = weights[name]
        if not isinstance(tensor, torch.Tensor) or tensor.layout != torch.strided:
            raise ModelFileError(path, f"{name} is a {type(tensor).__name__}, not a dense tensor")
        if tensor.shape != want.shape:
            raise ModelFileError(
                path,
                f"{name} has shape {tuple(tensor.shape)}, but params.json's model needs "
                f"{tuple(want.shape)}",
            )
        if tensor.dtype != want.dtype:
            raise ModelFileError(path, f"{name} is {tensor.dtype}, expected {want.dtype}")
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise ModelFileError(path, f"{name} holds NaN or Inf values")
    return weights


def _history(history: Any, epochs: int, path: Path) -> TrainingHistory:
    fields = set(TrainingHistory.__dataclass_fields__)
    # Models saved before the history held its rows per epoch load with none recorded.
    if isinstance(history, dict) and set(history) == fields - {"train_rows"}:
        history = {**history, "train_rows": 0}
    if not isinstance(history, dict) or set(history) != fields:
        raise ModelFileError(path, f"history must hold exactly {', '.join(sorted(fields))}")
    rows = history["train_rows"]
    if isinstance(rows, bool) or not isinstance(rows, int) or rows < 0:
        raise ModelFileError(path, "history train_rows must be a count of rows")
    for name in ("train_loss", "validation_loss"):
        losses = history[name]
        if (
            not isinstance(losses, list)
            or len(losses) > epochs
            or not all(isinstance(x, float) for x in losses)
        ):
            raise ModelFileError(path, f"history {name} must be at most {epochs} floats")
    best = history["best_epoch"]
    if isinstance(best, bool) or not isinstance(best, int) or not 0 <= best <= epochs:
        raise ModelFileError(path, f"history best_epoch must be an epoch in 0..{epochs}")
    if not isinstance(history["stopped_early"], bool):
        raise ModelFileError(path, "history stopped_early must be true or false")
    return TrainingHistory(**history)
