"""The CSV reader against Python's ``csv`` module: every row whole, in order, on its line.

The oracle is ``csv.reader(open(path, newline="", encoding="utf-8-sig"))``: the reader
must give the same fields (an empty field is null, nothing else is), the row's start line
in its ref, and set aside with its own line each row whose field count is not the header's.
"""

from __future__ import annotations

import csv
import io
import tracemalloc
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from repr_assets.sources import csv_file
from repr_assets.sources.base import Quarantined, SourceError, row_content
from repr_assets.sources.files import RawRows, column_names, read_rows
from repr_assets.sources.records import inspect_record_file
from sample_sources import write_text_csv

FORTUNES = Path("/usr/share/games/fortunes")
MAX_BYTES = 16 * 2**20


def read_all(
    path: Path, batch_size: int = 64, block_size: int | None = None, max_bytes: int = MAX_BYTES
) -> tuple[list[str], list[list[str | None]], list[str], list[Quarantined], list[RawRows]]:
    """Column names, rows, refs and quarantined rows of ``path`` as ``read_rows`` gives them."""
    batches = list(read_rows(path, batch_size, max_bytes, block_size=block_size))
    names = batches[0].table.column_names if batches else []
    rows: list[list[str | None]] = []
    refs: list[str] = []
    quarantined: list[Quarantined] = []
    for raw in batches:
        assert raw.table.column_names == names
        assert all(kind == pa.string() for kind in raw.table.schema.types)
        assert raw.table.num_rows == len(raw.refs)
        rows += [list(row.values()) for row in raw.table.to_pylist()]
        refs += raw.refs
        quarantined += raw.quarantined
    return names, rows, refs, quarantined, batches


