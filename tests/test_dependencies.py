"""Every third-party module the package imports is a declared dependency (pyproject.toml).

`rich` was imported by the chat without being declared: an install from the wheel alone then
failed at `rag chat`. This reads every ``import`` in rag/ (the parsed source, function-level
imports included), maps each top-level module to the distribution that provides it in this
environment, and checks that distribution is in ``[project] dependencies``.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imported_modules(folder: Path) -> dict[str, str]:
    """Top-level module -> the first file:line that imports it (relative imports skipped). Pure."""
    found: dict[str, str] = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                found.setdefault(name.split(".")[0], f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {_norm(re.split(r"[\s<>=!~\[;]", spec, maxsplit=1)[0]) for spec in project["dependencies"]}


def test_imported_modules_finds_function_level_imports(tmp_path, monkeypatch):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("import os\nfrom .b import x\n\ndef f():\n    from rich.text import Text\n")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert imported_modules(pkg) == {"os": "pkg/a.py:1", "rich": "pkg/a.py:5"}


def test_every_third_party_import_is_a_declared_dependency():
    provided = packages_distributions()
    needed = declared()
    missing = []
    for module, where in imported_modules(ROOT / "rag").items():
        if module in sys.stdlib_module_names or module == "rag":
            continue
        dists = {_norm(d) for d in provided.get(module, [])}
        if not dists:
            missing.append(f"{where}: '{module}' is not installed here")
        elif not dists & needed:
            missing.append(f"{where}: '{module}' comes from {sorted(dists)}, not in [project] dependencies")
    assert not missing, "\n".join(missing)
