"""Training loops: Adam, shuffled mini-batches, early stopping on a validation loss.

``fit_with_early_stopping`` owns the epochs, the patience and the best weights; a loop
such as ``train_reconstruction`` supplies one epoch of training and one validation score.
Both read the encoder's ``TrainingConfig`` and nothing else of it: any module mapping a
batch to its reconstruction will do.
"""

from __future__ import annotations

import contextlib
import copy
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
from torch import nn

from repr_assets.encoders.config import TrainingConfig
from repr_assets.encoders.kind import TrainingProgress

Corruption = Callable[[torch.Tensor], torch.Tensor]
"""Maps a training batch to the changed copy that a denoising model sees as its input."""

Objective = Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]
"""The mean loss of a model on a batch: ``objective(model, inputs, targets)``."""


def mean_squared_error(
    model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor
) -> torch.Tensor:
    """The autoencoders' objective: mean squared error of the reconstruction."""
    return nn.functional.mse_loss(model(inputs).float(), targets)


@dataclass
class TrainingHistory:
    train_loss: list[float] = field(default_factory=list)
    validation_loss: list[float] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    train_rows: int = 0
    """The rows of each epoch (the fitted ones less those held out for validation)."""


def train_reconstruction(
    model: nn.Module,
    data: torch.Tensor,
    train_rows: torch.Tensor,
    validation: torch.Tensor,
    settings: TrainingConfig,
    progress: TrainingProgress | None = None,
    corrupt: Corruption | None = None,
    objective: Objective = mean_squared_error,
) -> TrainingHistory:
    """Train ``model`` to reconstruct its input; leave it holding the best validation weights.

    ``data`` is ``(n, n_features)`` and ``train_rows`` the rows of it to train on, both on
    the model's device when they fit there, else in host memory, each batch copied over;
    batches are gathered from ``data`` directly, so the training rows are never copied
    whole (205 MiB at a million items of 64 features). ``validation`` is the
    ``(m, n_features)`` held-out rows, on the same device as ``data``. On a
    CUDA device the forward pass runs under bf16 autocast, batches have at least
    ``settings.gpu_batch_size`` rows, and nothing waits on the device until the epoch
    ends. With ``corrupt`` the model sees ``corrupt(batch)`` and must return the clean
    ``batch`` (a denoising autoencoder); the validation loss stays clean-to-clean, the
    task the codes serve. ``objective`` is the loss, trained on and validated with (the
    mean squared error, or a variational autoencoder's negative ELBO).
    """
    device = next(model.parameters()).device
    batch_size = step_batch_size(settings, device)
    autocast = autocast_for(device)
    optimiser = torch.optim.Adam(
        model.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
        # One kernel for the whole update instead of several ops per tensor: on the CPU
        # too, where the whole training step takes 0.82-0.84x the time of the default
        # single-tensor loop (`python -m benchmarks.adam`; foreach: 0.97x).
        fused=True,
    )
    # Shuffling draws from its own generator so that training is reproducible from the
    # seed without touching torch's global random state.
    shuffler = torch.Generator().manual_seed(settings.seed)

    def train_one_epoch() -> float:
        model.train()
        order = train_rows[torch.randperm(len(train_rows), generator=shuffler).to(data.device)]
        running = torch.zeros((), device=device)
        for start in range(0, len(order), batch_size):
            batch = data[order[start : start + batch_size]].to(device, non_blocking=True)
            inputs = batch if corrupt is None else corrupt(batch)
            with autocast:
                loss = objective(model, inputs, batch)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            running += loss.detach() * len(batch)
        return float(running) / len(train_rows)

    def validate() -> float:
        return reconstruction_loss(model, validation, batch_size, objective)

    with cpu_training(settings, device):
        return fit_with_early_stopping(
            model, train_one_epoch, validate, settings, len(train_rows), progress
        )


def step_batch_size(settings: TrainingConfig, device: torch.device) -> int:
    """Rows per optimiser step: at least ``gpu_batch_size`` on CUDA."""
    on_cuda = device.type == "cuda"
    return max(settings.batch_size, settings.gpu_batch_size if on_cuda else 0)


@contextlib.contextmanager
def cpu_training(settings: TrainingConfig, device: torch.device) -> Iterator[None]:
    """On the CPU: ``settings.cpu_threads`` threads, and denormals flushed to zero (Adam's
    moments decay into denormal floats late in training, and every CPU step then slows
    down several-fold). Nothing on other devices."""
    if device.type != "cpu":
        yield
        return
    torch.set_flush_denormal(True)
    with cpu_threads(settings.cpu_threads):
        yield


def fit_with_early_stopping(
    model: nn.Module,
    train_one_epoch: Callable[[], float],
    validate: Callable[[], float],
    settings: TrainingConfig,
    train_rows: int,
    progress: TrainingProgress | None = None,
) -> TrainingHistory:
    """Run epochs until the budget (``settings.epoch_budget`` of ``train_rows`` rows) or
    ``patience`` epochs without a validation gain (a fall below the best loss by more than
    ``min_delta`` of it).

    ``train_one_epoch`` trains for one pass and returns its mean loss; ``validate`` returns
    the validation loss, lower being better. ``model`` ends holding the weights of its best
    validation epoch.
    """
    history = TrainingHistory(train_rows=train_rows)
    best_loss = math.inf
    best_state = copy.deepcopy(model.state_dict())
    stale_epochs = 0
    epochs = settings.epoch_budget(train_rows)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        train_loss = train_one_epoch()
        validation_loss = validate()
        history.train_loss.append(train_loss)
        history.validation_loss.append(validation_loss)
        if progress is not None:
            seconds = time.perf_counter() - started
            progress(epoch, epochs, train_loss, validation_loss, seconds)
        if validation_loss < _gain_below(best_loss, settings.min_delta):
            best_loss, history.best_epoch, stale_epochs = validation_loss, epoch, 0
            best_state = copy.deepcopy(model.state_dict())
        else:
            stale_epochs += 1
            if stale_epochs >= settings.patience:
                history.stopped_early = True
                break
    model.load_state_dict(best_state)
    return history


def _gain_below(best_loss: float, min_delta: float) -> float:
    """The loss an epoch must beat to count as a gain: ``min_delta`` of the best below it."""
    return best_loss - min_delta * abs(best_loss) if math.isfinite(best_loss) else best_loss


def autocast_for(device: torch.device) -> contextlib.AbstractContextManager[object]:
    """bf16 autocast on CUDA (tensor cores, no loss scaling needed); nothing elsewhere."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


@contextlib.contextmanager
def cpu_threads(threads: int | None) -> Iterator[None]:
    """Run the block with ``threads`` torch CPU threads, then restore them. ``0``: every
    core this process may use; ``None``: leave them as they are."""
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads if threads > 0 else usable_cores())
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@torch.no_grad()
def reconstruction_loss(
    model: nn.Module,
    data: torch.Tensor,
    batch_size: int,
    objective: Objective = mean_squared_error,
) -> float:
    """``objective`` of the model in eval mode over all of ``data`` (for the mean squared
    error, the mean over every value), computed in float32."""
    model.eval()
    device = next(model.parameters()).device
    total = torch.zeros((), device=device)
    for start in range(0, len(data), batch_size):
        batch = data[start : start + batch_size].to(device, non_blocking=True)
        total += objective(model, batch, batch) * len(batch)
    return float(total) / max(len(data), 1)
