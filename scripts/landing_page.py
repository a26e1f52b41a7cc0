"""The students' landing page, START_HERE.ipynb: START_HERE.pct.py plus a table of every lecture and assignment.

The table is generated from `lectures/` and `assignments/` by `./course build`, so a new lecture appears in it
without anyone editing the page (and `./course build --check` fails until it does). The page links only to
what students have: lecture notebooks and the assignment release, never instructor material.
"""
from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

SOURCE = "START_HERE.pct.py"
NOTEBOOK = "START_HERE.ipynb"
CONTENTS_MARKER = "<!-- contents"
NUMBERED = "[0-9][0-9]_*"


def title(notebook: Path) -> str:
    """The notebook's first `# ` heading without its "Lecture 01 — " prefix."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        match = re.search(r"^#\s+(.+)$", cell.source, re.MULTILINE) if cell.cell_type == "markdown" else None
        if match:
            return re.sub(r"^(Lecture|Assignment)\s+\d+\s*[—–-]\s*", "", match.group(1).strip())
    return notebook.stem


def link(notebook: Path, root: Path) -> str:
    return f"[{title(notebook)}]({notebook.relative_to(root).as_posix()})"


def contents_table(root: Path) -> str:
    """Markdown table: one row per number NN, the lecture `lectures/NN_*.ipynb` beside its assignment."""
    lectures = {p.name[:2]: p for p in root.glob(f"lectures/{NUMBERED}.ipynb")}
    assignments = {p.parent.name[:2]: p for p in root.glob(f"assignments/{NUMBERED}/*.ipynb")}
    rows = [f"| {number} | {link(lectures[number], root) if number in lectures else '—'} "
            f"| {link(assignments[number], root) if number in assignments else '—'} |"
            for number in sorted(lectures.keys() | assignments.keys())]
    return "\n".join(["## Contents", "", "| # | Lecture | Assignment |", "|---|---|---|", *rows])


def write_landing_page(source_root: Path, out_root: Path) -> Path:
    """Write `out_root`/START_HERE.ipynb from the source in `source_root` and the notebooks under `out_root`."""
    nb = jupytext.read(source_root / SOURCE)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"
    marker = [cell for cell in nb.cells if cell.source.startswith(CONTENTS_MARKER)]
    if len(marker) != 1:
        raise SystemExit(f"{SOURCE} needs exactly one markdown cell starting with {CONTENTS_MARKER!r}")
    marker[0].source = contents_table(out_root)
    nb.metadata.pop("jupytext", None)  # not paired: the table exists only in the notebook
    target = out_root / NOTEBOOK
    jupytext.write(nb, target, fmt="ipynb")
    return target
