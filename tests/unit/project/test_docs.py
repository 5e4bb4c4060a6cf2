"""The repository's documents point only at documents and sections it contains.

README.md is the front door and docs/ holds the rest; a link that dangles, or a code comment citing a
document that was never added, sends a reader nowhere. The checks read the files as GitHub renders them:
headings become anchors by GitHub's rule, and anything inside a fenced code block is not a link.
"""

from __future__ import annotations

import fnmatch
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTS = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])
README_LIMIT = 12_000

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$")
NAMED_ANCHOR = re.compile(r"<a\s+(?:name|id)=\"([^\"]+)\"")
# A document named in any file: a path ending in .md, optionally with #section, and not part of a URL or a
# longer name (`postmortem.md.j2`, `{id}-postmortem.md` are names of other things).
MENTION = re.compile(r"(?<![\w/.:{}-])((?:[\w-]+/)*[\w-]+\.md)(?:#([\w-]+))?(?![\w-]|\.\w)")


def _outside_fences(text: str) -> list[str]:
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, inline markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)
    text = re.sub(r"<[^>]+>", "", text).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@cache
def _anchors(path: Path) -> frozenset[str]:
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _outside_fences(path.read_text(encoding="utf-8")):
        anchors.update(NAMED_ANCHOR.findall(line))
        heading = HEADING.match(line)
        if heading:
            slug = _slug(heading.group(1))
            count = seen.get(slug, 0)
            seen[slug] = count + 1
            anchors.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(anchors)


def _relative_links(path: Path) -> list[str]:
    return [
        target
        for line in _outside_fences(path.read_text(encoding="utf-8"))
        for target in LINK.findall(line)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)
    ]


def _ignored(relative: Path, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(part, pattern) for part in relative.parts for pattern in patterns)


@cache
def _repository_texts() -> tuple[tuple[Path, str], ...]:
    """Every text file a clone holds: what .gitignore leaves, less git's own files."""
    patterns = [line.strip().rstrip("/") for line in (ROOT / ".gitignore").read_text().splitlines() if line.strip()]
    patterns.append(".git")
    files = []
    for path in sorted(ROOT.rglob("*")):
        if not path.is_file() or _ignored(path.relative_to(ROOT), patterns):
            continue
        try:
            files.append((path, path.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    return tuple(files)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_in_the_docs_resolves_to_a_file(document: Path) -> None:
    missing = []
    for target in _relative_links(document):
        file_part = target.split("#", 1)[0]
        resolved = (document.parent / file_part).resolve() if file_part else document
        if not resolved.exists():
            missing.append(target)
    assert missing == []


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_anchor_in_a_docs_link_names_a_heading_of_its_target(document: Path) -> None:
    missing = []
    for target in _relative_links(document):
        file_part, _, anchor = target.partition("#")
        resolved = (document.parent / file_part).resolve() if file_part else document
        if anchor and resolved.suffix == ".md" and resolved.exists() and anchor not in _anchors(resolved):
            missing.append(target)
    assert missing == []


def test_no_file_names_a_markdown_document_the_repository_lacks() -> None:
    missing = []
    for path, text in _repository_texts():
        for name, _ in MENTION.findall(text):
            candidates = [(path.parent / name).resolve(), (ROOT / name).resolve()]
            if not any(c.exists() for c in candidates if c.is_relative_to(ROOT)):
                missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert missing == []


def test_a_section_named_in_any_file_is_a_heading_of_that_document() -> None:
    missing = []
    for path, text in _repository_texts():
        for name, anchor in MENTION.findall(text):
            target = next((c for c in ((path.parent / name).resolve(), (ROOT / name).resolve()) if c.exists()), None)
            if anchor and target is not None and anchor not in _anchors(target):
                missing.append(f"{path.relative_to(ROOT)}: {name}#{anchor}")
    assert missing == []


def test_the_readme_stays_a_short_front_door() -> None:
    assert len((ROOT / "README.md").read_text(encoding="utf-8")) < README_LIMIT
