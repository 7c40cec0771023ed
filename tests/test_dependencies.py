"""Honest dependencies: every package the code imports is declared, and every declared package is used.

The shipped packages may import only the core dependencies (and an extra's, where the extra says why);
tests and benches may also use the `test` extra. A dependency used without being imported (a library's
optional part, a database driver chosen by URL) is listed in IMPLICIT with the reason.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from tests.conftest import ROOT

SHIPPED = ("monitor", "connectors", "classifiers", "templates")
FIRST_PARTY = {*SHIPPED, "tests", "bench", "fakes"}
IMPLICIT = {
    "python-multipart": "starlette's request.form() (the review inbox's forms) needs it",
    "itsdangerous": "starlette's SessionMiddleware (the review inbox's session cookie) needs it",
    "psycopg": "SQLAlchemy's driver for postgresql:// URLs",
}
OWN_VENV = {
    "bench/probe_stronger_model.py": "a probe that runs in a virtualenv of its own (PyTorch, a sentence model): "
    "what it imports is never the project's",
}
TOOLS = {"lint"}
"""Extras of commands that .ci/run runs (linters and their stubs), not of imports."""


def _name(requirement: str) -> str:
    """The canonical distribution name of a requirement line ("psycopg[binary]>=3.1" -> "psycopg")."""
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]).lower()


def _project() -> dict:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return tomllib.load(handle)["project"]


def _imports(*folders: str) -> set[str]:
    """Top-level names of the third-party modules imported anywhere under these folders."""
    found: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            if path.relative_to(ROOT).as_posix() in OWN_VENV:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name not in FIRST_PARTY}


def _distributions(modules: set[str]) -> dict[str, set[str]]:
    """Module -> the (canonical) names of the installed distributions that provide it."""
    provided = packages_distributions()
    return {module: {_name(dist) for dist in provided.get(module, [])} for module in modules}


def test_every_import_is_declared() -> None:
    project = _project()
    core = {_name(req) for req in project["dependencies"]}
    extras = {extra: {_name(req) for req in reqs} for extra, reqs in project["optional-dependencies"].items()}
    for module, dists in _distributions(_imports(*SHIPPED)).items():
        found = ", ".join(dists) or "not installed"
        assert dists & core, f"the package imports {module} ({found}): not a core dependency"
    for module, dists in _distributions(_imports("tests", "bench")).items():
        assert dists & (core | extras["test"]), f"tests or benches import {module}: declare it in the test extra"


def test_every_declared_dependency_is_used() -> None:
    project = _project()
    used = set().union(*_distributions(_imports(*SHIPPED)).values())
    used_by_tests = set().union(*_distributions(_imports("tests", "bench")).values())
    for requirement in project["dependencies"]:
        name = _name(requirement)
        assert name in used or name in IMPLICIT, f"{name} is declared but never imported"
    for extra, requirements in project["optional-dependencies"].items():
        if extra in TOOLS:
            continue
        for requirement in requirements:
            name = _name(requirement)
            wanted = used_by_tests if extra == "test" else used
            assert name in wanted or name in IMPLICIT, f"[{extra}] {name} is declared but never imported"
