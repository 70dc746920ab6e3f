"""Choosing the torch device."""

from __future__ import annotations

import torch


def resolve_device(requested: str = "auto") -> torch.device:
    """``auto`` picks CUDA when it is present, else the CPU; ``cuda`` without one is an error."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda was asked for, but torch sees no CUDA device")
    if requested not in {"cpu", "cuda"}:
        raise ValueError(f"unknown device {requested!r}: use auto, cpu or cuda")
    return torch.device(requested)


DEVICE_DATA_SHARE = 0.5
"""The most of a GPU's free memory that training data may take; the rest is left for the
model, its optimiser and the activations of large batches."""


def fits_on_device(nbytes: int, device: torch.device) -> bool:
    """Whether ``nbytes`` of data can live on ``device`` while a model trains there."""
    if device.type != "cuda":
        return True
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_DATA_SHARE * free
