"""A new text as a query: featurised and encoded as the served vectors were."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from repr_assets.cli import main
from repr_assets.datasets.catalog import Catalog
from repr_assets.encoders.registry import load_encoder
from repr_assets.featurisers import load_featuriser
from repr_assets.names import embeddings_table
from repr_assets.search.raw import Text, encode_raw
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import FEATURISER, ModelStore
from repr_assets.stores.serving import model_version_of, served_version
from sample_sources import TOPICS, write_text_csv


def test_a_text_query_is_featurised_by_the_featuriser_of_the_served_model(tmp_path, home):
    """After a refit that is rolled back, the served model is the first one: the query
    goes through the featuriser that model was fitted on, not the newest one."""
    csv = write_text_csv(tmp_path / "reviews.csv", count=200)
    source = ["--source", str(csv), "--text-column", "review", "--label-column", "topic"]
    assert main(["run", *source, "--encoders", "pca"]) == 0
    with csv.open("a") as handle:  # new words: the refitted vocabulary differs
        for n in range(80):
            handle.write(f"zebra quokka axolotl {n} narwhal okapi,travel,3\n")
    assert main(["run", "--dataset", "reviews", "--refit"]) == 0
    assert main(["rollback", "--dataset", "reviews", "--encoder", "pca", "--to", "1"]) == 0

    store, models = LanceStore(home.lancedb), ModelStore(home.models)
    table = embeddings_table("reviews", "pca")
    served = model_version_of(store, table, served_version(store.dataset(table)))
    encoder, saved = load_encoder(models, "reviews", "pca", served)
    fitted_on = saved.meta["featuriser_version"]
    assert fitted_on != models.latest_version("reviews", FEATURISER)
    featuriser, _ = load_featuriser(models, "reviews", fitted_on)
    text = TOPICS["sport"]
    expected = encoder.transform(
        featuriser.featurise(pa.RecordBatch.from_pydict({"item_id": ["q"], "text": [text]}))
    )
    spec = Catalog(home).get("reviews")
    query = encode_raw(spec, "pca", Text(text), store, models)
    np.testing.assert_allclose(query, expected, rtol=1e-6)
