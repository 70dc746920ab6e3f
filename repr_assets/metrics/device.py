"""Where metric computations run: the GPU when there is one, in float64 on the CPU."""

from __future__ import annotations

import numpy as np
import torch


def metric_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def as_tensor(array: np.ndarray, device: torch.device | None = None) -> torch.Tensor:
    """float64 on the CPU, where the references are matched to 1e-6; float32 on a GPU."""
    device = device or metric_device()
    dtype = torch.float32 if device.type == "cuda" else torch.float64
    # A copy: arrays read from Arrow are read-only, which torch cannot wrap.
    return torch.tensor(np.asarray(array), dtype=dtype, device=device)
