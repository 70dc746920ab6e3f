"""Every command and recipe of the README, run on a fresh home, does what the text says.

The README's ``sh`` blocks are run line by line as ``repr-assets`` commands, its ``sql``
blocks through ``repr-assets sql``, its ``python`` blocks executed, its ``yaml`` blocks
loaded as the text says they are; each has a check of what the text beside it claims. A
command added to the README without a check here fails ``test_every_readme_command_is_checked``.
Names in capitals in a recipe (``OLD_VERSION``) are the placeholders the text explains.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import textwrap
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from sklearn.datasets import load_digits

from repr_assets.cli import main
from repr_assets.datasets.declared import declared_dataset, load_declared
from repr_assets.items.schemas import encode_png
from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import served_version
from sample_sources import (
    digit_images,
    tabular_rows,
    write_idx,
    write_image_folder,
    write_text_csv,
)

README = Path(__file__).resolve().parents[1] / "README.md"
# Run by CI itself (make test) or by hand; not from inside the test suite.
NOT_RUN_HERE = {"make demo", "make test"}


def blocks(language: str) -> list[str]:
    text = README.read_text()
    return re.findall(rf"^ *```{language}\n(.*?)^ *```", text, flags=re.S | re.M)


def commands() -> list[str]:
    """Each command line of the README's ``sh`` blocks, without its comment."""
    found = []
    for block in blocks("sh"):
        for line in block.splitlines():
            words = shlex.split(line, comments=True)
            if words:
                found.append(shlex.join(words))
    return found


def sql_recipes() -> list[str]:
    return [
        statement.strip()
        for block in blocks("sql")
        for statement in block.split(";")
        if statement.strip()
        and not all(line.strip().startswith("--") for line in statement.strip().splitlines())
    ]


# --- the data the README's commands name, made as its text describes them ---------------


def make_sources(root: Path) -> None:
    write_image_folder(root / "photos", count=60, size=16)  # photos/<digit>/n.png
    images, labels = digit_images(240, 28)
    write_idx(root / "mnist", "train", images[:200], labels[:200], gz=True)
    write_idx(root / "mnist", "t10k", images[200:], labels[200:], gz=True)
    reviews = write_text_csv(root / "reviews.csv", count=200)
    with reviews.open("ab") as handle:
        handle.write(b"na\xefve caf\xe9 review,food,4\n")  # not UTF-8: set aside
    plants = tabular_rows(150)
    plants = plants.append_column("plant_id", pa.array([f"plant-{i:03d}" for i in range(150)]))
    pq.write_table(plants, root / "plants.parquet")
    digits = load_digits()
    seven = np.rint(digits.images[7] * (255 / 16)).astype(np.uint8)
    (root / "my_seven.png").write_bytes(encode_png(seven))


class Shell:
    """``repr-assets`` commands in this process, run as from a shell in the README's folder."""

    def __call__(self, command: str) -> tuple[int, str, str]:
        words = shlex.split(command)
        assert words[0] == "repr-assets"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main(words[1:])
        return status, out.getvalue(), err.getvalue()

    def json(self, command: str) -> list:
        status, out, err = self(command)
        assert status == 0, err
        return json.loads(out)


@contextlib.contextmanager
def in_folder(root: Path):
    """The README's folder as the current one, with the default home (``.repr_assets``)."""
    saved = {k: os.environ.pop(k, None) for k in ENVIRONMENT}
    before = Path.cwd()
    os.chdir(root)
    try:
        yield
    finally:
        os.chdir(before)
        for key, value in saved.items():
            if value is not None:
                os.environ[key] = value


ENVIRONMENT = ("REPR_ASSETS_HOME", "DAGSTER_HOME", "REPR_ASSETS_DATASETS")


@pytest.fixture(scope="module")
def readme(tmp_path_factory):
    """The README's folder after its runs: the demo's, then the README's "run it again
    after changing something" (8 components) and back (16): three published PCA
    versions for the rollback commands; then every source it names."""
    root = tmp_path_factory.mktemp("readme")
    make_sources(root)
    shell = Shell()
    with in_folder(root):
        for command in ("repr-assets run", "repr-assets run --latent-dim 8"):
            status, _, err = shell(command)
            assert status == 0, err
        status, out, err = shell("repr-assets run --latent-dim 16")
        assert status == 0 and "the report is current" not in out, err
        status, out, err = shell("repr-assets run --latent-dim 16")
        assert status == 0 and "the report is current" in out, err  # nothing changed
        check_run_sources(shell, root)
        yield root, shell


