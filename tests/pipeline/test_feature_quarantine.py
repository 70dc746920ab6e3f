"""Items with a value the featuriser cannot standardise: set aside, never failing the data set."""

from __future__ import annotations

import re
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pyarrow as pa

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.featurisers import TabularFeaturiser
from repr_assets.items.holdout import stratified_test_mask
from repr_assets.items.schemas import vector_schema, vectors_of
from repr_assets.orchestration import build_representation_assets, build_resources
from repr_assets.pipeline.featurise import current_featuriser, featurise, remove_items
from repr_assets.pipeline.ingest import ingest_items
from repr_assets.sources import Quarantined, open_source
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.models import FEATURISER, ModelStore
from repr_assets.stores.quarantine import record_quarantined, set_aside

MASS_MEAN, MASS_STD = 1.2, 0.3


def write_plants(path: Path, rows: int = 200, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    lines = ["mass,colour,kind"]
    for n, mass in enumerate(rng.normal(MASS_MEAN, MASS_STD, rows)):
        lines.append(f"{float(mass)!r},{['red', 'blue'][n % 2]},{'ab'[n % 2]}")
    path.write_text("\n".join(lines) + "\n")
    return path


def append(path: Path, *lines: str) -> None:
    with path.open("a") as handle:
        handle.write("".join(f"{line}\n" for line in lines))


def featurise_items(spec: DatasetSpec, store: LanceStore, models: ModelStore, home):
    """The features step, recording what it sets aside in the home's reports."""
    return featurise(spec, store, models, lambda: duckdb.connect(str(home.reports)), "run")


def recorded(home) -> list[Quarantined]:
    """What the quarantine table holds, in ref order."""
    with duckdb.connect(str(home.reports)) as connection:
        rows = connection.execute(
            "SELECT ref, reason, item_id FROM quarantine ORDER BY ref"
        ).fetchall()
    return [Quarantined(ref, reason, item_id) for ref, reason, item_id in rows]


def plants_spec(path: Path) -> DatasetSpec:
    return DatasetSpec(name="plants", modality="tabular", source=str(path), label_column="kind")


def table_state(store: LanceStore) -> dict[str, tuple[int, int]]:
    return {name: (store.open(name).version, store.count(name)) for name in store.table_names()}


def ids_of(store: LanceStore, table: str) -> list[str]:
    return sorted(store.read_table(table, columns=["item_id"]).column("item_id").to_pylist())


def test_a_later_value_of_1e300_is_set_aside_and_a_rerun_changes_nothing(tmp_path, home):
    path = write_plants(tmp_path / "plants.csv")
    spec = plants_spec(path)
    store, models = LanceStore(home.lancedb), ModelStore(home.models)
    ingest_items(spec, store)
    assert featurise_items(spec, store, models, home).set_aside == []

    append(path, "1e300,red,a", "1.3,blue,b")
    assert ingest_items(spec, store).new_items == 2
    written = featurise_items(spec, store, models, home)
    featuriser = written.featuriser
    assert not written.refitted
    assert isinstance(featuriser, TabularFeaturiser) and featuriser.mean_ is not None
    assert featuriser.scale_ is not None
    mean, scale = featuriser.mean_[0], featuriser.scale_[0]
    assert (
        written.set_aside
        == recorded(home)
        == [
            Quarantined(
                "plants.csv:line 202",
                "value 1e+300 of numeric column 'mass' cannot be standardised to a finite feature "
                f"(training mean {mean:.6g}, scale {scale:.6g})",
                written.set_aside[0].item_id,  # the row's content id: how a later run knows it
            )
        ]
    )
    assert written.write.rows_written == 1
    # Every item keeps exactly one features row: the item set aside is in neither table.
    assert ids_of(store, "plants_items") == ids_of(store, "plants_features")
    assert written.write.total_rows == store.count("plants_items") == 201
    refs = store.read_table("plants_items", columns=["ref"]).column("ref").to_pylist()
    assert "plants.csv:line 202" not in refs

    state = table_state(store)
    with duckdb.connect(str(home.reports)) as connection:
        before = set_aside(connection, "plants")  # what the items step reads
    assert before.keys == {written.set_aside[0].item_id}
    again = ingest_items(spec, store, before)
    assert (again.new_items, again.quarantined, again.set_aside_before) == (0, [], 1)
    assert featurise_items(spec, store, models, home).set_aside == []
    assert len(recorded(home)) == 1
    assert table_state(store) == state


def run_items_and_features(spec: DatasetSpec, store: LanceStore, models: ModelStore, home):
    """The items and features steps as a run does them, recording what each sets aside."""
    home.root.mkdir(parents=True, exist_ok=True)  # as the reports resource makes it
    with duckdb.connect(str(home.reports)) as connection:
        before = set_aside(connection, spec.name)
    ingested = ingest_items(spec, store, before)
    with duckdb.connect(str(home.reports)) as connection:
        record_quarantined(connection, spec.name, ingested.source, ingested.quarantined, "run")
    return ingested, featurise_items(spec, store, models, home)


def test_rows_set_aside_are_known_by_their_content_when_rows_above_them_move(tmp_path, home):
    """A bad row at line 5; then rows inserted above it, one of them bad at featurising and
    one bad at reading, both taking line 5 and 6 in turn. Nothing is lost or counted twice:
    the quarantine table's key is what each row holds, not the line it stands on."""
    path = write_plants(tmp_path / "plants.csv", rows=40)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:4], "oops_x,red,a", *lines[4:]]) + "\n")
    spec = plants_spec(path)
    store, models = LanceStore(home.lancedb), ModelStore(home.models)
    first, _ = run_items_and_features(spec, store, models, home)
    assert [(q.ref, q.reason[:20]) for q in first.quarantined] == [
        ("plants.csv:line 5", "value 'oops_x' of nu")
    ]

    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:4], "1e39,red,a", "1.1,red", *lines[4:]]) + "\n")
    second, features = run_items_and_features(spec, store, models, home)
    assert (second.new_items, second.set_aside_before) == (1, 1)  # oops_x, now line 7
    assert [(q.ref, q.reason[:22]) for q in second.quarantined] == [
        ("plants.csv:line 6", "row of the wrong shape")
    ]
    assert [(q.ref, q.reason[:15]) for q in features.set_aside] == [
        ("plants.csv:line 5", "value 1e+39 of ")
    ]
    assert (
        sorted((q.ref, q.reason[:12]) for q in recorded(home))
        == [
            ("plants.csv:line 5", "value 'oops_"),  # where it stood when it was set aside
            ("plants.csv:line 5", "value 1e+39 "),
            ("plants.csv:line 6", "row of the wr"[:12]),
        ]
    )
    third, features = run_items_and_features(spec, store, models, home)
    assert (third.new_items, third.set_aside_before, third.quarantined) == (0, 3, [])
    assert features.set_aside == [] and len(recorded(home)) == 3
    assert store.count("plants_items") == 40


