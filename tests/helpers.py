"""Helpers shared by the tests."""

from __future__ import annotations

from typing import Any

# Every metric of docs/interface.md's table, for a labelled data set.
INTERFACE_METRICS = frozenset(
    {
        "silhouette",
        "davies_bouldin",
        "calinski_harabasz",
        "cluster_separation",
        "linear_probe_accuracy",
        "knn_accuracy",
        "reconstruction_mse",
        "explained_variance",
        "trustworthiness",
        "effective_rank",
        "invariance_cosine",
        "invariance_knn_overlap",
        "recall_at_10",
    }
)


def quick_run_config(dataset: str = "digits", epochs: int = 40) -> dict[str, Any]:
    """Small autoencoder, few epochs: enough to learn digits, fast enough for tests."""
    return {
        "ops": {
            f"{dataset}__autoencoder_model": {
                "config": {"epochs": epochs, "hidden_dims": [128, 64], "device": "cpu"}
            }
        }
    }
