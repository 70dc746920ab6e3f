"""Four encoders on digits and a pretrained one on texts, fitted and compared in one graph."""

from __future__ import annotations

import dataclasses

import dagster as dg
import duckdb
import numpy as np
import pytest

from repr_assets.cli import main
from repr_assets.datasets.specs import DIGITS, DatasetSpec
from repr_assets.encoders.minilm import minilm_available
from repr_assets.orchestration import build_representation_assets
from repr_assets.orchestration.resources import build_resources
from repr_assets.search import Searcher
from repr_assets.search.raw import Text, encode_raw
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import ModelStore
from sample_sources import semantic_topic_sentences, write_semantic_csv

FOUR = ("pca", "autoencoder", "denoising_autoencoder", "contrastive")


def latest(home, dataset: str) -> dict[str, dict[str, float]]:
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        rows = connection.execute(
            "SELECT encoder, metric, value FROM latest_quality WHERE dataset = ?", [dataset]
        ).fetchall()
    values: dict[str, dict[str, float]] = {}
    for encoder, metric, value in rows:
        values.setdefault(encoder, {})[metric] = value
    return values


@pytest.fixture(scope="module")
def digits_four(tmp_path_factory):
    from repr_assets.home import Home

    home = Home.at(tmp_path_factory.mktemp("four"))
    spec = dataclasses.replace(DIGITS, encoders=FOUR)
    # Default configurations: the comparison is about the encoders as shipped.
    result = dg.materialize(
        build_representation_assets(spec),
        resources=build_resources(home),
        instance=dg.DagsterInstance.ephemeral(),
    )
    return home, result


@pytest.mark.slow
def test_each_encoder_gets_its_model_embeddings_table_and_metrics(digits_four):
    home, result = digits_four
    assert result.success
    store = LanceStore(home.lancedb)
    for encoder in FOUR:
        assert store.count(f"digits_{encoder}") == 1797
        assert result.asset_materializations_for_node(f"digits__{encoder}_model")
    values = latest(home, "digits")
    assert set(values) == {*FOUR, "features"}  # and the raw features' baselines
    # Encoders without a decoder have no reconstruction metrics, and nothing in their place.
    assert "reconstruction_mse" not in values["contrastive"]
    assert "reconstruction_mse" in values["denoising_autoencoder"]


@pytest.mark.slow
def test_invariant_training_buys_invariance_on_digits(digits_four):
    values = latest(digits_four[0], "digits")
    plain = values["autoencoder"]
    assert values["contrastive"]["invariance_cosine"] > plain["invariance_cosine"]
    assert values["contrastive"]["knn_accuracy"] >= plain["knn_accuracy"]
    assert values["denoising_autoencoder"]["invariance_cosine"] >= plain["invariance_cosine"]


@pytest.mark.slow
def test_contrastive_embeddings_have_unit_norm(digits_four):
    import numpy as np

    from repr_assets.items.schemas import vectors_of

    table = LanceStore(digits_four[0].lancedb).read_table("digits_contrastive")
    norms = np.linalg.norm(vectors_of(table.column("vector")), axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)


@pytest.mark.slow
def test_the_report_shows_the_encoders_side_by_side(digits_four):
    _, result = digits_four
    [event] = result.asset_materializations_for_node("digits__quality_report")
    table = event.metadata["metrics"].value
    assert [c.name for c in table.schema.columns] == ["metric", *FOUR, "best"]
    knn = next(r.data for r in table.records if r.data["metric"] == "knn_accuracy")
    assert knn["best"] in FOUR and knn["pca"].endswith(")")
    assert "embedding_map" in event.metadata


@pytest.mark.slow
@pytest.mark.skipif(not minilm_available(), reason="needs the text extra")
def test_minilm_beats_pca_on_topics_told_apart_by_meaning(tmp_path, home):
    # 20 sentences a topic, each drawing 2 of its 20 words: most test sentences' words were
    # never seen in training, so only meaning tells them apart (with 300 sentences every
    # word is seen, and TF-IDF's PCA scores 1.0 too).
    path = write_semantic_csv(tmp_path / "topics.csv", count=100)
    spec = DatasetSpec(
        name="topics",
        modality="text",
        source=str(path),
        text_column="sentence",
        label_column="topic",
        encoders=("pca", "minilm"),
    )
    result = dg.materialize(
        build_representation_assets(spec),
        resources=build_resources(home),
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    values = latest(home, "topics")
    assert values["minilm"]["linear_probe_accuracy"] >= values["pca"]["linear_probe_accuracy"] + 0.1
    distinct = len({text for text, _ in semantic_topic_sentences(100)})  # repeats dropped
    assert LanceStore(home.lancedb).count("topics_minilm") == distinct
    # A text query reaches minilm as text (never as TF-IDF features), and so does one with
    # no word the featuriser knows.
    store, models = LanceStore(home.lancedb), ModelStore(home.models)
    sentence, topic = semantic_topic_sentences(100)[0]
    for text in (sentence, "zzyzx qwerty"):
        query = encode_raw(spec, "minilm", Text(text), store, models)
        assert query.shape == (1, 384) and np.isfinite(query).all()
    hits = Searcher(store, "topics_minilm").search(
        encode_raw(spec, "minilm", Text(sentence), store, models), 3
    )[0]
    assert hits.distances[0] < 1e-3 and hits.labels[0] == topic


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--encoders", "nosuch"], "unknown encoder 'nosuch'; the known encoders are: pca,"),
        (["--encoders", "minilm"], "encoder 'minilm' reads text items, but data set 'digits'"),
    ],
)
def test_bad_encoders_are_one_line(home, capsys, args, message):
    assert main(["run", *args]) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and message in error[0], error
    assert not home.root.exists()
