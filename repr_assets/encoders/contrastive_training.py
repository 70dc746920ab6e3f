"""The SimCLR training loop: two augmented views per item, NT-Xent between them.

Each epoch draws two fresh views of every training row, in bulk on the CPU (an
augmentation works on NumPy arrays), then moves them to the device, where the
mini-batches are cut. The validation views are drawn once, so that the validation loss
of one epoch compares with the next and early stopping can use it.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from repr_assets.encoders.config import TrainingConfig
from repr_assets.encoders.corruption import augment_in_chunks
from repr_assets.encoders.training import (
    TrainingHistory,
    TrainingProgress,
    autocast_for,
    cpu_training,
    fit_with_early_stopping,
    step_batch_size,
)
from repr_assets.items.augment import Augmentation

# Views and shuffling draw from separate generators seeded from the same seed; offsets
# keep their random streams apart.
VIEW_SEED_OFFSET = 7919
VALIDATION_VIEW_SEED_OFFSET = 104_729


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's NT-Xent (InfoNCE) loss of ``N`` positive pairs ``(z1[i], z2[i])``.

    The ``2N`` projections are compared by cosine similarity divided by ``temperature``;
    for each one, its pair is the right answer and the other ``2N - 2`` are the wrong
    ones (its similarity to itself is left out). Returns the mean cross-entropy over all
    ``2N``.
    """
    if z1.ndim != 2 or z1.shape != z2.shape:
        raise ValueError(f"two (N, d) batches of one shape expected, got {z1.shape}, {z2.shape}")
    if len(z1) < 2:
        raise ValueError("NT-Xent needs at least two pairs: a single pair has no negatives")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    n = len(z1)
    # At least float32 (bf16 under autocast is too coarse for a softmax over 2N), and
    # float64 when given, for exact comparisons.
    z = torch.cat([z1, z2])
    z = nn.functional.normalize(z.to(torch.promote_types(z.dtype, torch.float32)), dim=1)
    logits = z @ z.T / temperature
    itself = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    logits = logits.masked_fill(itself, -torch.inf)
    pairs = torch.arange(n, device=z.device)
    targets = torch.cat([pairs + n, pairs])
    return nn.functional.cross_entropy(logits, targets)


def train_contrastive(
    network: nn.Module,
    train: np.ndarray,
    validation: np.ndarray,
    augmentation: Augmentation,
    temperature: float,
    settings: TrainingConfig,
    device: torch.device,
    progress: TrainingProgress | None = None,
) -> TrainingHistory:
    """Train ``network`` (on ``device``) on views of ``train``; keep its best validation weights.

    ``train`` and ``validation`` are ``(n, n_features)`` float32 arrays of at least two
    rows. Each step takes ``batch_size`` items (at least ``gpu_batch_size`` on CUDA: more
    negatives per step, as SimCLR wants); the last, partial batch of an epoch is
    dropped when there is a full one (fewer negatives would make its loss incomparable);
    validation batches are cut the same way.
    On a CUDA device the forward pass runs under bf16 autocast, the loss in float32.
    """
    autocast = autocast_for(device)
    batch_size = step_batch_size(settings, device)
    optimiser = torch.optim.Adam(  # fused: see train_reconstruction
        network.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
        fused=True,
    )
    shuffler = torch.Generator().manual_seed(settings.seed)
    views = torch.Generator().manual_seed(settings.seed + VIEW_SEED_OFFSET)
    fixed = torch.Generator().manual_seed(settings.seed + VALIDATION_VIEW_SEED_OFFSET)
    validation_views = [
        torch.from_numpy(augment_in_chunks(augmentation, validation, fixed)).to(device)
        for _ in range(2)
    ]

    def view_pair() -> tuple[torch.Tensor, torch.Tensor]:
        first = augment_in_chunks(augmentation, train, views)
        second = augment_in_chunks(augmentation, train, views)
        return torch.from_numpy(first).to(device), torch.from_numpy(second).to(device)

    def pair_loss(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        # One forward pass over both views: one larger matrix product instead of two.
        with autocast:
            projected = network(torch.cat([first, second]))
        first_projected, second_projected = projected.float().chunk(2)
        return nt_xent_loss(first_projected, second_projected, temperature)

    def train_one_epoch() -> float:
        network.train()
        first, second = view_pair()
        order = torch.randperm(len(train), generator=shuffler).to(device)
        running, seen = torch.zeros((), device=device), 0
        for batch in _batches(order, batch_size):
            loss = pair_loss(first[batch], second[batch])
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += loss.detach() * len(batch)
            seen += len(batch)
        return float(running) / seen

    @torch.no_grad()
    def validate() -> float:
        network.eval()
        order = torch.arange(len(validation), device=device)
        total, seen = torch.zeros((), device=device), 0
        for batch in _batches(order, batch_size):
            total += pair_loss(validation_views[0][batch], validation_views[1][batch]) * len(batch)
            seen += len(batch)
        return float(total) / seen

    with cpu_training(settings, device):
        return fit_with_early_stopping(
            network, train_one_epoch, validate, settings, len(train), progress
        )


def _batches(order: torch.Tensor, batch_size: int) -> list[torch.Tensor]:
    """Full batches of ``order``, or the whole of it when it holds less than one."""
    if len(order) <= batch_size:
        return [order]
    full = len(order) // batch_size * batch_size
    return list(order[:full].split(batch_size))
