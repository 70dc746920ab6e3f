"""CPU training uses every usable core and flushes denormals to zero (issue 7)."""

from __future__ import annotations

import torch

from repr_assets.encoders.config import TrainingConfig
from repr_assets.encoders.mlp import MLPAutoencoder
from repr_assets.encoders.training import (
    cpu_threads,
    train_reconstruction,
    usable_cores,
)


def test_zero_threads_means_every_usable_core_and_is_the_default() -> None:
    assert TrainingConfig().cpu_threads == 0
    before = torch.get_num_threads()
    with cpu_threads(0):
        assert torch.get_num_threads() == usable_cores()
    with cpu_threads(1):
        assert torch.get_num_threads() == 1
    with cpu_threads(None):
        assert torch.get_num_threads() == before
    assert torch.get_num_threads() == before


def test_cpu_training_runs_on_every_core_with_denormals_flushed(monkeypatch) -> None:
    seen: list[int] = []
    model = MLPAutoencoder(6, (4,), 2)
    forward = model.forward

    def recording(x: torch.Tensor) -> torch.Tensor:
        seen.append(torch.get_num_threads())
        return forward(x)

    monkeypatch.setattr(model, "forward", recording)
    torch.set_flush_denormal(False)
    data = torch.rand(32, 6)
    rows = torch.arange(8, 32)
    train_reconstruction(model, data, rows, data[:8], TrainingConfig(epochs=1, batch_size=16))
    assert seen and set(seen) == {usable_cores()}
    assert (torch.tensor([1e-39]) * 1.0).item() == 0.0  # a denormal float32 is flushed


def test_a_module_on_the_cpu_is_not_given_gpu_sized_batches() -> None:
    sizes: list[int] = []
    model = MLPAutoencoder(6, (4,), 2)
    model.register_forward_hook(lambda _m, inputs, _o: sizes.append(len(inputs[0])))
    data = torch.rand(40, 6)
    settings = TrainingConfig(epochs=1, batch_size=16, gpu_batch_size=1024)
    train_reconstruction(model, data, torch.arange(8, 40), data[:8], settings)
    assert max(sizes) == 16
