"""Autograde sanitizing that survives students' copy-paste."""
from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import DeduplicateIds


class DropDuplicateIds(DeduplicateIds):
    """Keep one cell per grade id (the last); the other copies become ordinary cells.

    nbgrader's own DeduplicateIds leaves an empty `nbgrader` metadata dict behind, which then crashes
    `add_missing_cells` (KeyError 'grade_id') and fails the whole submission. Removing the key instead
    grades the submission normally; the copies still run, but count for nothing.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        if cell.metadata.get("nbgrader") == {}:
            del cell.metadata["nbgrader"]
        return cell, resources
