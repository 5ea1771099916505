"""The layers of docs/architecture.md, checked by reading every product module's imports.

A module may import from its own layer and the layers below it, never from one above.
The local kit (``tada.kit``) and the rehearsal (``tada.simulation``) sit on top: nothing the
product needs imports them, except the one shipped command that runs a rehearsal.
"""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

REPOSITORY = Path(__file__).resolve().parents[2]
SOURCES = {
    "tada": REPOSITORY / "tada",
    "tada.workflows": REPOSITORY / "workflows",
    "tada.activities": REPOSITORY / "activities",
}

#: Lowest first. Keep in step with docs/architecture.md.
LAYERS: list[set[str]] = [
    {"tada", "tada.errors", "tada.domain", "tada.settings"},
    {"tada.workflows"},
    {"tada.adapters", "tada.clients"},
    {"tada.app", "tada.reporting"},
    {"tada.activities", "tada.api", "tada.console", "tada.servers"},
    {"tada.cli", "tada.worker"},
    {"tada.simulation", "tada.kit"},
]
#: The shipped `tada simulate` command runs a rehearsal in the local kit.
ALLOWED_UPWARD = {("tada.cli.simulate", "tada.simulation")}
#: Within one layer, rooms that stay apart: what tada runs on and the outside world it talks
#: to are separate adapters; the domain is pure rules beside the error vocabulary.
APART = [
    ("tada.adapters", "tada.clients"),
    ("tada.clients", "tada.adapters"),
    ("tada.domain", "tada.settings"),
    ("tada.errors", "tada"),
]
#: I/O libraries the pure and deterministic layers never import (the tests' full workflow sandbox
#: re-imports workflow modules; domain rules are tested without servers).
IO_LIBRARIES = {
    "asyncpg", "httpx", "httpcore", "aiosmtplib", "aiosmtpd", "smtplib", "socket", "subprocess", "structlog",
    "uvicorn", "fastapi", "starlette", "dns", "whoisit", "temporalio.client", "temporalio.worker", "temporalio.testing",
}  # fmt: skip


def _modules() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            name = ".".join((package, *parts)).removesuffix(".__init__")
            if package == "tada" and parts[0] in ("workflows", "activities"):
                continue
            found[name] = path
    return found


def _layer(module: str) -> int:
    best, depth = None, -1
    for index, layer in enumerate(LAYERS):
        for prefix in layer:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    assert best is not None, f"{module} is in no layer of tests/architecture/test_layers.py"
    return best


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _imports(module: str, path: Path) -> list[tuple[int, str]]:
    """Every module imported, by its full name (relative imports resolved; ``from tada import x``
    counts as ``tada.x``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            found.append((node.lineno, base))
            if base == "tada" or not node.module:
                found += [(node.lineno, f"{base}.{alias.name}") for alias in node.names]
    return found


MODULES = _modules()


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_module_imports_from_a_layer_above_its_own(module: str):
    own = _layer(module)
    wrong = []
    for line, imported in _imports(module, MODULES[module]):
        if imported.split(".")[0] != "tada" or imported == "tada":
            continue
        if _layer(imported) > own and not any(_within(module, m) and _within(imported, i) for m, i in ALLOWED_UPWARD):
            wrong.append(f"line {line}: {imported}")
    assert not wrong, f"{module} (layer {own}) imports from above: {wrong}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_rooms_of_one_layer_that_stay_apart_do(module: str):
    wrong = [
        f"line {line}: {imported}"
        for line, imported in _imports(module, MODULES[module])
        for room, other in APART
        if _within(module, room) and _within(imported, other) and imported != "tada.errors" and room != other
    ]
    assert not wrong, f"{module} imports from a room it must stay apart from: {wrong}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _layer(m) <= 1))
def test_domain_and_workflows_do_no_io(module: str):
    wrong = [
        f"line {line}: {name}"
        for line, name in _imports(module, MODULES[module])
        if any(_within(name, library) for library in IO_LIBRARIES)
    ]
    assert not wrong, f"{module} imports I/O libraries: {wrong}"


def test_the_layer_table_knows_every_package():
    for module in MODULES:
        _layer(module)


def test_pyproject_installs_every_package():
    project = tomllib.loads((REPOSITORY / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(project["tool"]["setuptools"]["packages"])
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    assert packages == listed, f"missing from pyproject: {packages - listed}; not packages: {listed - packages}"


def test_the_layer_checker_sees_a_violation():
    """A check that cannot fail proves nothing: a domain module importing the API is caught."""
    assert _layer("tada.api.app") > _layer("tada.domain.models")
    assert ("tada.domain.models", "tada.api") not in ALLOWED_UPWARD
    assert not any(_within("tada.cli.simulated", m) for m, _ in ALLOWED_UPWARD)


def test_relative_imports_are_read_by_their_full_name(tmp_path):
    module = tmp_path / "models.py"
    module.write_text("from . import states\nfrom ..api.app import create_app\n", encoding="utf-8")
    names = {name for _, name in _imports("tada.domain.models", module)}
    assert {"tada.domain.states", "tada.api.app"} <= names