def oracle(path: Path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """The header (the first non-blank row; ``None`` if there is none), and each later
    non-blank row with the line it starts on, as Python's ``csv`` reads them."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.reader(handle)
        rows = []
        while True:
            line = reader.line_num + 1
            try:
                row = next(reader)
            except StopIteration:
                break
            if row:
                rows.append((line, row))
    return (rows[0][1], rows[1:]) if rows else (None, [])


def expected(path: Path) -> tuple[list[str], list[list[str | None]], list[str], dict[str, str]]:
    """What the reader must give: names, rows (``""`` as null), refs, set-aside refs."""
    header, rows = oracle(path)
    assert header is not None
    good = [(line, row) for line, row in rows if len(row) == len(header)]
    bad = {
        f"{path.name}:line {line}": f"row of the wrong shape: {len(row)} fields, "
        f"expected {len(header)}"
        for line, row in rows
        if len(row) != len(header)
    }
    return (
        header,
        [[value or None for value in row] for _, row in good],
        [f"{path.name}:line {line}" for line, _ in good],
        bad,
    )


def assert_reads_like_python(path: Path, batch_size: int, block_size: int | None) -> None:
    header, _ = oracle(path)
    if header is None or len(set(header)) < len(header):
        # No header (a blank first line, or one that is only a byte order mark), or one
        # that names a column twice, as Python reads it: the file cannot be read.
        problem = "no header row" if header is None else "names a column twice"
        with pytest.raises(SourceError, match=problem):
            read_all(path, batch_size, block_size)
        return
    names, rows, refs, quarantined, batches = read_all(path, batch_size, block_size)
    want_names, want_rows, want_refs, want_bad = expected(path)
    if want_rows or want_bad:
        assert names == want_names
    assert rows == want_rows
    assert refs == want_refs
    assert {q.ref: q.reason for q in quarantined} == want_bad
    assert len(quarantined) == len(want_bad)
    assert len(set(refs) | {q.ref for q in quarantined}) == len(refs) + len(quarantined)
    assert all(0 < raw.table.num_rows <= batch_size for raw in batches if raw.table.num_rows)


# --- Property: files written by csv.writer --------------------------------------------------

SPECIAL = ['"', '"', ",", ",", "\r", "\n", "\r\n", "\n\n", "\r\n\r\n", " ", "NA", "\ufeff"]
WORDS = ["a", "Zoë", "café", "naïve", "中文", "日本語", "😀", "👍🏽", "x y", "1.5", "NaN", "null"]
text = st.lists(st.sampled_from(SPECIAL + WORDS) | st.text(max_size=3), max_size=6).map("".join)


@st.composite
def csv_files(draw: st.DrawFn) -> tuple[bytes, int, int | None]:
    width = draw(st.integers(1, 4))
    header = draw(st.lists(text, min_size=width, max_size=width, unique=True))
    rows = draw(st.lists(st.lists(text, min_size=width, max_size=width), max_size=25))
    if draw(st.booleans()):
        # A few rows of the wrong shape among the good ones.
        for _ in range(draw(st.integers(1, 3))):
            wrong = draw(st.integers(1, 6).filter(lambda n: n != width))
            at = draw(st.integers(0, len(rows)))
            rows.insert(at, draw(st.lists(text, min_size=wrong, max_size=wrong)))
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\r\n", "\n", "\r"])))
    writer.writerow(header)
    writer.writerows(rows)
    encoding = "utf-8-sig" if draw(st.booleans()) else "utf-8"
    data = buffer.getvalue().encode(encoding)
    batch_size = draw(st.sampled_from([1, 3, 1000]))
    block_size = draw(st.sampled_from([1, 2, 7, 64, None]))
    return data, batch_size, block_size


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(csv_files())
def test_rows_written_by_csv_writer_read_back_as_python_reads_them(tmp_path, case):
    data, batch_size, block_size = case
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    assert_reads_like_python(path, batch_size, block_size)
    if block_size is not None:
        assert_reads_like_python(path, batch_size, None)


# --- Property: any text at all, quoted or not -------------------------------------------------

messy = st.lists(
    st.sampled_from(['"', '"', '""', ",", ",", "\r", "\n", "\r\n", "a", "é", " ", "\ufeff"]),
    max_size=60,
).map("".join)


@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(messy, st.sampled_from([1, 3, 1000]), st.sampled_from([1, 5, 16, None]))
def test_stray_quotes_and_ragged_rows_read_as_python_reads_them(
    tmp_path, body, batch_size, block_size
):
    # Not RFC 4180: quotes inside unquoted fields, text after a closing quote, an unclosed
    # quote at the end. The reader still agrees with Python's csv, row by row.
    path = tmp_path / "messy.csv"
    path.write_bytes(("h1,h2\n" + body).encode("utf-8"))
    assert_reads_like_python(path, batch_size, block_size)


# --- The user's scenario: the fortunes ---------------------------------------------------------


def write_fortunes_csv(path: Path) -> int:
    """Every fortune of /usr/share/games/fortunes as a ``fortune,category`` CSV; the count."""
    count = 0
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["fortune", "category"])
        for source in sorted(FORTUNES.iterdir()):
            if source.suffix in {".dat", ".u8"} or not source.is_file():
                continue
            lines: list[str] = []
            text = source.read_text(encoding="utf-8", errors="replace")
            for line in [*text.split("\n"), "%"]:
                if line != "%":
                    lines.append(line)
                    continue
                fortune = "\n".join(lines).strip("\n")
                lines = []
                if fortune:
                    writer.writerow([fortune, source.name])
                    count += 1
    return count


@pytest.mark.skipif(not FORTUNES.is_dir(), reason=f"no fortunes here ({FORTUNES} is absent)")
def test_every_fortune_comes_back_whole(tmp_path):
    path = tmp_path / "fortunes.csv"
    count = write_fortunes_csv(path)
    assert path.stat().st_size > 2**20  # over one 1 MiB block: the case that broke
    names, rows, refs, quarantined, _ = read_all(path, batch_size=1024)
    want_names, want_rows, want_refs, _ = expected(path)
    assert quarantined == []
    assert names == want_names == ["fortune", "category"]
    assert len(rows) == len(want_rows) == count
    assert rows == want_rows
    assert refs == want_refs


# --- Rows of the wrong shape, bad bytes, long values ------------------------------------------


def test_rows_of_the_wrong_shape_among_multiline_fields_are_set_aside_on_their_line(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_bytes(
        b"note,kind\n"  # 1
        b'"one\ntwo\nthree",a\n'  # 2-4
        b"lonely\n"  # 5: one field
        b'"four\r\nfive",b\n'  # 6-7
        b'"six","seven",c,"eight\nnine"\n'  # 8-9: four fields
        b"ten,d\n"  # 10
        b'"x",y,"z\n\nz"\n'  # 11-13: three fields
        b"last,e"  # 14, no line end
    )
    names, rows, refs, quarantined, _ = read_all(path, block_size=8)
    assert names == ["note", "kind"]
    assert rows == [["one\ntwo\nthree", "a"], ["four\r\nfive", "b"], ["ten", "d"], ["last", "e"]]
    assert refs == [f"notes.csv:line {n}" for n in (2, 6, 10, 14)]
    assert {q.ref: q.reason for q in quarantined} == {
        "notes.csv:line 5": "row of the wrong shape: 1 fields, expected 2",
        "notes.csv:line 8": "row of the wrong shape: 4 fields, expected 2",
        "notes.csv:line 11": "row of the wrong shape: 3 fields, expected 2",
    }
    # Each is known by its bytes, whichever path read it (small blocks take Python's csv
    # module, the default block pyarrow's scan): a later run knows it on any line.
    raw = {5: b"lonely", 8: b'"six","seven",c,"eight\nnine"', 11: b'"x",y,"z\n\nz"'}
    for block_size in (8, None):
        *_, quarantined, _ = read_all(path, block_size=block_size)
        assert {q.ref: q.content for q in quarantined} == {
            f"notes.csv:line {line}": row_content(row) for line, row in raw.items()
        }


def test_bad_utf8_and_long_values_cost_their_row_only(tmp_path):
    path = tmp_path / "bytes.csv"
    path.write_bytes(
        b"text,n\n"
        b'"multi\nline",1\n'  # 2-3
        b"caf\xe9,2\n"  # 4: latin-1
        b'"' + b"x" * 50 + b'",3\n'  # 5: over 40 bytes
        b"fine,4\n"  # 6
    )
    _, rows, refs, quarantined, _ = read_all(path, block_size=4, max_bytes=40)
    assert rows == [["multi\nline", "1"], ["fine", "4"]]
    assert refs == ["bytes.csv:line 2", "bytes.csv:line 6"]
    reasons = {q.ref: q.reason for q in quarantined}
    assert reasons["bytes.csv:line 4"].startswith("undecodable text in column 'text': not UTF-8")
    assert reasons["bytes.csv:line 5"] == "value of column 'text' is over 40 bytes"
    assert len(quarantined) == 2


def test_only_empty_fields_are_null_and_every_other_token_is_its_text(tmp_path):
    path = tmp_path / "tokens.csv"
    path.write_bytes(
        b'\xef\xbb\xbfa,b,c\nNA,NaN,null\n,"",\nN/A,nan,#N/A\n" ",-,None\r\nTRUE,false,0\r'
    )
    names, rows, refs, quarantined, _ = read_all(path)
    assert names == ["a", "b", "c"]
    assert rows == [
        ["NA", "NaN", "null"],
        [None, None, None],
        ["N/A", "nan", "#N/A"],
        [" ", "-", "None"],
        ["TRUE", "false", "0"],
    ]
    assert refs == [f"tokens.csv:line {n}" for n in range(2, 7)]
    assert quarantined == []


def test_blank_lines_and_a_multiline_header_keep_line_numbers(tmp_path):
    path = tmp_path / "blank.csv"
    path.write_bytes(b'"long\nname",b\n\n1,2\r\n\r\n\r3,4\n')
    names, rows, refs, _, _ = read_all(path, block_size=3)
    assert names == ["long\nname", "b"]
    assert rows == [["1", "2"], ["3", "4"]]
    assert refs == ["blank.csv:line 4", "blank.csv:line 7"]
    assert_reads_like_python(path, 64, 3)


def test_a_file_several_blocks_long_reads_like_python_with_the_default_block(tmp_path):
    path = tmp_path / "big.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "score"])
        for n in range(40_000):
            body = "line\n" * (n % 4) + f'said "{n}", then, café 中 😀' + "\r\n" * (n % 3 == 0)
            writer.writerow([n, body, "" if n % 7 == 0 else n / 8])
    assert path.stat().st_size > 2 * 2**20
    assert_reads_like_python(path, 1000, None)


def test_column_names_and_the_sample_read_multiline_csvs(tmp_path):
    path = tmp_path / "wide.csv"
    path.write_bytes(
        b"\xef\xbb\xbfreview,topic,stars\n"
        + b'"a long\nreview, with ""quotes""",food,4\n' * 3000
        + b'"another\r\none",tech,NA\n'
    )
    assert column_names(path) == ["review", "topic", "stars"]
    source = inspect_record_file(path, "text", "topic", None, "review", MAX_BYTES)
    assert source.text_column == "review"
    batches = list(source.read(500, frozenset()))
    items = pa.Table.from_batches([b.items for b in batches])
    assert items.num_rows == 3001
    assert items.column("text")[0].as_py() == 'a long\nreview, with "quotes"'
    assert items.column("ref")[-1].as_py() == "wide.csv:line 6002"
    assert [q for b in batches for q in b.quarantined] == []


