"""A team keeps the Dagster instance in PostgreSQL: two `repr-assets run` at once both
succeed, and their runs are in Postgres, not in SQLite files under the home."""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import yaml

from repr_assets.home import HOME_VARIABLE
from tests.helpers import CLI
from tests.test_readme import readme_dagster_yaml

psycopg2 = pytest.importorskip("psycopg2", reason="the postgres extra is not installed")
PostgresRunStorage = pytest.importorskip("dagster_postgres").PostgresRunStorage

PG_BIN_VARIABLE = "REPR_ASSETS_TEST_PG_BIN"
RUN_TIMEOUT = 300.0


@dataclass(frozen=True)
class Postgres:
    """A throwaway PostgreSQL server on 127.0.0.1, trust auth, superuser ``postgres``."""

    port: int
    user: str = "postgres"
    host: str = "127.0.0.1"

    def connect(self, database: str = "postgres") -> psycopg2.extensions.connection:
        return psycopg2.connect(
            host=self.host, port=self.port, user=self.user, dbname=database, connect_timeout=10
        )

    def create_database(self, name: str) -> str:
        connection = self.connect()
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE DATABASE "{name}"')
        finally:
            connection.close()
        return name

    def dagster_yaml(self, database: str) -> str:
        """The README's ``dagster.yaml`` for PostgreSQL, pointed at ``database`` on this
        server: what a user copies is what runs here."""
        config = readme_dagster_yaml()
        config["storage"]["postgres"]["postgres_db"].update(
            username=self.user, password="", hostname=self.host, db_name=database, port=self.port
        )
        return yaml.safe_dump(config)


def _postgres_bin() -> Path | str:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or why there is none."""
    looked: list[str] = []
    explicit = os.environ.get(PG_BIN_VARIABLE)
    if explicit:
        if (Path(explicit) / "initdb").is_file():
            return Path(explicit)
        looked.append(f"{PG_BIN_VARIABLE}={explicit} has no initdb")

    def version(folder: str) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"\d+", Path(folder).parent.name))

    for folder in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True):
        if (Path(folder) / "initdb").is_file():
            return Path(folder)
    looked.append("no /usr/lib/postgresql/*/bin/initdb")
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    looked.append("no initdb on PATH")
    return "PostgreSQL not installed (" + "; ".join(looked) + "): apt-get install postgresql"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL server of this machine's binaries, started for the module; skipped, with
    the reason, when none can be started."""
    bin_dir = _postgres_bin()
    if isinstance(bin_dir, str):
        pytest.skip(bin_dir)
    prefix: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:  # postgres refuses to run as root
        try:
            owner = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as")
        prefix = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="repr-assets-pg-"))  # not under pytest's 0700 tmp
    data, sockets, log = root / "data", root / "sockets", root / "server.log"
    sockets.mkdir()
    if owner is not None:
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)

    def pg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*prefix, *args], cwd=root, capture_output=True, text=True, timeout=timeout
        )

    started = False
    try:
        made = pg(str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres")
        if made.returncode != 0:
            pytest.skip(f"initdb of {bin_dir} failed: {(made.stderr or made.stdout).strip()}")
        port = _free_port()
        options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1"
        start = pg(
            str(bin_dir / "pg_ctl"), "start", "-w", "-D", str(data), "-l", str(log), "-o", options
        )
        started = start.returncode == 0
        if not started:
            reason = log.read_text().strip() if log.exists() else start.stderr.strip()
            pytest.skip(f"PostgreSQL of {bin_dir} did not start on port {port}: {reason[-500:]}")
        yield Postgres(port=port)
    finally:
        if started:
            pg(str(bin_dir / "pg_ctl"), "stop", "-m", "fast", "-D", str(data))
        shutil.rmtree(root, ignore_errors=True)


def _start_run(home: Path, output: Path) -> tuple[subprocess.Popen[str], Path]:
    """``repr-assets run`` of digits with PCA only, its stdout and stderr in files."""
    environment = {**os.environ, HOME_VARIABLE: str(home)}
    environment.pop("DAGSTER_HOME", None)
    stdout, stderr = output.with_suffix(".out"), output.with_suffix(".err")
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [CLI, "run", "--dataset", "digits", "--encoders", "pca"],
            env=environment,
            stdout=out,
            stderr=err,
            text=True,
        )
    return process, stderr


@pytest.mark.slow
def test_two_runs_at_once_share_a_postgres_instance(
    postgres: Postgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    database = postgres.create_database("repr_assets_two_runs")
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text(postgres.dagster_yaml(database))

    runs = [_start_run(home, tmp_path / f"run{n}") for n in (1, 2)]
    deadline = time.monotonic() + RUN_TIMEOUT
    try:
        for process, _ in runs:
            process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        for process, _ in runs:
            if process.poll() is None:
                process.kill()
                process.wait()
    for process, stderr in runs:
        errors = stderr.read_text()
        assert process.returncode == 0, errors[-3000:]
        assert "Traceback" not in errors, errors[-3000:]

    connection = postgres.connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT run_id, status FROM runs")
            rows = cursor.fetchall()
    finally:
        connection.close()
    assert len(rows) == 2, rows
    assert {status for _, status in rows} == {"SUCCESS"}, rows

    dagster_home = home / "dagster"
    assert not (dagster_home / "history").exists()
    assert not list(dagster_home.rglob("*.db")), list(dagster_home.rglob("*.db"))

    monkeypatch.setenv("DAGSTER_HOME", str(dagster_home))
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert {run.run_id for run in instance.get_runs()} == {run_id for run_id, _ in rows}


def test_a_postgres_that_does_not_answer_is_one_line_and_nothing_is_stored(tmp_path):
    home = tmp_path / "home"
    (home / "dagster").mkdir(parents=True)
    config = readme_dagster_yaml()
    config["storage"]["postgres"]["postgres_db"].update(hostname="127.0.0.1", port=1)
    (home / "dagster" / "dagster.yaml").write_text(yaml.safe_dump(config))
    environment = {**os.environ, HOME_VARIABLE: str(home)}
    environment.pop("DAGSTER_HOME", None)
    result = subprocess.run(
        [CLI, "run", "--dataset", "digits", "--encoders", "pca"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert lines[0].startswith("repr-assets: error: cannot open the Dagster instance of ")
    assert "Connection refused" in lines[0] or "connection" in lines[0].lower()
    assert not (home / "models").exists()  # no options stored, nothing run