def store(root: Path) -> LanceStore:
    return LanceStore(root / ".repr_assets" / "lancedb")


# --- checks: what the text beside each command says it does ------------------------------


def check_run_sources(shell, root):
    """Each kind of source becomes a data set named after it (or --dataset)."""
    status, out, err = shell("repr-assets run --source photos/")
    assert status == 0, err
    assert store(root).count("photos_items") == 60
    status, _, err = shell("repr-assets run --source mnist/ --dataset mnist")
    assert status == 0, err
    splits = store(root).read_table("mnist_items", ["split"]).column("split").to_pylist()
    assert set(splits) == {"train", "t10k"}  # the IDX prefix is the split
    status, out, err = shell(
        "repr-assets run --source reviews.csv --text-column review --label-column topic"
    )
    assert status == 0, err
    assert "1 set aside" in out
    status, _, err = shell(
        "repr-assets run --source plants.parquet --label-column species --id-column plant_id"
    )
    assert status == 0, err
    ids = store(root).read_table("plants_items", ["item_id"]).column("item_id").to_pylist()
    assert ids == [f"plant-{i:03d}" for i in range(150)]


def check_quarantine_query(shell, root):
    status, out, _ = shell(
        "repr-assets sql \"SELECT ref, reason FROM quarantine WHERE dataset = 'reviews'\""
    )
    assert status == 0
    assert "reviews.csv:line 202" in out and "not UTF-8" in out


def check_rollback(shell, root):
    """After three published PCA versions (16, 8, then 16 components again), rollback
    serves the one published before, and --to 3 the third."""
    table = store(root).dataset("digits_pca")
    assert served_version(table) == 3
    status, out, err = shell("repr-assets rollback --dataset digits --encoder pca")
    assert status == 0, err
    assert served_version(store(root).dataset("digits_pca")) == 2
    status, out, err = shell("repr-assets rollback --dataset digits --encoder pca --to 3")
    assert status == 0, err
    assert out.strip() == "digits_pca: served version 2 -> 3"


def check_compact(shell, root):
    """Run after check_rollback: published 1, 2, 3, served 3; keeping 2 removes 1."""
    status, out, err = shell("repr-assets compact --dataset digits --keep 2 --grace 0")
    assert status == 0, err
    line = next(x for x in out.splitlines() if x.startswith("digits_pca:"))
    assert "removed 1 old versions" in line and "kept versions 2, 3" in line, line
    assert served_version(store(root).dataset("digits_pca")) == 3


def check_searches(shell, root):
    hits = shell.json("repr-assets search --dataset digits --encoder pca --id digits-0042 --json")
    assert len(hits) == 10 and "digits-0042" not in {h["item_id"] for h in hits}
    status, out, _ = shell("repr-assets search --dataset digits --encoder pca --id digits-0042")
    assert status == 0 and out.splitlines()[0].split() == ["rank", "distance", "label", "item_id"]
    hits = shell.json(
        "repr-assets search --dataset digits --encoder autoencoder --file my_seven.png -k 5 --json"
    )
    assert len(hits) == 5 and hits[0]["item_id"] == "digits-0007"
    vector = next(c for c in commands() if "--vector" in c)
    hits = shell.json(vector + " --json")
    distances = [h["distance"] for h in hits]
    assert len(hits) == 10 and distances == sorted(distances)
    hits = shell.json(
        "repr-assets search --dataset digits --encoder pca --id digits-0042 --where label=3 --json"
    )
    assert len(hits) == 10 and {h["label"] for h in hits} == {"3"}
    hits = shell.json(
        "repr-assets search --dataset reviews --encoder pca --text "
        "'the referee stopped the match' -k 5 --json"
    )
    labels = [h["label"] for h in hits]
    assert len(hits) == 5 and labels.count("sport") >= 3
    assert all(h["ref"].startswith("reviews.csv:line ") for h in hits)


def check_label_counts(shell, root):
    rows = shell.json(
        'repr-assets sql "SELECT label, count(*) FROM digits_pca GROUP BY label ORDER BY label"'
        " --format json"
    )
    assert [r["label"] for r in rows] == [str(d) for d in range(10)]
    assert sum(r["count_star()"] for r in rows) == 1797