def test_the_builders_text_csv_reads_with_line_refs(tmp_path):
    path = write_text_csv(tmp_path / "reviews.csv", count=30)
    names, rows, refs, quarantined, _ = read_all(path, batch_size=7, block_size=100)
    assert names == ["review", "topic", "stars"]
    assert len(rows) == 30 and quarantined == []
    assert refs == [f"reviews.csv:line {n}" for n in range(2, 32)]


def test_quotes_that_rfc_4180_does_not_allow_read_as_python_reads_them(tmp_path):
    path = tmp_path / "loose.csv"
    path.write_bytes(
        b"height,said\n"
        b'5\'11",he said "hi"\n'  # quotes inside bare fields are text
        b'"quoted" then more,ok\n'  # text after a closing quote joins the field
        b'"multi\nline",fine\n'
        b'"unclosed,runs\nto the end\n'
    )
    _, rows, refs, quarantined, _ = read_all(path, block_size=5)
    assert rows == [["5'11\"", 'he said "hi"'], ["quoted then more", "ok"], ["multi\nline", "fine"]]
    assert refs == ["loose.csv:line 2", "loose.csv:line 3", "loose.csv:line 4"]
    assert [(q.ref, q.reason, q.content) for q in quarantined] == [
        (
            "loose.csv:line 6",
            "row of the wrong shape: 1 fields, expected 2",
            row_content(b'"unclosed,runs\nto the end\n'),  # the whole row, both its lines
        )
    ]
    assert_reads_like_python(path, 2, 5)


