"""The command line's cold start against plain scripts that do the same reads.

Each read command is one process started from the shell, as a person runs it; so is
its reference, a script of a few lines that a user could write without this project:

- ``search --id``: pylance and NumPy read the vectors, normalise them, take one matrix
  product and a partial sort;
- ``sql``: DuckDB scans the Lance dataset in place;
- ``report``: DuckDB reads the newest value of each metric from ``reports.duckdb``.

Both sides are timed in turn, the order alternating, and the best of the rounds kept
(``suite.best_times``). The home is made once by ``repr-assets run`` on digits (PCA).
Both sides' answers are returned too, so that a test can check they agree.

    python -m benchmarks.cli_cold [--rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cli_run import repr_assets_command, run_checked

QUERY_ID = "digits-0000"
PLAIN_NAMES = {
    "search --id": "a pylance + NumPy script",
    "sql": "a duckdb + pylance script",
    "report": "a plain duckdb query of the same rows",
}
SQL = "SELECT label, count(*) AS n FROM digits_pca GROUP BY label ORDER BY label"

PLAIN_SEARCH = """
import sys
import lance, numpy as np
table = lance.dataset(sys.argv[1]).to_table(columns=["item_id", "vector"])
ids = table.column("item_id").to_numpy(zero_copy_only=False)
vectors = table.column("vector").combine_chunks().flatten().to_numpy().reshape(len(ids), -1)
vectors = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
similarity = vectors @ vectors[np.flatnonzero(ids == sys.argv[2])[0]]
top = np.argpartition(-similarity, 11)[:11]
for row in top[np.argsort(-similarity[top])][1:]:
    print(ids[row], round(1.0 - float(similarity[row]), 4))
"""

PLAIN_SQL = """
import sys
import duckdb, lance
digits_pca = lance.dataset(sys.argv[1])
for row in duckdb.sql(sys.argv[2]).fetchall():
    print(*row)
"""

PLAIN_REPORT = """
import sys
import duckdb
with duckdb.connect(sys.argv[1], read_only=True) as connection:
    rows = connection.execute(
        "SELECT encoder, metric, arg_max(value, computed_at) FROM quality_metrics "
        "WHERE dataset = 'digits' GROUP BY ALL ORDER BY ALL"
    ).fetchall()
for row in rows:
    print(*row)
"""


@dataclass(frozen=True)
class ColdStart:
    command: str
    ours_s: float
    plain_s: float
    ours_output: str
    plain_output: str

    @property
    def ratio(self) -> float:
        return self.ours_s / self.plain_s


def make_home(root: Path) -> None:
    """A home with digits embedded by PCA, as ``repr-assets run`` leaves it."""
    run_checked(repr_assets_command("run", "--dataset", "digits", "--encoders", "pca"), root)


def _process(command: list[str], home: Path) -> Callable[[], str]:
    return lambda: run_checked(command, home).stdout


def pairs(root: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Per command, our command line and the plain script's."""
    table = str(root / "lancedb" / "digits_pca.lance")
    python = [sys.executable, "-c"]
    return {
        "search --id": (
            repr_assets_command("search", "--dataset", "digits", "--encoder", "pca",
                                "--id", QUERY_ID, "--json"),
            [*python, PLAIN_SEARCH, table, QUERY_ID],
        ),
        "sql": (repr_assets_command("sql", SQL), [*python, PLAIN_SQL, table, SQL]),
        "report": (
            repr_assets_command("report", "--dataset", "digits"),
            [*python, PLAIN_REPORT, str(root / "reports.duckdb")],
        ),
    }  # fmt: skip


def measure(rounds: int = 5, settle_s: float = 0.5, root: Path | None = None) -> list[ColdStart]:
    from benchmarks.suite import best_times

    with tempfile.TemporaryDirectory(prefix="repr-assets-cold-") as scratch:
        home = root or Path(scratch) / "home"
        make_home(home)
        results = []
        for command, (ours, plain) in pairs(home).items():
            contenders = {"ours": _process(ours, home), "plain": _process(plain, home)}
            times, outputs = best_times(contenders, rounds, settle_s=settle_s)
            results.append(
                ColdStart(
                    command,
                    times["ours"],
                    times["plain"],
                    str(outputs["ours"]),
                    str(outputs["plain"]),
                )
            )
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    for result in measure(args.rounds):
        print(
            f"repr-assets {result.command:12} {result.ours_s:.2f} s; "
            f"{PLAIN_NAMES[result.command]}: {result.plain_s:.2f} s; ratio {result.ratio:.2f}x"
        )


if __name__ == "__main__":
    main()
