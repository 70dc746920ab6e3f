"""Adam's three CPU implementations on the autoencoder's own network, in one run.

Issue 17's profile of a 70k-image run put 42 s of 120 s of training in
``_single_tensor_adam`` (one op per tensor per step). This times the same training steps
(forward, backward, step) under ``foreach=False`` (the single-tensor loop), ``foreach=True``
(the multi-tensor ops) and ``fused=True`` (one kernel), interleaved over several rounds so
that a busy machine slows all three alike, and prints the median time of each as a
multiple of the single-tensor one, with the largest difference of the weights they reach
(the three are the same algorithm, so it stays at float32 rounding).

    python -m benchmarks.adam           # about a minute on 2 cores
"""

from __future__ import annotations

import statistics
import time

import torch

from repr_assets.encoders.mlp import MLPAutoencoder

VARIANTS = {
    "single_tensor": {"foreach": False},
    "foreach": {"foreach": True},
    "fused": {"fused": True},
}


def train(
    options: dict[str, bool], data: torch.Tensor, steps: int, batch: int
) -> tuple[float, torch.Tensor]:
    torch.manual_seed(0)
    model = MLPAutoencoder(data.shape[1], [256, 128], 16)
    optimiser = torch.optim.Adam(model.parameters(), lr=1e-3, **options)
    start = time.perf_counter()
    for step in range(steps):
        rows = data[(step * batch) % (len(data) - batch) :][:batch]
        loss = torch.nn.functional.mse_loss(model(rows), rows)
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        optimiser.step()
    elapsed = time.perf_counter() - start
    return elapsed, torch.cat([p.detach().flatten() for p in model.parameters()])


def main(rounds: int = 5, steps: int = 400, batch: int = 128, features: int = 784) -> None:
    torch.set_flush_denormal(True)
    data = torch.rand(20_000, features, generator=torch.Generator().manual_seed(0))
    times: dict[str, list[float]] = {name: [] for name in VARIANTS}
    weights: dict[str, torch.Tensor] = {}
    for _ in range(rounds):
        for name, options in VARIANTS.items():
            elapsed, weights[name] = train(options, data, steps, batch)
            times[name].append(elapsed)
    base = statistics.median(times["single_tensor"])
    print(f"{steps} steps of batch {batch}, {features} features, threads {torch.get_num_threads()}")
    for name in VARIANTS:
        median = statistics.median(times[name])
        gap = float((weights[name] - weights["single_tensor"]).abs().max())
        print(f"  {name:14s} {median:7.3f} s  {median / base:5.2f}x  max weight gap {gap:.2e}")


if __name__ == "__main__":
    main()
