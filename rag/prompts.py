"""Prompt files under ``prompts/``, with their variables checked when loaded.

A prompt is a text file using ``$name`` placeholders (``string.Template``; ``$$`` for a
literal dollar). Each prompt declares the variables it must use: a missing or unknown
variable is an error naming the file, at load time, not a silent gap at answer time.
"""

from __future__ import annotations

import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import ConfigError
from .settings import PROJECT_ROOT

PROMPTS_DIR = PROJECT_ROOT / "prompts"

VARIABLES: dict[str, frozenset[str]] = {
    "answer_system": frozenset(),
    "answer_system_chunks": frozenset(),
    "answer_user": frozenset({"sources", "question"}),
}


@dataclass(frozen=True)
class Prompt:
    name: str
    path: Path
    template: string.Template
    variables: frozenset[str]

    def render(self, **values: str) -> str:
        missing = self.variables - values.keys()
        extra = values.keys() - self.variables
        if missing or extra:
            raise ValueError(f"prompt {self.name}: missing {sorted(missing)}, unexpected {sorted(extra)}")
        return self.template.substitute(values).strip()


def _check(name: str, path: Path, text: str) -> Prompt:
    template = string.Template(text)
    if not template.is_valid():
        raise ConfigError(f"{path}: invalid placeholder (use $name, or $$ for a dollar sign)")
    found = frozenset(template.get_identifiers())
    expected = VARIABLES[name]
    if found != expected:
        parts = []
        if expected - found:
            parts.append("missing $" + ", $".join(sorted(expected - found)))
        if found - expected:
            parts.append("unknown $" + ", $".join(sorted(found - expected)))
        raise ConfigError(f"{path}: {'; '.join(parts)} (this prompt takes: {', '.join(sorted(expected)) or 'no variables'})")
    return Prompt(name, path, template, expected)


@cache
def load_prompt(name: str, directory: Path = PROMPTS_DIR) -> Prompt:
    if name not in VARIABLES:
        raise ConfigError(f"unknown prompt '{name}' (known: {', '.join(sorted(VARIABLES))})")
    path = directory / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        raise ConfigError(f"prompt file {path} is missing") from None
    return _check(name, path, text)