CHECKS = {
    "repr-assets run --source photos/": check_run_sources,
    "repr-assets run --source mnist/ --dataset mnist": None,  # in check_run_sources
    "repr-assets run --source reviews.csv --text-column review --label-column topic": None,
    "repr-assets run --source plants.parquet --label-column species --id-column plant_id": None,
    "repr-assets sql \"SELECT ref, reason FROM quarantine WHERE dataset = 'reviews'\"": (
        check_quarantine_query
    ),
    "repr-assets rollback --dataset digits --encoder pca": check_rollback,
    "repr-assets rollback --dataset digits --encoder pca --to 3": None,  # in check_rollback
    "repr-assets compact --dataset digits --keep 2 --grace 0": check_compact,
    "repr-assets search --dataset digits --encoder pca --id digits-0042": check_searches,
    "repr-assets search --dataset digits --encoder autoencoder --file my_seven.png -k 5 --json": (
        None
    ),
    "repr-assets search --dataset digits --encoder pca --id digits-0042 --where label=3": None,
    "repr-assets search --dataset reviews --encoder pca --text "
    "'the referee stopped the match' -k 5": None,
    'repr-assets sql "SELECT label, count(*) FROM digits_pca GROUP BY label ORDER BY label"': (
        check_label_counts
    ),
}


def canonical(command: str) -> str:
    return shlex.join(shlex.split(command))


def test_every_readme_command_is_checked():
    checked = {canonical(c) for c in CHECKS}
    for command in commands():
        if command in NOT_RUN_HERE or "--vector" in command:
            continue  # the vector search is checked in check_searches
        assert command in checked, f"README command without a check: {command}"


@pytest.mark.slow
def test_the_readme_commands_do_what_it_says(readme):
    root, shell = readme
    with in_folder(root):
        for check in dict.fromkeys(CHECKS.values()):
            if check is not None and check is not check_run_sources:  # run by the fixture
                check(shell, root)


@pytest.mark.slow
def test_the_readme_sql_recipes_do_what_they_say(readme):
    root, shell = readme
    with duckdb.connect(str(root / ".repr_assets" / "reports.duckdb"), read_only=True) as db:
        versions = db.execute(
            "SELECT model_version FROM models WHERE dataset = 'digits' AND encoder = 'pca' "
            "ORDER BY fitted_at"
        ).fetchall()
    results = []
    with in_folder(root):
        for recipe in sql_recipes():
            recipe = recipe.replace("OLD_VERSION", versions[0][0])
            recipe = recipe.replace("NEW_VERSION", versions[-1][0])
            results.append(shell.json(f"repr-assets sql {shlex.quote(recipe)} --format json"))
    compare, neighbours, by_vector, centroids, served = results
    assert {r["metric"] for r in compare} >= {"linear_probe_accuracy", "effective_rank"}
    assert len(neighbours) == 10 and "digits-0042" not in {r["item_id"] for r in neighbours}
    assert [r["distance"] for r in neighbours] == sorted(r["distance"] for r in neighbours)
    assert len(by_vector) == 10
    assert len(centroids) == 10 and all(len(r["centroid"]) == 16 for r in centroids)
    assert served and {r["items"] for r in served} == {1797}


@pytest.mark.slow
def test_the_readme_python_runs(readme):
    root, _ = readme
    with in_folder(root):
        for block in blocks("python"):
            exec(compile(block, "README.md", "exec"), {})


def readme_dagster_yaml() -> dict:
    """The README's ``dagster.yaml`` for a PostgreSQL instance (its third YAML block), which
    ``tests/orchestration/test_postgres_instance.py`` runs two runs against."""
    return yaml.safe_load(textwrap.dedent(blocks("yaml")[2]))


def test_the_readme_yaml_is_what_it_says(tmp_path):
    declared, component, instance = blocks("yaml")
    assert yaml.safe_load(textwrap.dedent(instance)) == readme_dagster_yaml()
    path = tmp_path / "datasets.yaml"
    path.write_text(declared)
    [reviews] = load_declared(path)
    assert reviews.spec.source == str(tmp_path / "data" / "reviews.csv")  # relative to the file
    assert reviews.spec.embed_shards == 4 and reviews.refit_schedule == "0 3 * * 0"
    assert reviews.spec.ann_target_recall == 0.98
    fields = yaml.safe_load(component)
    assert fields["type"] == "repr_assets.orchestration.component.RepresentationDataset"
    spec = declared_dataset(
        tmp_path / "defs.yaml", fields["attributes"]["name"], fields["attributes"]["dataset"]
    ).spec
    assert spec.encoders == ("pca", "autoencoder") and spec.text_column == "review"