def test_a_row_longer_than_any_good_row_is_set_aside_without_being_held(tmp_path):
    path = tmp_path / "open.csv"
    path.write_bytes(
        b"text,n\nfirst,1\n"  # 1-2
        + b'"'
        + b"x\r\n" * 5000
        + b'",2\n'  # 3-5003: 15 kB, over what 2 values of 100 bytes can be
        + b"after,3\n"  # 5004
        + b'"never closed,4\n'  # 5005 to the end
        + b"y\n" * 5000
    )
    _, rows, refs, quarantined, _ = read_all(path, block_size=64, max_bytes=100)
    assert rows == [["first", "1"], ["after", "3"]]
    assert refs == ["open.csv:line 2", "open.csv:line 5004"]
    assert [q.ref for q in quarantined] == ["open.csv:line 3", "open.csv:line 5005"]
    assert all(q.reason.startswith("row over 406 bytes") for q in quarantined)


def test_memory_stays_flat_on_a_long_file_and_a_long_row(tmp_path):
    path = tmp_path / "long.csv"
    with path.open("wb") as handle:
        handle.write(b"a,b,c\n")
        handle.write(b'1,"two\nlines",3\n' * 200_000)  # 3.2 MB
        handle.write(b'"' + b"z" * 8_000_000 + b'",4,5\n')  # one row of 8 MB
        handle.write(b"6,7,8\n")
    block = 64 * 1024
    tracemalloc.start()
    arrow_peak, rows, quarantined = 0, 0, []
    try:
        for raw in read_rows(path, 1000, 100_000, block_size=block):
            rows += raw.table.num_rows
            arrow_peak = max(arrow_peak, pa.total_allocated_bytes())
            quarantined += raw.quarantined
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == 200_001
    assert [q.ref for q in quarantined] == ["long.csv:line 400002"]
    # A block's worth of rows and their refs at a time, not the 11 MB file nor its 8 MB row.
    assert python_peak < 32 * block + 2**20
    assert arrow_peak < 32 * block + 2**20


