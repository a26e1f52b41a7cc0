"""Build student submissions from a released notebook: answered, partly wrong, broken in various ways."""
from __future__ import annotations

import copy
import re

import nbformat
from nbformat import NotebookNode

SOLUTION_MARKERS = re.compile(r"^\s*(###|<!--)? ?(BEGIN|END) SOLUTION.*$\n?", re.MULTILINE)


def grade_id(cell: NotebookNode) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


def is_answer(cell: NotebookNode) -> bool:
    return cell.metadata.get("nbgrader", {}).get("solution", False)


def is_test(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return meta.get("grade", False) and not meta.get("solution", False)


def answered(release: NotebookNode, source: NotebookNode, overrides: dict[str, str] | None = None) -> NotebookNode:
    """The release with every answer cell filled from the instructor notebook (or from `overrides`)."""
    solutions = {grade_id(c): SOLUTION_MARKERS.sub("", c.source) for c in source.cells if is_answer(c)}
    solutions.update(overrides or {})
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        if is_answer(cell):
            cell.source = solutions[grade_id(cell)]
    return nb


def with_syntax_error(nb: NotebookNode) -> NotebookNode:
    """The first answer cell no longer parses."""
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if is_answer(c) and c.cell_type == "code")
    cell.source += "\ndef broken(:\n    pass\n"
    return nb


def without_first_test(nb: NotebookNode) -> NotebookNode:
    nb = copy.deepcopy(nb)
    nb.cells.remove(next(c for c in nb.cells if is_test(c)))
    return nb


def with_duplicated_cells(nb: NotebookNode) -> NotebookNode:
    """The first answer cell and the first test cell pasted twice, as a student's copy-paste does."""
    nb = copy.deepcopy(nb)
    for pick in (is_answer, is_test):
        index = next(i for i, c in enumerate(nb.cells) if pick(c))
        twin = copy.deepcopy(nb.cells[index])
        twin.id = twin.id + "-copy"
        nb.cells.insert(index + 1, twin)
    return nb


def read(path) -> NotebookNode:
    return nbformat.read(path, as_version=4)


def with_first_answer(nb: NotebookNode, code: str) -> NotebookNode:
    """`code` appended to the first code answer cell (the rest of the notebook unchanged)."""
    nb = copy.deepcopy(nb)
    cell = next(c for c in nb.cells if is_answer(c) and c.cell_type == "code")
    cell.source += "\n" + code + "\n"
    return nb
