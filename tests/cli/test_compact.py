"""``repr-assets compact`` by hand, on a home where two seeds were run and published: it
removes what no one can ask for again, says how much, and what it kept still serves."""

from __future__ import annotations

import re

import pytest

from repr_assets.stores.lance import LanceStore
from repr_assets.stores.serving import served_version
from tests.helpers import one_line, repr_assets


@pytest.fixture(scope="module")
def two_seeds(tmp_path_factory):
    home = tmp_path_factory.mktemp("compact") / "home"
    for seed in ("0", "1"):  # a new seed refits: a second published version
        result = repr_assets(
            home, "run", "--dataset", "digits", "--encoders", "pca", "--seed", seed
        )
        assert result.returncode == 0, result.stderr[-2000:]
    return home


def test_compact_keeps_the_served_version_and_the_last_published(two_seeds):
    home = two_seeds
    store = LanceStore(home / "lancedb")
    served = served_version(store.dataset("digits_pca"))
    assert [v["version"] for v in store.dataset("digits_pca").versions()] == [1, 2]
    result = repr_assets(home, "compact", "--dataset", "digits", "--keep", "1", "--grace", "0")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("digits_pca:"))
    assert "removed 1 old versions" in line and f"kept versions {served}" in line
    sizes = re.search(r"files ([\d.]+) MiB -> ([\d.]+) MiB$", line)
    assert sizes is not None, line
    assert float(sizes.group(2)) < float(sizes.group(1))
    assert [v["version"] for v in store.dataset("digits_pca").versions()] == [served]

    rolled = repr_assets(home, "rollback", "--dataset", "digits", "--encoder", "pca")
    assert one_line(rolled) == (
        "repr-assets: error: version 1 of 'digits_pca' was removed by retention "
        f"(repr-assets compact); the published versions still kept are: {served}"
    )
    search = repr_assets(
        home, "search", "--dataset", "digits", "--encoder", "pca", "--id", "digits-0000", "-k", "3"
    )
    assert search.returncode == 0, search.stderr


def test_compact_of_an_unknown_data_set_is_one_line(tmp_path):
    result = repr_assets(tmp_path / "home", "compact", "--dataset", "nowhere")
    assert result.returncode == 2
    line = one_line(result)
    assert line.startswith("repr-assets: error: no data set 'nowhere' under ")
    assert "--source" not in line


def test_a_rollback_to_a_version_the_table_never_had_says_so(two_seeds):
    result = repr_assets(
        two_seeds, "rollback", "--dataset", "digits", "--encoder", "pca", "--to", "99"
    )
    assert one_line(result) == "repr-assets: error: 'digits_pca' has no version 99: its newest is 2"
