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