def test_a_test_split_value_of_1e300_is_set_aside_on_the_first_run(tmp_path, home):
    path = write_plants(tmp_path / "plants.csv")
    spec = plants_spec(path)
    good = path.read_text()
    for tag in range(100):  # a colour of its own moves the row's id, and so its side
        path.write_text(good + f"1e300,tag{tag},a\n")
        read = next(open_source(spec).read(4096, frozenset())).items
        test = stratified_test_mask(
            read.column("item_id").to_pylist(), read.column("label").to_pylist(), seed=spec.seed
        )
        if test[-1]:
            break
    assert test[-1], "no colour put the row on the test side"
    store = LanceStore(home.lancedb)
    ingest_items(spec, store)
    written = featurise_items(spec, store, ModelStore(home.models), home)
    assert [q.ref for q in recorded(home)] == ["plants.csv:line 202"]
    # The training rows' statistics, untouched by the row set aside: about 1.2 and 0.3.
    assert re.fullmatch(
        r"value 1e\+300 of numeric column 'mass' cannot be standardised to a finite feature "
        r"\(training mean 1\.[12]\d*, scale 0\.[23]\d*\)",
        recorded(home)[0].reason,
    ), recorded(home)[0].reason
    assert written.write.rows_written == store.count("plants_items") == 200
    features = store.read_table("plants_features", columns=["vector"]).column("vector")
    assert np.isfinite(vectors_of(features)).all()


