"""Feedback that shows students their results but no hidden tests, and says when a submission is held."""
from __future__ import annotations

from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode
from nbformat.v4 import new_markdown_cell
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor

HIDDEN_NOTE = "# (hidden tests were run here; their code is not shown)"
REVIEW_PREFIX = "Held for an instructor's review"


class HideHiddenTests(ClearHiddenTests):
    """Remove any hidden-test region (the judges keep hidden tests out of notebooks; this guards old ones)
    and reduce their failures to the error message, since a traceback would print their source."""

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


class ReviewNotice(NbGraderPreprocessor):
    """Put a note at the top of a held submission's feedback: it waits for an instructor, and why."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        info = resources["nbgrader"]
        notes = set()
        try:
            with Gradebook(info["db_url"]) as gradebook:
                notebook = gradebook.find_submission_notebook(info["notebook"], info["assignment"], info["student"])
                notes = {c.manual_comment for c in notebook.comments
                         if c.manual_comment and c.manual_comment.startswith(REVIEW_PREFIX)}
        except MissingEntry:
            return nb, resources
        if notes:
            text = "\n\n".join(sorted(notes))
            nb.cells.insert(0, new_markdown_cell(f"**{text}**\n\nThe checks below ran as usual; the points they "
                                                 "show are not counted until an instructor has looked at the "
                                                 "submission."))
        return nb, resources
