"""Safe publish judges the model that wrote the version being published, nothing else.

Every case is built so that judging the wrong model (the one served now) gives the other
answer: a served model that passes beside a newest one that fails, and the reverse.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import duckdb
import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.home import Home
from repr_assets.items.schemas import vector_array
from repr_assets.pipeline.embed import embedding_schema
from repr_assets.pipeline.publish import publish_encoders
from repr_assets.quality.thresholds import (
    BASELINE_ENCODER,
    MAJORITY_SHARE,
    RAW_PROBE,
    QualityThresholds,
)
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.publications import Publication, now, record_publication
from repr_assets.stores.reports import MetricValue, append_metrics
from repr_assets.stores.serving import RollbackError, decide, move_served, rollback, served_version
from tests.helpers import one_line, repr_assets

GOOD = {"linear_probe_accuracy": 0.9, "effective_rank": 6.0, "explained_variance": 0.7}
BAD = {"linear_probe_accuracy": 0.15, "effective_rank": 1.0, "explained_variance": 0.1}
BASELINES = {MAJORITY_SHARE: 0.1, RAW_PROBE: 0.95}  # relative probe floor: 0.665


# --- the decision alone, as a plain truth table ---------------------------------------


FAILS = ["effective_rank_at_least"]
# served now | the newest model's checks (None: no report) | rolled back over | serve newest?
TRUTH_TABLE = [
    (None, [], None, True),  # first publication, passing
    (None, FAILS, None, False),  # first publication, failing
    (None, None, None, False),  # first publication, no report yet
    ("older", [], None, True),  # a passing model replaces whatever is served
    ("older", FAILS, None, False),  # a failing one replaces nothing
    ("older", None, None, False),
    ("newest", [], None, True),  # already served
    ("newest", FAILS, None, False),  # (its report failed since: it is not judged again here)
    ("older", [], "newest", False),  # rolled back by hand from the newest: it stays unserved
    ("older", [], "older", True),  # a version written after the rollback is judged
]


@pytest.mark.parametrize(("served", "failed", "rolled_back", "serves"), TRUTH_TABLE)
def test_the_decision_follows_the_newest_models_checks_alone(served, failed, rolled_back, serves):
    newest = 7
    at = {None: None, "older": 5, "newest": newest}
    published, reason = decide(newest, at[served], failed, at[rolled_back])
    assert published is serves
    assert ("nothing was ever served" in reason) == (served is None and not published)
    assert ("effective_rank_at_least" in reason) == (failed == FAILS and rolled_back is None)


@given(newest=st.integers(2, 10_000), served=st.integers(1, 10_000))
def test_a_passing_newest_model_is_served_whatever_is_served_now(newest, served):
    assert decide(newest, min(served, newest), [])[0]
    assert not decide(newest, min(served, newest), FAILS)[0]


# --- the step, on a real LanceDB table and a real DuckDB report -------------------------


def write_version(store: LanceStore, model: str, rows: int = 30) -> int:
    """A new version of ``d_pca`` written by ``model``; its table version."""
    vectors = np.random.default_rng(len(model)).normal(size=(rows, 4)).astype(np.float32)
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array([f"i{k:03d}" for k in range(rows)]),
            pa.array([str(k % 3) for k in range(rows)]),
            pa.nulls(rows, pa.string()),
            vector_array(vectors),
            pa.array([model] * rows),
            pa.array(["run"] * rows),
        ],
        schema=embedding_schema(4),
    )
    return store.replace("d_pca", embedding_schema(4), [batch]).version


def report(path, model: str, values: dict[str, float], minute: int, baselines: bool) -> None:
    at = datetime(2026, 1, 1) + timedelta(minutes=minute)
    run = f"report-{model}-{minute}"
    rows = [MetricValue("d", "pca", model, k, v, run, at) for k, v in values.items()]
    if baselines:
        rows += [
            MetricValue("d", BASELINE_ENCODER, "f", k, v, run, at) for k, v in BASELINES.items()
        ]
    with duckdb.connect(str(path)) as connection:
        append_metrics(connection, rows)


def publish(store: LanceStore, path, spec: DatasetSpec):
    (result,) = publish_encoders(spec, store, lambda: duckdb.connect(str(path)), "this-run")
    with duckdb.connect(str(path)) as connection:
        recorded = connection.execute(
            "SELECT table_version, model_version, action FROM publications"
        ).fetchall()
    return result, recorded


RELATIVE = DatasetSpec(name="d", modality="tabular", encoders=("pca",))
ABSOLUTE = DatasetSpec(
    name="d",
    modality="tabular",
    encoders=("pca",),
    thresholds=QualityThresholds(min_linear_probe_accuracy=0.5),
)
CASES = {
    # name: (served model's values or None (nothing served), newest model's values or None
    # (no report), whether the newest is served afterwards)
    "first publication, passing": (None, GOOD, True),
    "first publication, failing": (None, BAD, False),
    "served passes, newest fails": (GOOD, BAD, False),
    "served fails, newest passes": (BAD, GOOD, True),
    "both pass": (GOOD, GOOD, True),
    "no report for the newest model": (GOOD, None, False),
}


@pytest.mark.parametrize("spec", [RELATIVE, ABSOLUTE], ids=["relative floors", "absolute"])
@pytest.mark.parametrize("case", list(CASES))
def test_publish_serves_the_newest_version_only_when_its_model_passed(tmp_path, case, spec):
    served_values, newest_values, serves_newest = CASES[case]
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    with_baselines = spec is RELATIVE
    before = None
    if served_values is not None:
        before = write_version(store, "old-model")
        report(reports, "old-model", served_values, 0, with_baselines)
        move_served(store, "d_pca", before)
    newest = write_version(store, "new-model")
    if newest_values is not None:
        report(reports, "new-model", newest_values, 5, with_baselines)

    result, recorded = publish(store, reports, spec)

    assert result.model_version == "new-model"
    assert result.decision.published is serves_newest
    after = served_version(store.dataset("d_pca"))
    assert after == (newest if serves_newest else before)
    assert recorded == [(newest, "new-model", "publish" if serves_newest else "hold")]
    if after is None:
        assert "nothing was ever served" in result.decision.reason


def test_a_second_publish_of_the_same_decision_records_nothing(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    write_version(store, "m")
    report(reports, "m", GOOD, 0, baselines=True)
    _, first = publish(store, reports, RELATIVE)
    result, again = publish(store, reports, RELATIVE)
    assert result.decision.reason == "already served"
    assert again == first  # one row, not one per run
    write_version(store, "bad")
    report(reports, "bad", BAD, 1, baselines=True)
    _, held = publish(store, reports, RELATIVE)
    _, held_again = publish(store, reports, RELATIVE)
    assert [action for *_, action in held_again] == ["publish", "hold"]
    assert held_again == held


def test_relative_floor_uses_the_newest_reports_own_baselines(tmp_path):
    """0.6 passes against a raw probe of 0.8 (floor 0.56), fails against 0.95 (0.665)."""
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    write_version(store, "m")
    values = {**GOOD, "linear_probe_accuracy": 0.6}
    report(reports, "m", values, 0, baselines=True)  # raw probe 0.95: fails
    result, _ = publish(store, reports, RELATIVE)
    assert not result.decision.published
    assert "linear_probe_accuracy_at_least" in result.decision.reason
    at = datetime(2026, 1, 1, 1)
    with duckdb.connect(str(reports)) as connection:
        append_metrics(
            connection,
            [MetricValue("d", "pca", "m", k, v, "later", at) for k, v in values.items()]
            + [MetricValue("d", BASELINE_ENCODER, "f", RAW_PROBE, 0.8, "later", at)]
            + [MetricValue("d", BASELINE_ENCODER, "f", MAJORITY_SHARE, 0.1, "later", at)],
        )
    result, _ = publish(store, reports, RELATIVE)
    assert result.decision.published


def test_a_rollback_holds_until_a_run_writes_a_new_version(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    for minute, model in enumerate(("m1", "m2")):
        write_version(store, model)
        report(reports, model, GOOD, minute, baselines=True)
        publish(store, reports, RELATIVE)
    with duckdb.connect(str(reports)) as connection:
        assert rollback(store, connection, "d", "pca") == (2, 1)
    # The next run finds the newest version (2) passing: a rollback by hand still stands.
    result, _ = publish(store, reports, RELATIVE)
    assert not result.decision.published and "rolled back by hand" in result.decision.reason
    assert served_version(store.dataset("d_pca")) == 1
    write_version(store, "m3")
    report(reports, "m3", GOOD, 9, baselines=True)
    result, _ = publish(store, reports, RELATIVE)
    assert result.decision.published and served_version(store.dataset("d_pca")) == 3


def test_after_a_drop_no_earlier_decision_speaks_for_the_table_made_again(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    for minute, model in enumerate(("m1", "m2")):
        write_version(store, model)
        report(reports, model, GOOD, minute, baselines=True)
        publish(store, reports, RELATIVE)
    with duckdb.connect(str(reports)) as connection:
        record_publication(
            connection,
            Publication("d", "pca", "d_pca", 2, None, "drop", "dropped", None, now()),
        )
    store.db.drop_table("d_pca")
    # Made again: version 1 fails its checks, version 2 passes.
    write_version(store, "bad")
    report(reports, "bad", BAD, 10, baselines=True)
    assert not publish(store, reports, RELATIVE)[0].decision.published
    write_version(store, "good")
    report(reports, "good", GOOD, 11, baselines=True)
    assert publish(store, reports, RELATIVE)[0].decision.published
    with duckdb.connect(str(reports)) as connection:
        # Version 1 was published before the drop, by another table: it is not a target.
        with pytest.raises(RollbackError, match="the first it ever published"):
            rollback(store, connection, "d", "pca")
        with pytest.raises(RollbackError, match="never published"):
            rollback(store, connection, "d", "pca", to=1)
    assert served_version(store.dataset("d_pca")) == 2


def test_rollback_refuses_a_version_that_another_model_wrote_since(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    for minute, model in enumerate(("m1", "m2")):
        write_version(store, model)
        report(reports, model, GOOD, minute, baselines=True)
        publish(store, reports, RELATIVE)
    # Version 1's record says m1; pretend the table was made again without a drop row.
    store.db.drop_table("d_pca")
    write_version(store, "other")
    write_version(store, "m2")
    move_served(store, "d_pca", 2)
    with duckdb.connect(str(reports)) as connection, pytest.raises(RollbackError, match="m1"):
        rollback(store, connection, "d", "pca", to=1)


def test_rollback_refuses_a_version_whose_checks_failed(tmp_path):
    store, reports = LanceStore(tmp_path / "lancedb"), tmp_path / "reports.duckdb"
    for minute, (model, values) in enumerate((("good", GOOD), ("bad", BAD), ("good2", GOOD))):
        write_version(store, model)
        report(reports, model, values, minute, baselines=True)
        publish(store, reports, RELATIVE)
    with duckdb.connect(str(reports)) as connection:
        with pytest.raises(RollbackError, match="version 2 of 'd_pca' was never published"):
            rollback(store, connection, "d", "pca", to=2)
        assert rollback(store, connection, "d", "pca", to=1) == (3, 1)


@pytest.mark.parametrize("why", ["hold", "rollback"])
def test_searching_for_an_item_of_an_unserved_version_says_why_it_is_missing(tmp_path, why):
    home = Home.at(tmp_path)
    store = LanceStore(home.lancedb)
    write_version(store, "m1", rows=30)
    report(home.reports, "m1", GOOD, 0, baselines=True)
    publish(store, home.reports, RELATIVE)
    write_version(store, "m2", rows=31)  # adds item i030
    report(home.reports, "m2", BAD if why == "hold" else GOOD, 1, baselines=True)
    publish(store, home.reports, RELATIVE)
    if why == "rollback":
        with duckdb.connect(str(home.reports)) as connection:
            rollback(store, connection, "d", "pca")
    result = repr_assets(tmp_path, "search", "--dataset", "d", "--encoder", "pca", "--id", "i030")
    assert result.returncode == 2
    line = one_line(result)
    assert "'i030' is in version 2 of 'd_pca', which is not served" in line
    assert f"searches read version 1 ({why}:" in line


def test_a_filter_with_spaces_is_read_as_typed_and_no_hits_say_so(tmp_path):
    store = LanceStore(Home.at(tmp_path).lancedb)
    write_version(store, "m1")
    search = ("search", "--dataset", "d", "--encoder", "pca", "--id", "i000")
    spaced = repr_assets(tmp_path, *search, "--where", "label = 1", "-k", "30", "--json")
    assert spaced.returncode == 0, spaced.stderr
    # Every item labelled 1 (i000 is labelled 0), as `--where label=1` finds them.
    assert sorted(hit["item_id"] for hit in json.loads(spaced.stdout)) == [
        f"i{k:03d}" for k in range(1, 30, 3)
    ]
    none = repr_assets(tmp_path, *search, "--where", "label = no such label")
    assert none.returncode == 0 and none.stdout.splitlines()[-1] == "(0 hits)"
