"""The shape of the house, checked: what imports what, how large a file grows, how thin an
asset body stays. Read from the source itself (``ast``), so nothing is imported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "repr_assets"
MAX_LINES = 350
MAX_ASSET_BODY = 25


def modules() -> dict[str, Path]:
    """Every module of the package, by dotted name."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def imported(path: Path, known: set[str]) -> set[str]:
    """The package's modules that ``path`` imports, anywhere in it (a function-local import
    counts: it is a loop all the same), and those it names to ``importlib``: a string
    constant that is a module name counts as an import of it."""
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            # ``from package import module`` depends on that module; ``from module import
            # name`` on the module.
            for alias in node.names:
                submodule = f"{node.module}.{alias.name}"
                names.add(submodule if submodule in known else node.module)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names.add(node.value)
    return {name for name in names if name in known}


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imported(path, known) - {name} for name, path in found.items()}


def test_there_are_no_import_loops():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt) :], nxt]
                pytest.fail("import loop: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)


def test_only_the_orchestration_package_imports_dagster():
    for name, path in modules().items():
        if name.startswith("repr_assets.orchestration"):
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names if a.name.split(".")[0].startswith("dagster")]
            elif isinstance(node, ast.ImportFrom):
                found = [node.module] if (node.module or "").startswith("dagster") else []
            else:
                continue
            assert not found, f"{name} imports {found[0]}"


def test_no_module_is_over_350_lines():
    long = {
        name: len(path.read_text().splitlines())
        for name, path in modules().items()
        if len(path.read_text().splitlines()) > MAX_LINES
    }
    assert long == {}


def test_asset_bodies_call_the_pipeline_and_describe_the_result():
    """Every function decorated as an asset or op is at most about 25 lines long."""
    for name, path in modules().items():
        if not name.startswith("repr_assets.orchestration"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef):
                continue
            decorators = [ast.unparse(d) for d in node.decorator_list]
            if any(d.startswith(("dg.asset", "dg.op", "dg.graph_asset")) for d in decorators):
                body = node.body[1:] if ast.get_docstring(node) else node.body
                lines = body[-1].end_lineno - body[0].lineno + 1  # type: ignore[operator]
                assert lines <= MAX_ASSET_BODY, f"{name}.{node.name}: {lines} lines"


REPO = PACKAGE.parent
SHARED = "sample_sources"  # the one module that tests and benchmarks both draw data from


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_benchmarks_and_tests_share_helpers_only_through_one_module():
    for path in sorted((REPO / "benchmarks").glob("*.py")):
        tests = {name for name in _imports(path) if name.split(".")[0] == "tests"}
        assert not tests, f"benchmarks/{path.name} imports {sorted(tests)}"
    for path in sorted((REPO / "tests").rglob("*.py")):
        # A test of a benchmark imports it as a module; none executes its file by path.
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and "benchmarks" in ast.unparse(node.args[:1]):
                called = ast.unparse(node.func)
                assert not called.endswith(("spec_from_file_location", "run_path")), path
    assert (REPO / f"{SHARED}.py").is_file()


def test_the_tests_mirror_the_layout():
    """Each folder of tests is named after a package of ``repr_assets`` (or benchmarks)."""
    packages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    folders = {p.name for p in (REPO / "tests").iterdir() if (p / "__init__.py").is_file()}
    assert folders - packages <= {"benchmarks"}
    assert packages - folders == set(), "a package without tests of its own"
