"""Safe publish: embeddings whose checks fail are never served; rollback serves older ones."""

from __future__ import annotations

import dagster as dg
import duckdb
import pytest

from repr_assets.cli import main
from repr_assets.datasets.specs import DIGITS
from repr_assets.orchestration import build_representation_assets
from repr_assets.orchestration.resources import build_resources
from repr_assets.search import Searcher
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import served_version
from tests.helpers import quick_run_config

QUERIES = ["digits-0007", "digits-0100", "digits-1500"]


def materialize(home, latent_dim: int) -> dg.ExecuteInProcessResult:
    """The digits graph, with digits' own floors, PCA at ``latent_dim`` components."""
    config = quick_run_config()
    config["ops"]["digits__pca_model"] = {"config": {"latent_dim": latent_dim}}
    return dg.materialize(
        build_representation_assets(DIGITS),
        resources=build_resources(home),
        run_config=config,
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
    )


def neighbours(home) -> list[list[str]]:
    searcher = Searcher(LanceStore(home.lancedb), "digits_pca", exact=True)
    return [[hit["item_id"] for hit in hits.records()] for hits in searcher.search_ids(QUERIES, 5)]


def publications(home) -> list[tuple]:
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        return connection.execute(
            "SELECT encoder, table_version, action FROM publications ORDER BY published_at, rowid"
        ).fetchall()


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    from repr_assets.home import Home

    home = Home.at(tmp_path_factory.mktemp("serving"))
    first = materialize(home, latent_dim=16)
    assert first.success
    return home, neighbours(home)


@pytest.mark.slow
def test_a_model_that_fails_its_checks_is_not_served(published, monkeypatch):
    """The issue's reproduction: after a good run, a 1-component PCA fails every floor
    (its served predecessor passes them all), and must not replace it."""
    home, before = published
    store = LanceStore(home.lancedb)
    served = served_version(store.dataset("digits_pca"))
    result = materialize(home, latent_dim=1)
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert failed == {
        "pca_linear_probe_accuracy_at_least",
        "pca_effective_rank_at_least",
        "pca_explained_variance_at_least",
    }
    assert store.open("digits_pca").version > served  # the new embeddings were written
    assert served_version(store.dataset("digits_pca")) == served
    assert neighbours(home) == before
    # The hold of the new PCA version is recorded; the unchanged autoencoder adds no row.
    assert publications(home)[-1] == ("pca", store.open("digits_pca").version, "hold")
    assert [row for row in publications(home) if row[0] == "autoencoder"] == [
        ("autoencoder", served_version(store.dataset("digits_autoencoder")), "publish")
    ]
    [event] = result.asset_materializations_for_node("digits__served_embeddings")
    assert list(event.metadata["held_back"].value) == ["pca"]
    assert event.metadata["held_back"].value["pca"].startswith("checks failed: ")

    # A good new model is served; rollback serves the first one again.
    assert materialize(home, latent_dim=8).success
    assert served_version(store.dataset("digits_pca")) == store.open("digits_pca").version
    assert neighbours(home) != before
    monkeypatch.setenv("REPR_ASSETS_HOME", str(home.root))
    assert main(["rollback", "--dataset", "digits", "--encoder", "pca"]) == 0
    assert served_version(store.dataset("digits_pca")) == served
    assert neighbours(home) == before


def test_rollback_refuses_a_version_the_table_never_had(published, capsys, monkeypatch):
    home, _ = published
    monkeypatch.setenv("REPR_ASSETS_HOME", str(home.root))
    assert main(["rollback", "--dataset", "digits", "--encoder", "pca", "--to", "999"]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "'digits_pca' has no version 999: its newest is" in error[0]
