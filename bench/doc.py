"""docs/benchmarks.md: each benchmark rewrites its own `## ` section and leaves the others."""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def write_section(heading: str, body: str) -> None:
    """Replace the section that starts with *heading* by *body* (which starts with it), or
    append it when the document has no such section yet."""
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    start = text.find(heading + "\n")
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + body
    else:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + body + ("" if end == -1 else text[end:])
    DOC.parent.mkdir(parents=True, exist_ok=True)
    DOC.write_text(text)
