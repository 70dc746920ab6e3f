"""One rule for missing numbers: empty cells, NaN and MISSING_TOKENS are missing (imputed);
infinities and words are set aside with their column; other columns keep their text."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.featurisers import TabularFeaturiser
from repr_assets.sources import open_source, records
from repr_assets.sources.files import RawRows
from repr_assets.sources.record_values import MISSING_TOKENS


def read_all(spec: DatasetSpec) -> tuple[pa.Table, dict[str, str]]:
    source = open_source(spec)
    batches, reasons = [], {}
    for read in source.read(64, frozenset()):
        batches.append(read.items)
        reasons.update({q.ref: q.reason for q in read.quarantined})
    return pa.Table.from_batches(batches, schema=source.schema), reasons


def spec_of(path: Path) -> DatasetSpec:
    return DatasetSpec(name="m", modality="tabular", source=str(path), label_column="kind")


def string_rows(table: pa.Table, name: str) -> Iterator[RawRows]:
    """The rows as the CSV reader of the new contract gives them: every column text, an
    empty cell null, every other cell its exact text."""
    yield RawRows(table, [f"{name}:{n + 1}" for n in range(table.num_rows)])


TOKENS = sorted(MISSING_TOKENS)


def test_the_missing_tokens_are_a_short_documented_list():
    assert sorted(["NA", "N/A", "n/a", "#N/A", "NaN", "nan", "null", "NULL", "None"]) == TOKENS


def test_with_the_csv_reader_of_text_cells_tokens_are_missing_and_stay_text_elsewhere(
    tmp_path, monkeypatch
):
    numbers = [str(v) for v in range(20)]  # enough for a column of numbers, NUMERIC_SHARE
    cells = [*numbers, *TOKENS, f" {TOKENS[0]} ", None, "inf", "-Infinity", "oops", "NAN", "7"]
    n = len(cells)
    table = pa.table(
        {
            "mass": pa.array(cells, pa.string()),
            "colour": pa.array(["NA", "nan", *["red"] * (n - 2)], pa.string()),
            "kind": pa.array([f"k{i % 2}" for i in range(n)], pa.string()),
        }
    )
    path = tmp_path / "m.csv"
    path.write_text("mass,colour,kind\n")
    monkeypatch.setattr(records, "read_rows", lambda *args: string_rows(table, "m.csv"))
    source = open_source(spec_of(path))
    assert source.schema.field("mass").type == pa.float64()  # tokens do not make it text
    items, reasons = read_all(spec_of(path))
    first_bad = len(numbers) + len(TOKENS) + 2
    assert reasons == {
        f"m.csv:{first_bad + 1}": "value 'inf' of numeric column 'mass' is infinite",
        f"m.csv:{first_bad + 2}": "value '-Infinity' of numeric column 'mass' is infinite",
        f"m.csv:{first_bad + 3}": "value 'oops' of numeric column 'mass' is not a number",
        f"m.csv:{first_bad + 4}": "value 'NAN' of numeric column 'mass' is not a number",
    }
    expected = [float(v) for v in numbers] + [None] * (len(TOKENS) + 2) + [7.0]
    assert items.column("mass").to_pylist() == expected
    assert items.column("colour").to_pylist()[:2] == ["NA", "nan"]  # text like any other


def test_with_todays_csv_reader_the_tokens_are_missing_too(tmp_path):
    lines = ["mass,colour,kind"] + [f"{v},red,a" for v in range(20)]
    lines += [f"{token},red,a" for token in TOKENS] + [",blue,b", "inf,red,a", "oops,red,b"]
    path = tmp_path / "m.csv"
    path.write_text("\n".join(lines) + "\n")
    items, reasons = read_all(spec_of(path))
    expected = [float(v) for v in range(20)] + [None] * (len(TOKENS) + 1)
    assert items.column("mass").to_pylist() == expected
    assert sorted(reasons.values()) == [
        "value 'inf' of numeric column 'mass' is infinite",
        "value 'oops' of numeric column 'mass' is not a number",
    ]


def test_jsonl_and_parquet_nan_is_missing_and_infinity_is_set_aside(tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_text(
        '{"mass": 1.5, "kind": "a"}\n{"mass": NaN, "kind": "b"}\n'
        '{"mass": Infinity, "kind": "a"}\n{"mass": null, "kind": "b"}\n'
    )
    items, reasons = read_all(spec_of(path))
    assert items.column("mass").to_pylist() == [1.5, None, None]
    assert reasons == {"m.jsonl:line 3": "value inf of numeric column 'mass' is infinite"}

    mixed = tmp_path / "mixed.jsonl"  # text among numbers: a column of text
    values = [str(v) for v in range(20)] + ['"NA"', '"heavy"', "3"]
    mixed.write_text("".join(f'{{"mass": {v}, "kind": "a"}}\n' for v in values))
    items, reasons = read_all(spec_of(mixed))
    assert items.column("mass").to_pylist() == [*map(float, range(20)), None, 3.0]
    assert list(reasons.values()) == ["value 'heavy' of numeric column 'mass' is not a number"]

    pq.write_table(
        pa.table({"mass": [1.5, float("nan"), float("-inf")], "kind": ["a", "b", "a"]}),
        tmp_path / "m.parquet",
    )
    items, reasons = read_all(spec_of(tmp_path / "m.parquet"))
    assert items.column("mass").to_pylist() == [1.5, None]
    assert reasons == {"m.parquet:3": "value -inf of numeric column 'mass' is infinite"}


def test_a_missing_number_is_imputed_with_the_mean_and_an_indicator(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("mass,kind\n1,a\n3,b\nNA,a\nnan,b\n")
    items, _ = read_all(spec_of(path))
    featuriser = TabularFeaturiser(["mass"], []).fit(items.to_batches())
    assert featuriser.feature_names == ["mass", "mass=missing"]
    X = featuriser.featurise(items.to_batches()[0])
    np.testing.assert_array_equal(X, [[-1, 0], [1, 0], [0, 1], [0, 1]])


@pytest.mark.parametrize("cells", [[*map(str, range(12)), "x"], [*map(str, range(12))]])
def test_a_blank_cell_in_text_numbers_is_missing(tmp_path, cells):
    path = tmp_path / "m.jsonl"
    values = [f'"{c}"' for c in cells] + ['"  "']
    path.write_text("".join(f'{{"mass": {v}, "kind": "a"}}\n' for v in values))
    items, reasons = read_all(spec_of(path))
    assert items.column("mass").to_pylist()[-1] is None
    assert len(reasons) == cells.count("x")
