"""The benchmark suite on tiny sizes: what it compares is the same, and it writes every row.

Correctness only: no figure of time or speed is asserted, since the machine is shared.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.decomposition import PCA as SklearnPCA

from benchmarks import suite
from repr_assets.encoders.pca import PCA

TINY = suite.Sizes(
    name="tiny",
    pca_rows=3_000,
    pca_features=64,
    pca_components=8,
    pca_rounds=1,
    ae_rows=400,
    ae_epochs=1,
    ae_rounds=1,
    write_rows=2_500,
    write_dim=8,
    write_rounds=1,
    idx_items=300,
    idx_rounds=1,
    search_rows=(1_000,),
    search_queries=12,
    search_budget_s=0.02,
    search_rounds=1,
    report_items=(500,),
    report_epochs=1,
    cli_rounds=1,
    whole_rounds=1,
    whole_idx_items=0,
    settle_s=0.0,
)


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[list, dict]:
    results = tmp_path_factory.mktemp("results")
    rows, path = suite.run_suite(TINY, results_dir=results)
    assert path.parent == results and path.suffix == ".json"
    return rows, json.loads(path.read_text())


def _row(rows: list, starts: str):
    matching = [row for row in rows if row.measurement.startswith(starts)]
    assert len(matching) == 1, [row.measurement for row in rows]
    return matching[0]


def test_json_holds_every_measurement(written: tuple[list, dict]) -> None:
    rows, document = written
    assert document["mode"] == "tiny"
    assert document["measurements"] == list(suite.MEASUREMENTS)
    assert set(document["seconds_per_measurement"]) == set(suite.MEASUREMENTS)
    names = [row["measurement"] for row in document["rows"]]
    assert names == [row.measurement for row in rows]
    for prefix in (
        "PCA fit",
        "PCA subspace",
        "autoencoder training",
        "embedding write, LanceStore.upsert",
        "embedding write, embed_items",
        "featurising an IDX folder",
        "search, 1,000 x 128: exact path vs NumPy, single query",
        "search, 1,000 x 128: ANN path recall@10",
        "quality report vs autoencoder training",
        "search, 1,000 x 128: ANN index tuned to recall@10 >= 0.95",
        "search, 1,000 x 128: ANN at its tuned depth",
        "cold start: repr-assets search --id",
        "cold start: repr-assets sql",
        "cold start: repr-assets report",
        "repr-assets run vs a hand-written script, digits",
    ):
        assert sum(name.startswith(prefix) for name in names) == 1, prefix
    for row in document["rows"]:
        assert set(row) >= {"measurement", "ours", "reference", "ratio", "goal", "met"}
        assert np.isfinite(row["ours"]) and row["ours"] >= 0
        if row["ratio"] is not None:
            assert np.isfinite(row["ratio"]) and row["ratio"] > 0
        # A goal comes with its verdict; a reported figure has neither.
        assert (row["goal"] is None) == (row["met"] is None)


def test_pca_subspace_equals_the_reference(written: tuple[list, dict]) -> None:
    rows, _ = written
    angles = _row(rows, "PCA subspace").details["angles_by_solver"]
    assert set(angles) == {"covariance_eigh", "randomized", "full"}
    assert angles["covariance_eigh"] < 1e-3
    assert angles["full"] < 1e-3
    assert _row(rows, "PCA subspace").met
    assert _row(rows, "PCA fit").details["fastest_reference"] in angles


def test_written_tables_equal_the_create_table_rows(written: tuple[list, dict]) -> None:
    rows, _ = written
    for starts in ("embedding write, LanceStore.upsert", "embedding write, embed_items"):
        assert _row(rows, starts).details["same_rows_as_create_table"] is True


def test_idx_features_equal_the_numpy_decoding(written: tuple[list, dict]) -> None:
    rows, _ = written
    assert _row(rows, "featurising an IDX folder").details["max_abs_difference"] <= 1e-6


def test_search_exact_path_has_full_recall(written: tuple[list, dict]) -> None:
    rows, _ = written
    assert _row(rows, "search, 1,000 x 128: exact path recall@10").ours == 1.0


@pytest.mark.parametrize("offset", [0.0, 0.5, 1e3])
def test_float32_pca_matches_the_float64_fit(offset: float) -> None:
    """The float32 path (uncentred near the origin, centred far from it) keeps the
    subspace and the variances of a float64 fit of the same numbers."""
    X = suite.low_rank_data(5_000, 40, 6, seed=2) + np.float32(offset)
    ours = PCA(6).fit(X)
    exact = PCA(6).fit(X.astype(np.float64))
    assert suite.max_principal_angle(ours.components_, exact.components_) < 1e-4
    np.testing.assert_allclose(ours.explained_variance_, exact.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(ours.mean_, exact.mean_, rtol=1e-6, atol=1e-6)
    # scikit-learn's SVD of the centred data; its "covariance_eigh" solver multiplies the
    # uncentred float32 rows and, 1e3 from the origin, loses the subspace altogether.
    reference = SklearnPCA(6, svd_solver="full").fit(X)
    assert suite.max_principal_angle(ours.components_, reference.components_) < 1e-3


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_float32_pca_refuses_non_finite_values(bad: float) -> None:
    X = suite.low_rank_data(500, 10, 3)
    X[321, 4] = bad
    with pytest.raises(ValueError, match="NaN or Inf"):
        PCA(2).fit(X)


def test_each_cold_command_answers_as_its_plain_script(written: tuple[list, dict]) -> None:
    rows, _ = written
    search = _row(rows, "cold start: repr-assets search --id").details
    hits = json.loads(search["ours_output"])
    plain = [line.split() for line in search["plain_output"].splitlines()]
    assert [hit["item_id"] for hit in hits] == [item_id for item_id, _ in plain]
    assert [round(hit["distance"], 4) for hit in hits] == [float(d) for _, d in plain]
    sql = _row(rows, "cold start: repr-assets sql").details
    counts = [line.split() for line in sql["plain_output"].splitlines()]
    ours = [line.split() for line in sql["ours_output"].splitlines()[2:-1]]  # header, rule, count
    assert ours == counts and sum(int(n) for _, n in counts) == 1797
    report = _row(rows, "cold start: repr-assets report").details
    for encoder, metric, value in (line.split() for line in report["plain_output"].splitlines()):
        if encoder == "pca" and metric in {"linear_probe_accuracy", "effective_rank"}:
            assert f"{float(value):.4f}" in report["ours_output"]


def test_the_hand_written_script_scores_digits_as_a_person_would(
    written: tuple[list, dict],
) -> None:
    rows, _ = written
    whole = _row(rows, "repr-assets run vs a hand-written script, digits")
    assert "200 epochs" in whole.measurement
    lines = dict(line.split(" ", 1) for line in whole.details["script_output"].splitlines())
    pca = eval(lines["pca"])  # the script prints a dict of rounded floats
    autoencoder = eval(lines["autoencoder"])
    assert pca["linear_probe_accuracy"] > 0.9 and autoencoder["linear_probe_accuracy"] > 0.9