def test_a_value_longer_than_a_block_comes_through_whole(tmp_path):
    path = tmp_path / "long_value.csv"
    value = 'a line, with "quotes"\n' * 200_000  # 4.8 MB, several 1 MiB blocks
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([["text", "n"], ["short", "1"], [value, "2"], ["end", "3"]])
    for block_size in (None, 1000):
        _, rows, refs, quarantined, _ = read_all(path, block_size=block_size)
        assert rows == [["short", "1"], [value, "2"], ["end", "3"]]
        assert refs == [
            "long_value.csv:line 2",
            "long_value.csv:line 3",
            "long_value.csv:line 200004",
        ]
        assert quarantined == []


def test_rows_set_aside_are_handed_over_as_they_come(tmp_path):
    path = tmp_path / "ragged.csv"
    path.write_bytes(b"a,b\n" + b"1,2,3\n" * 1000 + b"4,5\n")
    batches = list(read_rows(path, 10, MAX_BYTES, block_size=64))
    assert sum(len(raw.quarantined) for raw in batches) == 1000
    assert max(len(raw.quarantined) for raw in batches) < 30
    assert [raw.refs for raw in batches if raw.refs] == [["ragged.csv:line 1002"]]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty file, or no header row"),
        (b"\xef\xbb\xbf\r\n\n", "empty file, or no header row"),
        (b"a,b,a\n1,2,3\n", "the header names a column twice"),
        (b"caf\xe9,b\n1,2\n", "the header row is not UTF-8"),
        (b"x" * 3000, "no header row in its first 1,000 bytes"),
    ],
)
def test_a_file_without_a_usable_header_is_refused(tmp_path, monkeypatch, data, message):
    monkeypatch.setattr(csv_file, "HEADER_BYTES", 1000)
    path = tmp_path / "bad.csv"
    path.write_bytes(data)
    with pytest.raises(SourceError, match=message):
        list(read_rows(path, 10, MAX_BYTES, block_size=64))


def test_a_header_without_rows_gives_no_batch_and_column_names_says_so(tmp_path):
    path = tmp_path / "header.csv"
    path.write_bytes(b"a,b\r\n\r\n")
    assert list(read_rows(path, 10, MAX_BYTES)) == []
    with pytest.raises(SourceError, match="no readable rows"):
        column_names(path)


def test_a_long_field_after_a_stray_quote_comes_through_whole(tmp_path):
    """Rows after a quote RFC 4180 does not allow are read by Python's csv module, whose
    default limit is 131,072 characters a field: a longer field must not be set aside."""
    csv.field_size_limit(131_072)  # Python's default, whatever an earlier test set
    path = tmp_path / "long.csv"
    long = "x" * 200_000
    with path.open("w", newline="") as handle:
        handle.write('text,tag\nsay 5" tall,b\n')
        csv.writer(handle).writerow([long, "c"])
    _, rows, _, quarantined, _ = read_all(path)
    assert quarantined == []
    assert rows == [['say 5" tall', "b"], [long, "c"]]