def test_a_featuriser_saved_with_overflowed_statistics_is_fitted_again(tmp_path, home):
    path = write_plants(tmp_path / "plants.csv")
    spec = plants_spec(path)
    store, models = LanceStore(home.lancedb), ModelStore(home.models)
    ingest_items(spec, store)
    broken, _ = current_featuriser(spec, store, models)
    assert isinstance(broken, TabularFeaturiser) and broken.scale_ is not None
    broken.scale_ = np.full_like(broken.scale_, np.nan)  # as the old code saved it
    models.save("plants", FEATURISER, broken, "broken", {"dim": broken.dim})
    featuriser, fitted_now = current_featuriser(spec, store, models)
    assert fitted_now
    assert isinstance(featuriser, TabularFeaturiser) and featuriser.sound


def test_removed_items_leave_every_table_and_their_ids_are_never_sql(home):
    store = LanceStore(home.lancedb)
    spec = DatasetSpec(name="d", modality="tabular", encoders=("pca",))
    ids = ["keep", "it's gone' OR '1'='1", "also kept"]
    keys = {"item_id": ids, "label": [None] * 3, "split": [None] * 3}
    items_schema = pa.schema([*vector_schema(1)][:3])
    store.replace("d_items", items_schema, [pa.RecordBatch.from_pydict(keys, items_schema)])
    vectors = pa.FixedSizeListArray.from_arrays(pa.array([1.0, 2.0, 3.0], pa.float32()), 1)
    for table in ("d_features", "d_pca"):
        batch = pa.RecordBatch.from_pydict({**keys, "vector": vectors}, vector_schema(1))
        store.replace(table, vector_schema(1), [batch])
    remove_items(store, spec, [ids[1]])
    for table in ("d_items", "d_features", "d_pca"):
        assert ids_of(store, table) == ["also kept", "keep"], table


def test_the_features_asset_logs_counts_and_records_what_it_set_aside_once(tmp_path, home):
    path = write_plants(tmp_path / "plants.csv")
    spec = plants_spec(path)
    assets = build_representation_assets(spec)
    selection = [dg.AssetKey(["plants", "items"]), dg.AssetKey(["plants", "features"])]

    def materialise() -> tuple[dg.ExecuteInProcessResult, dg.DagsterInstance]:
        instance = dg.DagsterInstance.ephemeral()
        result = dg.materialize(
            assets, selection=selection, resources=build_resources(home), instance=instance
        )
        assert result.success
        return result, instance

    materialise()
    append(path, "1e300,red,a", "-1e300,blue,b", "1.25,red,a")
    result, instance = materialise()
    [features] = result.asset_materializations_for_node("plants__features")
    assert features.metadata["quarantined"].value == 2
    assert features.metadata["dagster/row_count"].value == 201
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert any("1 items featurised into" in m and "2 set aside" in m for m in logs), logs
    assert any(m.startswith("quarantined plants.csv:line 202: value 1e+300") for m in logs)
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        rows = connection.execute(
            "SELECT ref, reason, source FROM quarantine WHERE dataset = 'plants' ORDER BY ref"
        ).fetchall()
    assert [ref for ref, _, _ in rows] == ["plants.csv:line 202", "plants.csv:line 203"]
    assert rows[0][1].startswith("value 1e+300 of numeric column 'mass' cannot be standardised")
    assert rows[0][2] == f"csv file {path}"

    store = LanceStore(home.lancedb)
    state = table_state(store)
    result, _ = materialise()
    [features] = result.asset_materializations_for_node("plants__features")
    assert features.metadata["quarantined"].value == 0
    assert table_state(store) == state
    with duckdb.connect(str(home.reports), read_only=True) as connection:
        count = connection.execute("SELECT count(*) FROM quarantine").fetchone()
    assert count == (2,)
