"""Text and table featurisers against scikit-learn and NumPy references."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
import torch
from sklearn.feature_extraction.text import HashingVectorizer, TfidfVectorizer
from sklearn.preprocessing import normalize

from repr_assets.featurisers import TabularFeaturiser, TextFeaturiser
from sample_sources import tabular_rows, topic_sentences

TEXTS = [text for text, _ in topic_sentences(60)] + ["", "zzz unknownword"]


def text_batches(texts: list[str], size: int = 16) -> list[pa.RecordBatch]:
    return [
        pa.RecordBatch.from_pydict({"text": texts[i : i + size]})
        for i in range(0, len(texts), size)
    ]


def test_tfidf_matches_scikit_learn_with_sublinear_tf():
    featuriser = TextFeaturiser("tfidf", (1, 2), vocabulary_size=10_000).fit(text_batches(TEXTS))
    reference = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit(TEXTS)
    assert featuriser.vocabulary_ == sorted(reference.vocabulary_)
    expected = reference.transform(TEXTS).toarray()
    got = np.vstack([featuriser.featurise(b) for b in text_batches(TEXTS, 7)])
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got[-2], 0.0)  # an empty text: zeros, not NaN


def test_tfidf_vocabulary_keeps_the_terms_in_most_documents():
    featuriser = TextFeaturiser("tfidf", (1, 1), vocabulary_size=5).fit(text_batches(TEXTS))
    assert featuriser.dim == 5
    document_frequency = {
        term: sum(term in text.lower().split() for text in TEXTS) for term in featuriser.vocabulary_
    }
    assert min(document_frequency.values()) >= 10  # the common words, not topic words


def test_hashing_matches_scikit_learn():
    featuriser = TextFeaturiser("hashing", (1, 2), vocabulary_size=256).fit([])
    counts = HashingVectorizer(
        n_features=256, ngram_range=(1, 2), alternate_sign=False, norm=None
    ).transform(TEXTS)
    counts.data = 1 + np.log(counts.data)
    expected = normalize(counts).toarray()
    np.testing.assert_allclose(
        featuriser.featurise(text_batches(TEXTS, 100)[0]), expected, atol=1e-6
    )


def test_text_featuriser_round_trips_with_its_version(tmp_path):
    featuriser = TextFeaturiser("tfidf", (1, 2), 300).fit(text_batches(TEXTS))
    featuriser.save(tmp_path)
    loaded = TextFeaturiser.load(tmp_path)
    assert loaded.version == featuriser.version
    batch = text_batches(TEXTS)[0]
    np.testing.assert_array_equal(loaded.featurise(batch), featuriser.featurise(batch))
    refitted = TextFeaturiser("tfidf", (1, 2), 300).fit(text_batches(TEXTS[:20]))
    assert refitted.version != featuriser.version


def test_word_dropout_drops_terms_and_keeps_unit_norm():
    featuriser = TextFeaturiser("tfidf", (1, 1), 500).fit(text_batches(TEXTS))
    X = featuriser.featurise(text_batches(TEXTS[:40], 40)[0])
    augmented = featuriser.augmentations()["all"](X, torch.Generator().manual_seed(0))
    assert ((augmented > 0).sum(axis=1) <= (X > 0).sum(axis=1)).all()
    assert ((augmented > 0) & (X == 0)).sum() == 0
    np.testing.assert_allclose(np.linalg.norm(augmented, axis=1), 1.0, atol=1e-5)
    assert (augmented != X).any()


def table_batches(table: pa.Table, size: int = 50) -> list[pa.RecordBatch]:
    return table.to_batches(max_chunksize=size)


def test_tabular_standardises_with_training_statistics_and_imputes():
    table = tabular_rows(120)
    featuriser = TabularFeaturiser(["height", "weight", "width"], ["colour"], max_categories=2)
    featuriser.fit(table_batches(table))
    X = np.vstack([featuriser.featurise(b) for b in table_batches(table, 33)])
    for j, name in enumerate(["height", "weight", "width"]):
        values = np.array(table.column(name).to_pylist(), dtype=float)
        present = ~np.isnan(values)
        expected = (values[present] - values[present].mean()) / values[present].std()
        np.testing.assert_allclose(X[present, j], expected, rtol=1e-5, atol=1e-5)
        np.testing.assert_array_equal(X[~present, j], 0.0)
    names = featuriser.feature_names
    assert names[3] == "width=missing"  # only width had gaps at fit
    missing = np.isnan(np.array(table.column("width").to_pylist(), dtype=float))
    np.testing.assert_array_equal(X[:, 3], missing.astype(np.float32))
    colours = table.column("colour").to_pylist()
    counts = {c: colours.count(c) for c in set(colours)}
    kept = sorted(sorted(counts, key=lambda c: (-counts[c], c))[:2])
    assert names[4:] == [f"colour={c}" for c in kept] + ["colour=other", "colour=missing"]
    for row, colour in enumerate(colours):
        column = 4 + kept.index(colour) if colour in kept else 6
        assert X[row, 4:].tolist() == [1.0 if j == column - 4 else 0.0 for j in range(4)]


def test_tabular_new_rows_use_fitted_statistics_and_unknown_categories_go_to_other():
    featuriser = TabularFeaturiser(["x"], ["c"]).fit(
        [pa.RecordBatch.from_pydict({"x": [1.0, 3.0], "c": ["a", "b"]})]
    )
    new = pa.RecordBatch.from_pydict(
        {"x": pa.array([5.0, None], pa.float64()), "c": pa.array(["zzz", None], pa.string())}
    )
    X = featuriser.featurise(new)
    np.testing.assert_allclose(X[:, 0], [3.0, 0.0])  # (5 - 2) / 1; missing -> the mean
    assert featuriser.feature_names == ["x", "c=a", "c=b", "c=other", "c=missing"]
    np.testing.assert_array_equal(X[:, 1:], [[0, 0, 1, 0], [0, 0, 0, 1]])


def test_a_constant_column_stays_finite():
    featuriser = TabularFeaturiser(["x"], []).fit([pa.RecordBatch.from_pydict({"x": [2.0, 2.0]})])
    assert np.isfinite(featuriser.featurise(pa.RecordBatch.from_pydict({"x": [2.0, 9.0]}))).all()


def test_table_noise_is_five_percent_of_the_standardised_numbers_only(tmp_path):
    table = tabular_rows(3000)
    featuriser = TabularFeaturiser(["height", "weight", "width"], ["colour"]).fit(
        table_batches(table, 500)
    )
    X = np.vstack([featuriser.featurise(b) for b in table_batches(table, 500)])
    augmented = featuriser.augmentations()["all"](X, torch.Generator().manual_seed(1))
    assert np.std(augmented[:, :3] - X[:, :3]) == pytest.approx(0.05, rel=0.05)
    np.testing.assert_array_equal(augmented[:, 3:], X[:, 3:])
    featuriser.save(tmp_path)
    assert TabularFeaturiser.load(tmp_path).version == featuriser.version


def _png(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_transparent_pixels_are_white_and_pillow_says_nothing(recwarn):
    """A cut-out is drawn for a light page: its transparent pixels (black in their colour
    channels, as often) are featurised as the white they show, in every mode that holds
    transparency, and Pillow's advice on palettes does not reach the terminal."""
    import pyarrow as pa
    from PIL import Image

    from repr_assets.featurisers.image import ImageFeaturiser

    clear = Image.new("RGBA", (4, 4), (0, 0, 0, 0))
    palette = Image.new("P", (4, 4), 0)
    palette.putpalette([0, 0, 0, 255, 255, 255])
    palette.info["transparency"] = b"\x00"  # colour 0 transparent, as bytes: Pillow warns
    grey_alpha = Image.new("LA", (4, 4), (0, 0))
    opaque_black = Image.new("RGB", (4, 4), (0, 0, 0))
    images = [_png(i) for i in (clear, palette, grey_alpha, opaque_black)]
    batch = pa.RecordBatch.from_pydict({"item_id": ["a", "b", "c", "d"], "image": images})
    features = ImageFeaturiser(4).featurise(batch)
    np.testing.assert_array_equal(features[:3], 1.0)
    np.testing.assert_array_equal(features[3], 0.0)  # black that is not transparent stays
    assert [str(w.message) for w in recwarn] == []
    # A featuriser saved before compositing (revision 1) featurises as it did.
    old = ImageFeaturiser(4, revision=1).featurise(batch)
    np.testing.assert_array_equal(old[0], 0.0)
    assert ImageFeaturiser(4).version != ImageFeaturiser(4, revision=1).version


