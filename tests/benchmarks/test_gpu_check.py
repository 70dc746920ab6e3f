"""benchmarks/gpu_check.py at a tiny size: every figure present and sane (no timings)."""

from __future__ import annotations

import math

import pytest
import torch


@pytest.fixture(scope="module")
def gpu_check():
    from benchmarks import gpu_check

    return gpu_check


def test_the_check_prints_and_writes_every_figure(gpu_check, tmp_path, capsys) -> None:
    result = gpu_check.main(["--rows", "400", "--epochs", "1", "--results-dir", str(tmp_path)])
    printed = capsys.readouterr().out

    assert result["rows"] == 400 and result["features"] == 784
    assert result["cpu_threads"] == 2
    for figure in ("cpu_train_samples_per_s", "cpu_embed_items_per_s"):
        assert result[figure] > 0 and math.isfinite(result[figure])
    assert 0.0 <= result["cpu_probe_accuracy"] <= 1.0
    assert result["cpu_epochs"] == 1
    assert "CPU (2 threads) training" in printed
    written = list(tmp_path.glob("gpu_check-*.json"))
    assert len(written) == 1

    if torch.cuda.is_available():
        assert result["gpu_skipped"] is None
        assert result["train_ratio"] > 0 and result["embed_ratio"] > 0
        assert 0.0 <= result["accuracy_difference"] <= 1.0
        assert "linear-probe accuracy: CPU-trained" in printed
    else:
        assert result["gpu_skipped"]
        assert result["train_ratio"] is None and result["accuracy_difference"] is None
        assert "GPU parts skipped" in printed


def test_the_gpu_model_trains_for_as_many_steps_as_the_cpu_one(gpu_check) -> None:
    from repr_assets.encoders.autoencoder import AutoencoderConfig

    settings = AutoencoderConfig(epochs=3, batch_size=128, gpu_batch_size=1024)
    assert gpu_check._same_steps(settings, "cpu") == settings
    on_gpu = gpu_check._same_steps(settings, "cuda")
    assert on_gpu.epochs == 24 and on_gpu.patience > on_gpu.epochs
