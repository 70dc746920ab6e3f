"""Helpers shared by the tests."""

from __future__ import annotations

from typing import Any


def quick_run_config(dataset: str = "digits", epochs: int = 40) -> dict[str, Any]:
    """Small autoencoder, few epochs: enough to learn digits, fast enough for tests."""
    return {
        "ops": {
            f"{dataset}__autoencoder_model": {
                "config": {"epochs": epochs, "hidden_dims": [128, 64], "device": "cpu"}
            }
        }
    }
