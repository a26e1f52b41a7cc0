"""Feedback that shows students their results but not the hidden tests."""
from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

HIDDEN_NOTE = "# (hidden tests were run here; their code is not shown)"


class HideHiddenTests(ClearHiddenTests):
    """Remove hidden-test code from feedback and reduce their failures to the error message.

    A traceback would print the hidden test's source lines, so a failing hidden-test cell keeps
    only `ErrorName: message`, which the test author writes for students.
    """

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict,
                        cell_index: int) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type != "code" or self.begin_test_delimeter not in cell.source:
            return cell, resources
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        cell.source = cell.source.rstrip() + "\n" + HIDDEN_NOTE
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources
