"""Sources: what each reads, what it sets aside and why, and what it never reads."""

from __future__ import annotations

import gzip
import io
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from repr_assets.datasets.specs import DatasetSpec
from repr_assets.pipeline.ingest import ingest_items
from repr_assets.sources import SourceError, open_source, source_fingerprint
from repr_assets.stores.lance import LanceStore
from sample_sources import digit_images, png_bytes, write_idx, write_image_folder, write_text_csv


def read_all(spec: DatasetSpec) -> tuple[pa.Table, list]:
    source = open_source(spec)
    batches, quarantined = [], []
    for read in source.read(64, frozenset()):
        batches.append(read.items)
        quarantined += read.quarantined
    return pa.Table.from_batches(batches, schema=source.schema), quarantined


def image_spec(root: Path, **options) -> DatasetSpec:
    return DatasetSpec(name="pics", modality="image", source=str(root), **options)


def test_image_folder_labels_are_class_folders_and_ids_hash_the_content(tmp_path):
    root = write_image_folder(tmp_path / "pics", count=30)
    (root / "loose.png").write_bytes(png_bytes(value=7))
    (root / "notes.txt").write_text("not an image, not an item")
    items, quarantined = read_all(image_spec(root))
    assert quarantined == []
    assert items.num_rows == 31
    rows = {r["ref"]: r for r in items.to_pylist()}
    assert rows["loose.png"]["label"] is None
    first = sorted(p for p in rows if p.startswith("3/"))[0]
    assert rows[first]["label"] == "3"
    assert rows[first]["image"] == (root / first).read_bytes()
    assert len(set(items.column("item_id").to_pylist())) == 31


def test_salted_image_folder_sets_each_bad_item_aside_with_its_reason(tmp_path):
    root = write_image_folder(tmp_path / "pics", count=20)
    good = png_bytes()
    (root / "0" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "0" / "empty.png").write_bytes(b"")
    (root / "0" / "words.png").write_bytes(b"a text file named like an image")
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes(value=9))
    os.symlink(outside, root / "0" / "escape.png")
    os.symlink(tmp_path, root / "escape_dir")
    (root / "1" / "bomb.png").write_bytes(png_bytes(size=300))
    (root / "1" / "huge.png").write_bytes(png_bytes(size=4) + b"\0" * 5000)
    items, quarantined = read_all(image_spec(root, max_image_pixels=200 * 200, max_item_bytes=4000))
    reasons = {q.ref: q.reason for q in quarantined}
    assert reasons["0/truncated.png"].startswith("corrupt or truncated image")
    assert reasons["0/empty.png"] == "empty file"
    # The same words on every run: no Python object's address in what the table keeps.
    assert reasons["0/words.png"] == "corrupt or truncated image: not an image format Pillow reads"
    assert reasons["0/escape.png"] == "symlink pointing outside the source root"
    assert reasons["escape_dir"] == "symlink pointing outside the source root"
    assert reasons["1/bomb.png"].startswith("decompression bomb: 300x300 pixels")
    assert reasons["1/huge.png"].startswith("too large:")
    assert len(quarantined) == 7
    assert items.num_rows == 20
    assert not any("secret" in ref or "escape" in ref for ref in items.column("ref").to_pylist())


def test_a_symlink_inside_the_root_is_read_once_as_a_duplicate(tmp_path, home):
    root = write_image_folder(tmp_path / "pics", count=10)
    target = next((root / "0").glob("*.png"))
    os.symlink(target, root / "0" / "alias.png")
    store = LanceStore(home.lancedb)
    result = ingest_items(image_spec(root), store)
    assert result.new_items == 10
    assert result.duplicates_dropped == 1


def test_idx_folder_reads_gzipped_and_plain_files_with_the_prefix_as_split(tmp_path):
    images, labels = digit_images(50, 28)
    write_idx(tmp_path / "idx", "train", images[:40], labels[:40], gz=True)
    write_idx(tmp_path / "idx", "t10k", images[40:], labels[40:], gz=False)
    items, quarantined = read_all(image_spec(tmp_path / "idx"))
    assert quarantined == []
    splits = items.column("split").to_pylist()
    assert splits.count("train") == 40 and splits.count("t10k") == 10
    first = items.filter(pa.compute.equal(items.column("ref"), "train-images-idx3-ubyte.gz#0"))
    assert first.column("label")[0].as_py() == str(labels[0])
    decoded = np.asarray(Image.open(io.BytesIO(first.column("image")[0].as_py())))
    np.testing.assert_array_equal(decoded, images[0])


def test_a_truncated_idx_file_keeps_what_was_read_and_names_the_rest(tmp_path):
    images, labels = digit_images(30, 28)
    write_idx(tmp_path / "idx", "train", images, labels, gz=False)
    path = tmp_path / "idx" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[: 16 + 25 * 28 * 28 + 100])
    items, quarantined = read_all(image_spec(tmp_path / "idx"))
    assert items.num_rows == 25
    assert quarantined[0].ref == "train-images-idx3-ubyte#25"
    assert "5 of 30 images missing" in quarantined[0].reason


def test_an_idx_file_with_a_bad_header_is_set_aside(tmp_path):
    root = tmp_path / "idx"
    root.mkdir()
    (root / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x0d\x03" + b"\x00" * 12)
    items, quarantined = read_all(image_spec(root))
    assert items.num_rows == 0
    assert "not an IDX file of unsigned bytes" in quarantined[0].reason


def text_spec(path: Path, **options) -> DatasetSpec:
    defaults = {"text_column": "review", "label_column": "topic"}
    return DatasetSpec(name="reviews", modality="text", source=str(path), **{**defaults, **options})


def test_csv_text_rows_with_bad_utf8_or_the_wrong_shape_are_set_aside(tmp_path):
    path = write_text_csv(tmp_path / "reviews.csv", count=20)
    with path.open("ab") as handle:
        handle.write(b"caf\xe9 au lait was cold,food,2\n")
        handle.write(b"one,two,three,four\n")
        handle.write(b",food,3\n")
    items, quarantined = read_all(text_spec(path))
    assert items.num_rows == 20
    reasons = sorted(q.reason for q in quarantined)
    assert len(reasons) == 3
    assert reasons[0] == "no text in column 'review'"
    assert reasons[1].startswith("row of the wrong shape: 4 fields, expected 3")
    assert reasons[2].startswith("undecodable text in column 'review': not UTF-8")


def test_text_ids_hash_the_text_so_a_repeated_row_is_dropped_once(tmp_path, home):
    path = write_text_csv(tmp_path / "reviews.csv", count=20)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[3], lines[5]]) + "\n")
    result = ingest_items(text_spec(path), LanceStore(home.lancedb))
    assert (result.new_items, result.duplicates_dropped) == (20, 2)


def test_a_second_ingest_adds_only_the_new_rows_and_counts_the_rest(tmp_path, home):
    path = write_text_csv(tmp_path / "reviews.csv", count=20)
    store = LanceStore(home.lancedb)
    first = ingest_items(text_spec(path), store)
    lines = path.read_text().splitlines()
    # Rows 21 to 25 of a longer file (line 0 is the header): five new items.
    more = write_text_csv(tmp_path / "more.csv", count=25).read_text().splitlines()[21:]
    path.write_text("\n".join([*lines, *more, more[0]]) + "\n")
    second = ingest_items(text_spec(path), store)
    assert first.new_items == 20
    # The rows read before are skipped by their refs, as a folder's files are, and counted.
    assert (second.already_ingested, second.new_items, second.duplicates_dropped) == (20, 5, 1)
    ids = store.dataset("reviews_items").to_table(columns=["item_id"]).column("item_id")
    assert second.total_items == len(ids) == len(set(ids.to_pylist())) == 25


def test_an_id_column_gives_the_ids(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text(
        '{"id": 7, "text": "a cat sat", "label": "pets"}\n'
        "[1, 2]\n"
        "{not json\n"
        '{"id": 9, "text": "the dog ran", "label": "pets"}\n'
    )
    spec = DatasetSpec(
        name="rows",
        modality="text",
        source=str(path),
        text_column="text",
        id_column="id",
        label_column="label",
    )
    items, quarantined = read_all(spec)
    assert items.column("item_id").to_pylist() == ["7", "9"]
    assert sorted(q.ref for q in quarantined) == ["rows.jsonl:line 2", "rows.jsonl:line 3"]
    assert {q.reason.split(":")[0] for q in quarantined} == {
        "row of the wrong shape",
        "not valid JSON",
    }


def test_tabular_rows_keep_missing_values_and_a_nan_is_one(tmp_path):
    table = pa.table(
        {
            "size": [1.0, None, 3.0, float("nan"), 5.0],
            "colour": ["red", "blue", None, "red", "red"],
            "kind": ["a", "b", "a", "b", "a"],
        }
    )
    pq.write_table(table, tmp_path / "t.parquet")
    spec = DatasetSpec(
        name="t", modality="tabular", source=str(tmp_path / "t.parquet"), label_column="kind"
    )
    items, quarantined = read_all(spec)
    # pandas writes a missing float as NaN: missing, imputed like a null.
    assert items.column("size").to_pylist() == [1.0, None, 3.0, None, 5.0]
    assert items.column("colour").to_pylist() == ["red", "blue", None, "red", "red"]
    assert quarantined == []


def test_csv_numbers_that_are_not_numbers_are_set_aside(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("x,y,label\n1,2,a\n3,4,b\n" + "5,6,a\n" * 10 + "oops,7,b\n8,,a\n")
    spec = DatasetSpec(name="m", modality="tabular", source=str(path), label_column="label")
    items, quarantined = read_all(spec)
    assert [q.reason for q in quarantined] == ["value 'oops' of numeric column 'x' is not a number"]
    assert items.column("y").to_pylist()[-1] is None
    # Ten identical rows are one item once ingest drops duplicates; the reader keeps all.
    assert items.num_rows == 13


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"label_column": "nosuch"}, "no column 'nosuch' (--label-column); its columns are"),
        ({"text_column": "stars"}, "column 'stars' is not text: its values are numbers"),
    ],
)
def test_bad_columns_are_named(tmp_path, options, message):
    path = write_text_csv(tmp_path / "reviews.csv", count=10)
    with pytest.raises(SourceError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_source(text_spec(path, **options))


def test_a_missing_source_is_named(tmp_path):
    with pytest.raises(SourceError, match=r"no such file or folder: .*nowhere"):
        open_source(image_spec(tmp_path / "nowhere"))


def test_a_source_with_nothing_readable_fails_and_writes_nothing(tmp_path, home):
    root = tmp_path / "pics"
    (root / "a").mkdir(parents=True)
    (root / "a" / "x.png").write_bytes(b"")
    (root / "a" / "y.png").write_bytes(b"not a png")
    store = LanceStore(home.lancedb)
    with pytest.raises(SourceError, match=r"holds no readable item \(2 set aside"):
        ingest_items(image_spec(root), store)
    assert store.table_names() == []


def test_gzip_damage_after_good_images_is_set_aside(tmp_path):
    images, labels = digit_images(20, 28)
    write_idx(tmp_path / "idx", "train", images, labels, gz=True)
    path = tmp_path / "idx" / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(data)[:-30])
    items, quarantined = read_all(image_spec(tmp_path / "idx"))
    assert items.num_rows < 20
    assert quarantined and quarantined[-1].ref.startswith("train-images-idx3-ubyte.gz")


def test_fingerprint_changes_when_a_file_lands(tmp_path):
    root = write_image_folder(tmp_path / "pics", count=5)
    spec = image_spec(root)
    before = source_fingerprint(spec)
    assert source_fingerprint(spec) == before
    (root / "0" / "new.png").write_bytes(png_bytes(value=3))
    assert source_fingerprint(spec) != before
