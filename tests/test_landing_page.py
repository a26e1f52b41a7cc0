"""START_HERE.ipynb links every lecture and assignment in order, and nothing students do not have."""
from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from landing_page import NOTEBOOK, contents_table  # noqa: E402

STUDENT_FOLDERS = ("lectures/", "assignments/")


def write_notebook(path: Path, heading: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {heading}\n\nText.")]), path)


def links(markdown: str) -> list[str]:
    return re.findall(r"\]\(([^)]+)\)", markdown)


def test_table_pairs_each_lecture_with_its_assignment_in_order(tmp_path):
    write_notebook(tmp_path / "lectures" / "07_attention.ipynb", "Lecture 07 — Attention")
    write_notebook(tmp_path / "lectures" / "01_intro.ipynb", "Lecture 01 — Intro")
    write_notebook(tmp_path / "assignments" / "01_intro" / "01_intro.ipynb", "Assignment 01 — The intro")
    rows = [line for line in contents_table(tmp_path).splitlines() if re.match(r"\| \d\d ", line)]
    assert rows == ["| 01 | [Intro](lectures/01_intro.ipynb) | [The intro](assignments/01_intro/01_intro.ipynb) |",
                    "| 07 | [Attention](lectures/07_attention.ipynb) | — |"]


def test_committed_landing_page_links_every_lecture_and_assignment_and_nothing_else():
    markdown = "\n".join(c.source for c in nbformat.read(ROOT / NOTEBOOK, as_version=4).cells)
    linked = links(markdown)
    notebooks = sorted([*ROOT.glob("lectures/[0-9]*.ipynb"), *ROOT.glob("assignments/[0-9]*/*.ipynb")],
                       key=lambda p: (p.name[:2], p.parts[-2] != "lectures"))
    assert linked == [p.relative_to(ROOT).as_posix() for p in notebooks]
    assert all(link.startswith(STUDENT_FOLDERS) and (ROOT / link).exists() for link in linked)
    for private in ("solutions", "course_grading", "tests"):
        assert private not in markdown
