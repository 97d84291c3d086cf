"""Shipped code and docs cite only documents inside the repository, and every section they
cite exists: a reader of a clone must be able to follow each reference."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ALGORITHM = ROOT / "docs" / "algorithm.md"

# What a reference to a document outside the repository looks like: the project's old
# specification (SPEC.md, "SPEC §1.4", "SPEC section 4"), its sibling notes, a path that
# climbs out of the repository, or an absolute path of the development machine.
OUTSIDE = {
    "the specification outside the repository": re.compile(r"\bSPEC\b"),
    "a note outside the repository": re.compile(r"\b(PEERS|DESIGN)\.md\b"),
    "a path outside the repository": re.compile(r"\.\./shared\b|/work/"),
}
ALGORITHM_CITATION = re.compile(r"docs/algorithm\.md#([\w-]+)")
MARKDOWN_LINK = re.compile(r"\]\(([^)\s#]*\.md)?#([^)\s]+)\)")
FENCE = re.compile(r"^\s*(```|~~~)")


def shipped_files() -> list[Path]:
    """Text files a user of the package or a reader of the repository sees."""
    sources = sorted(p for p in (ROOT / "src").rglob("*") if p.is_file()
                     and p.suffix in (".py", ".md", ".txt", ".toml", ".json", ".cfg"))
    return sources + sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: Path) -> set[str]:
    """Every heading anchor of a Markdown file; repeated headings get -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in markdown.read_text(encoding="utf-8").splitlines():
        if FENCE.match(line):
            in_code = not in_code
            continue
        heading = re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)
        if in_code or not heading:
            continue
        base = github_anchor(heading.group(1))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


@pytest.mark.parametrize(("heading", "anchor"), [
    ("Where we depart from the 2019 code, and why", "where-we-depart-from-the-2019-code-and-why"),
    ("The DRAMA engine", "the-drama-engine"),
    ("Evaluation on the 25 ODDS sets (leave-one-data-set-out)",
     "evaluation-on-the-25-odds-sets-leave-one-data-set-out"),
    ("`DramaSearch` and RWS", "dramasearch-and-rws"),
])
def test_github_anchor_matches_githubs_rule(heading, anchor):
    assert github_anchor(heading) == anchor


def test_repeated_headings_get_numbered_anchors(tmp_path):
    page = tmp_path / "page.md"
    page.write_text("# Notes\n## Notes\n```\n# not a heading\n```\n## Other\n")
    assert anchors(page) == {"notes", "notes-1", "other"}


def test_shipped_files_cite_nothing_outside_the_repository():
    found = []
    for path in shipped_files():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found += [f"{path.relative_to(ROOT)}:{number}: {what}: {line.strip()}"
                      for what, pattern in OUTSIDE.items() if pattern.search(line)]
    assert not found, "cite docs/algorithm.md (or another file of the repository):\n" + \
        "\n".join(found)


def test_the_algorithm_page_has_the_sections_code_cites():
    """Every ``docs/algorithm.md#anchor`` named anywhere in the repository is a heading there."""
    sections = anchors(ALGORITHM)
    cited = set()
    missing = []
    for folder in ("src", "docs", "tests", "benchmarks"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.suffix not in (".py", ".md") or path == Path(__file__).resolve():
                continue
            for anchor in ALGORITHM_CITATION.findall(path.read_text(encoding="utf-8")):
                cited.add(anchor)
                if anchor not in sections:
                    missing.append(f"{path.relative_to(ROOT)}: #{anchor}")
    assert cited, "nothing cites docs/algorithm.md; the search pattern is wrong"
    assert not missing, f"no such heading in docs/algorithm.md: {missing}"


def test_markdown_links_to_sections_resolve():
    """Links such as ``[x](engine.md#defaults)`` or ``[x](#scores)`` in the docs and the
    README land on a heading of the linked page."""
    broken = []
    for page in sorted((ROOT / "docs").rglob("*.md")) + [ROOT / "README.md"]:
        for target, anchor in MARKDOWN_LINK.findall(page.read_text(encoding="utf-8")):
            linked = (page.parent / target).resolve() if target else page
            if not linked.is_file() or anchor not in anchors(linked):
                broken.append(f"{page.relative_to(ROOT)}: {target}#{anchor}")
    assert not broken, f"links to missing pages or sections: {broken}"
