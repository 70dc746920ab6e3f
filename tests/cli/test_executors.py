"""``--executor`` and ``--dask-address`` are checked before anything is written: the
refusals a user meets without the dask extra, or with an address that cannot work."""

from __future__ import annotations

import importlib.util

from repr_assets.cli import executors, main


def test_the_dask_executor_without_its_extra_is_one_line(tmp_path, monkeypatch, capsys):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        executors.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "dagster_dask" else real(name, *a),
    )
    monkeypatch.setenv("REPR_ASSETS_HOME", str(tmp_path / "home"))
    assert main(["run", "--dataset", "digits", "--encoders", "pca", "--executor", "dask"]) == 2
    assert capsys.readouterr().err == (
        "repr-assets: error: the dask executor needs dagster-dask: "
        "pip install 'repr-assets[dask]'\n"
    )
    assert not (tmp_path / "home" / "models").exists()