def test_a_revision_1_featuriser_loads_as_revision_1(tmp_path):
    import json

    from repr_assets.featurisers.image import ImageFeaturiser

    (tmp_path / "featuriser.json").write_text(json.dumps({"params": {"size": 8}}))
    assert ImageFeaturiser.load(tmp_path) == ImageFeaturiser(8, revision=1)
    ImageFeaturiser(8).save(tmp_path)
    assert ImageFeaturiser.load(tmp_path) == ImageFeaturiser(8)


def test_colour_images_keep_their_planes_and_grey_ones_their_version(tmp_path):
    """RGB rows hold the red, green and blue planes one after another, as Pillow decodes
    them; a transparent pixel is white in each; a grey featuriser is the one saved before
    colour existed (same version, same file)."""
    from PIL import Image

    from repr_assets.featurisers.image import ImageFeaturiser

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 5, 3), dtype=np.uint8)
    cut_out = Image.new("RGBA", (5, 5), (10, 200, 30, 0))
    batch = pa.RecordBatch.from_pydict(
        {"item_id": ["a", "b"], "image": [_png(Image.fromarray(pixels)), _png(cut_out)]}
    )
    colour = ImageFeaturiser(5, channels=3)
    features = colour.featurise(batch)
    assert features.shape == (2, 75) and colour.dim == 75
    np.testing.assert_allclose(features[0], pixels.transpose(2, 0, 1).ravel() / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(features[1], 1.0)
    grey = ImageFeaturiser(5)
    assert grey.params == {"size": 5, "revision": 2}
    assert colour.version != grey.version
    colour.save(tmp_path)
    assert ImageFeaturiser.load(tmp_path) == colour
    # Shift, rotation and noise move each plane as the grey image's.
    moved = colour.augmentations()["shift"](features, torch.Generator().manual_seed(0))
    assert moved.shape == features.shape
