"""The ``repr-assets`` command as users run it: a subprocess on a temporary home."""

from __future__ import annotations

import importlib.metadata
import json

import dagster as dg
import pytest

from tests.helpers import repr_assets


def test_unknown_dataset_is_one_clear_line_and_writes_nothing(tmp_path):
    home = tmp_path / "home"
    result = repr_assets(home, "run", "--dataset", "nosuch")
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "nosuch" in lines[0] and "digits" in lines[0]
    assert not home.exists()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["run", "--epochs", "0"], "--epochs"),
        (["run", "--max-samples", "0"], "--max-samples: expected an integer in 1.."),
        (["run", "--max-samples", "abc"], "--max-samples"),
        (
            ["run", "--max-samples", "9" * 23],
            "--max-samples: expected an integer in 1..1,000,000,000,000,000",
        ),
        (["run", "--latent-dim", "x"], "--latent-dim"),
        (["run", "--device", "tpu"], "--device"),
    ],
)
def test_bad_options_are_refused_before_anything_is_written(tmp_path, args, expected):
    home = tmp_path / "home"
    result = repr_assets(home, *args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert expected in result.stderr
    assert not home.exists()


def test_report_without_any_run_says_what_to_do(tmp_path):
    result = repr_assets(tmp_path / "home", "report")
    assert result.returncode == 2
    assert "repr-assets run" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cli") / "home"
    first = repr_assets(home, "run", "--epochs", "15", "--seed", "1")
    assert first.returncode == 0, first.stderr[-3000:]
    return home, first


def test_run_prints_the_quality_summary(cli_home):
    _, first = cli_home
    assert "linear_probe_accuracy" in first.stdout
    assert "autoencoder" in first.stdout and "pca" in first.stdout
    assert "repr-assets ui" in first.stdout


def test_run_is_recorded_in_the_instance_under_the_home(cli_home):
    home, _ = cli_home
    assert (home / "dagster" / "dagster.yaml").exists()
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        runs = instance.get_runs()
        assert [run.job_name for run in runs] == ["digits_pipeline"]
        assert runs[0].status == dg.DagsterRunStatus.SUCCESS
        assert instance.get_latest_materialization_event(dg.AssetKey(["digits", "pca_embeddings"]))
    assert sorted(p.name for p in home.iterdir()) == [
        "dagster",
        "lancedb",
        "lancedb.locks",  # the tables' write locks (repr_assets.stores.table_locks)
        "models",
        "reports.duckdb",
    ]


def test_report_json_and_a_second_run(cli_home):
    home, _ = cli_home
    report = repr_assets(home, "report", "--format", "json")
    assert report.returncode == 0, report.stderr
    rows = json.loads(report.stdout)
    assert {(r["encoder"], r["metric"]) for r in rows} >= {
        ("pca", "linear_probe_accuracy"),
        ("autoencoder", "explained_variance"),
    }
    assert len(rows) == 2 * 23 + 4  # and the four baselines of the raw features
    assert all(r["previous_model_version"] is None for r in rows)

    second = repr_assets(home, "run", "--epochs", "15", "--seed", "1")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "the report is current" in second.stdout
    again = json.loads(repr_assets(home, "report", "--format", "json").stdout)
    # Nothing changed: the same report, not a copy of it appended.
    assert again == rows


def test_report_for_an_unknown_dataset_is_an_error(cli_home):
    home, _ = cli_home
    result = repr_assets(home, "report", "--dataset", "nosuch")
    assert result.returncode == 2
    assert "nosuch" in result.stderr


def test_a_run_below_the_quality_floors_says_which_checks_failed(tmp_path):
    # One epoch leaves the autoencoder far from reconstructing digits.
    result = repr_assets(tmp_path / "home", "run", "--epochs", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "quality checks below their floor" in result.stdout
    assert "autoencoder_explained_variance_at_least" in result.stdout
    assert "pca_" not in result.stdout.split("quality checks below their floor")[1]


def test_version_is_the_installed_distributions(tmp_path):
    result = repr_assets(tmp_path / "home", "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"repr-assets {importlib.metadata.version('repr-assets')}"
    assert not (tmp_path / "home").exists()


def test_the_served_line_says_why_each_encoder_is_held_back():
    from repr_assets.cli.run import _served_line

    line = _served_line(
        {
            "pca": "rolled back by hand to 1: the next version a run writes is judged",
            "autoencoder": "checks failed: explained_variance_at_least",
            "contrastive": "no quality report for its model yet; nothing was ever served, so …",
        },
        never_served=["contrastive"],
    )
    assert "pca not served (rolled back by hand to 1" in line
    assert "autoencoder not served (checks failed: explained_variance_at_least" in line
    assert "contrastive not served (no quality report for its model yet, and nothing" in line
    assert "checks failed" not in line.split("autoencoder")[0]  # a rollback is no failure
