"""``dagster dev`` started as a user starts it (``repr-assets ui``), queried over GraphQL:
the code location loads with its assets, checks, schedules and sensors, and a launched run
of the built-in data set succeeds. The server is stopped afterwards."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import CLI

REPO = Path(__file__).resolve().parents[2]

LOCATION_QUERY = """
query {
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        location { name }
        jobs { name }
        schedules { name }
        sensors { name }
        assetNodes {
          assetKey { path }
          assetChecksOrError { ... on AssetChecks { checks { name } } }
        }
      }
    }
    ... on PythonError { message }
  }
}
"""
LAUNCH = """
mutation Launch($params: ExecutionParams!) {
  launchPipelineExecution(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""
STATUS = "query Status($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        body = json.loads(response.read())
    assert "errors" not in body, body
    return body["data"]


def wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            value = condition()
        except OSError:
            value = None
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"gave up waiting for {what} after {seconds:.0f} s")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    home = tmp_path_factory.mktemp("ui") / "home"
    port = free_port()
    env = {**os.environ, "REPR_ASSETS_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    log = (home.parent / "dagster-dev.log").open("w")
    # From a folder that is not the repository: the code location is the package's own.
    process = subprocess.Popen(
        [CLI, "ui", "--port", str(port)],
        cwd=home.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # one process group: the webserver, daemon and code server
    )
    try:
        wait_for(lambda: graphql(port, "{ version }").get("version"), 240, "the Dagster webserver")
        yield port, process, home.parent / "dagster-dev.log"
    finally:
        for pid in [process.pid, *descendants(process.pid)]:  # whatever a failed test left
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=60)
        log.close()


def descendants(pid: int) -> list[int]:
    """Every living process below ``pid``, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z":  # a zombie has exited already
                children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.slow
def test_the_code_location_loads_with_everything(server):
    server, _, log = server
    location = wait_for(
        lambda: graphql(server, LOCATION_QUERY)["repositoriesOrError"].get("nodes"),
        240,
        "the code location",
    )
    [repository] = location
    assert repository["location"]["name"] == "repr_assets.orchestration.location"
    assets = {"/".join(a["assetKey"]["path"]): a for a in repository["assetNodes"]}
    for name in (
        "items",
        "features",
        "pca_model",
        "autoencoder_embeddings",
        "quality_report",
        "served_embeddings",
    ):
        assert f"digits/{name}" in assets
    checks = {c["name"] for c in assets["digits/pca_embeddings"]["assetChecksOrError"]["checks"]}
    assert checks == {"vectors_finite", "one_row_per_item"}
    report_checks = assets["digits/quality_report"]["assetChecksOrError"]["checks"]
    assert "pca_linear_probe_accuracy_at_least" in {c["name"] for c in report_checks}
    assert "digits_pipeline" in {j["name"] for j in repository["jobs"]}
    assert {s["name"] for s in repository["schedules"]} >= {"digits_refit_schedule"}
    # Dagster's advice to its own developers ("use 'dg dev'") is not for our users.
    assert "SupersessionWarning" not in log.read_text()


@pytest.mark.slow
def test_a_launched_run_of_digits_succeeds(server):
    server, *_ = server
    params = {
        "selector": {
            "repositoryLocationName": "repr_assets.orchestration.location",
            "repositoryName": "__repository__",
            "pipelineName": "digits_pipeline",
        },
        "runConfigData": {"ops": {"digits__autoencoder_model": {"config": {"epochs": 5}}}},
        "mode": "default",
    }
    launched = graphql(server, LAUNCH, {"params": params})["launchPipelineExecution"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished() -> str | None:
        status = graphql(server, STATUS, {"id": run_id})["runOrError"]["status"]
        return status if status in {"SUCCESS", "FAILURE", "CANCELED"} else None

    assert wait_for(finished, 600, "the run") == "SUCCESS"


@pytest.mark.slow
def test_ctrl_c_stops_the_ui_and_all_it_started_within_ten_seconds(server):
    """Last in this file: it stops the server. Ctrl-C reaches ``repr-assets ui`` alone (the
    Dagster processes run in a session of their own), which must stop them all."""
    _, process, _ = server
    started = descendants(process.pid)
    assert len(started) >= 2  # dagster dev, its webserver, daemon and code server
    began = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=10)
    deadline = began + 10
    while any(pid in started for pid in descendants(1)) and time.monotonic() < deadline:
        time.sleep(0.2)
    alive = [pid for pid in started if Path(f"/proc/{pid}").exists() and not zombie(pid)]
    assert alive == [], f"still running {time.monotonic() - began:.1f} s after Ctrl-C"


def zombie(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    return True
