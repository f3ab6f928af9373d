"""The architecture doc's rules that import-linter cannot state, checked on the project's import graph.

The contracts themselves live in ``pyproject.toml`` (``[tool.importlinter]``) and ``lint-imports`` checks
them in ``.ci/run``. Here: no import cycle anywhere (module level or inside functions, as grimp sees
them), the contracts that list modules by name still cover every module they should (so a new app or
a new architecture folder cannot slip past them), and unit tests stay in-process (tests/conftest.py).
"""

from __future__ import annotations

import ast
import sys
from collections import deque
from pathlib import Path

import grimp
import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("ganbase", "singan_kit", "cli")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES, cache_dir=None)


@pytest.fixture(scope="module")
def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def strongly_connected_components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (the graph has a few hundred modules; no recursion limit worries)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def shortest_cycle_through(start: str, edges: dict[str, set[str]], within: set[str]) -> list[str]:
    """The shortest path ``start -> ... -> start`` inside one strongly connected component."""
    previous: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for child in sorted(edges[node] & within):
            if child == start:
                path = [node]
                while path[-1] != start:
                    path.append(previous[path[-1]])
                return [start, *reversed(path[:-1]), start] if node != start else [start, start]
            if child not in previous:
                previous[child] = node
                queue.append(child)
    raise AssertionError(f"{start} is in a cycle but no path leads back to it")  # cannot happen


def find_cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle path per group of modules that import each other (empty when the graph is acyclic)."""
    return [shortest_cycle_through(component[0], edges, set(component))
            for component in strongly_connected_components(edges) if len(component) > 1]


def describe_cycles(edges: dict[str, set[str]]) -> list[str]:
    """One line per tangle: a path around the loop, plus the other modules caught in the same tangle."""
    lines = []
    for component in strongly_connected_components(edges):
        if len(component) > 1:
            cycle = shortest_cycle_through(component[0], edges, set(component))
            others = sorted(set(component) - set(cycle))
            lines.append(" -> ".join(cycle) + (f"  (same tangle: {', '.join(others)})" if others else ""))
    return lines


def import_edges(graph: grimp.ImportGraph) -> dict[str, set[str]]:
    return {module: set(graph.find_modules_directly_imported_by(module)) - {module} for module in graph.modules}


def test_cycle_finder_finds_a_known_cycle_and_its_path():
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"d"}}
    assert find_cycles(edges) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles(graph):
    cycles = describe_cycles(import_edges(graph))
    assert not cycles, "import cycles (one path around each loop):\n" + "\n".join("  " + c for c in cycles)


def test_inference_contract_lists_every_app_outside_tuning(graph, contracts):
    sources = set(contracts["inference-no-training"]["source_modules"])
    apps = {"singan_kit.apps"} | graph.find_descendants("singan_kit.apps")
    inference_apps = {m for m in apps if not (m == "singan_kit.apps.tuning" or m.startswith("singan_kit.apps.tuning."))}
    missing = sorted(inference_apps - sources)
    assert not missing, f"add these apps to the inference-no-training contract in pyproject.toml: {missing}"


def test_independence_contract_lists_every_architecture_folder(graph, contracts):
    listed = set(contracts["architectures-independent"]["modules"])
    folders = {m for m in graph.find_children("singan_kit.architectures") if graph.find_children(m)}
    missing = sorted(folders - listed)
    assert not missing, f"add these architecture folders to the architectures-independent contract: {missing}"


# tests/conftest.py's rule: unit tests are in-process and call the library, not the CLI
NOT_IN_UNIT_TESTS = ("subprocess", "multiprocessing", "click.testing", "cli", "torch.distributed.run")


def test_unit_tests_start_no_subprocess_and_no_cli():
    offenders = []
    for path in sorted((ROOT / "tests" / "unit").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno} imports {name}" for name in names
                          if any(name == banned or name.startswith(banned + ".") for banned in NOT_IN_UNIT_TESTS)]
    assert not offenders, "unit tests must stay in-process (move these to tests/integration/):\n" + "\n".join(offenders)


# ---- web studio (issue 25): the studio calls singan_kit.api only; the forbidden contract lists
# the internals it may not import, this checks the other way round so a new module cannot escape it
def test_studio_imports_nothing_of_singan_kit_but_the_api():
    studio_graph = grimp.build_graph("studio", *PACKAGES, cache_dir=None)
    modules = {"studio"} | studio_graph.find_descendants("studio")
    imported = {target for module in modules for target in studio_graph.find_modules_directly_imported_by(module)}
    assert "singan_kit.api" in imported
    outside = sorted(m for m in imported if m.split(".")[0] in ("singan_kit", "cli") and m != "singan_kit.api")
    assert not outside, f"studio may import singan_kit.api only, not {outside}"
