"""Regenerate docs/cli.md and docs/settings.md from the code (`make docs`)."""

from pathlib import Path

from rag.docs import cli_markdown, settings_markdown

DOCS = Path(__file__).resolve().parent.parent / "docs"

if __name__ == "__main__":
    DOCS.mkdir(exist_ok=True)
    (DOCS / "cli.md").write_text(cli_markdown())
    (DOCS / "settings.md").write_text(settings_markdown())
    print(f"wrote {DOCS / 'cli.md'} and {DOCS / 'settings.md'}")
