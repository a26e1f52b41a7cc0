"""What a student does in the course's JupyterLab, as browser tests shared by every student setup.

A test class inherits `StudentChecks` and provides `lab_server` (class scope): the server as that setup starts
it (`./course lab`, Binder, ...). The checks read the course's own files to know what to expect.
"""
from __future__ import annotations

import re

import nbformat
import pytest

from .lab import JupyterLab, Notebook, Widget
from .servers import ROOT

LANDING_PAGE = "START_HERE.ipynb"
LECTURE_01 = "lectures/01_history_perceptron_xor.ipynb"
ANOTHER_WIDGET_LECTURE = "lectures/05_optimizers.ipynb"  # a second lecture with an `explore(...)` widget
ASSIGNMENT_01 = "assignments/01_perceptron_xor/01_perceptron_xor.ipynb"
INSTRUCTOR_ONLY = {"solutions", "course_grading", "tests", "scripts", "benchmarks"}
SOLUTION_MARKER = re.compile(r"^\s*### (BEGIN|END) SOLUTION\s*\n", re.MULTILINE)
# Part 4 of Assignment 01 answered the way a student who forgets the biases would: the test must say so.
COLLAPSE_WITHOUT_BIASES = '''def collapse_linear(layers: list[nn.Linear]) -> nn.Linear:
    """One new nn.Linear equal to applying `layers` in order (missing biases count as zero)."""
    weight = layers[0].weight.detach().clone()
    for layer in layers[1:]:
        weight = layer.weight.detach() @ weight
    out = nn.Linear(weight.shape[1], weight.shape[0])
    with torch.no_grad():
        out.weight.copy_(weight)
        out.bias.zero_()
    return out
'''


def reference_answer(notebook: str, grade_id: str) -> str:
    """The instructor's answer for one answer cell, as a student who got it right would type it."""
    assignment = notebook.split("/")[1]
    source = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    cell = next(c for c in source.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)
    return SOLUTION_MARKER.sub("", cell.source)


def locked_test_cells(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> source of every locked test cell."""
    found = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and not meta.get("solution"):
            found[meta["grade_id"]] = cell.source.strip()
    return found


def run_without_errors(lab: JupyterLab, path: str) -> Notebook:
    """Open a notebook, Run All Cells, and check what the student sees: no error, every figure drawn."""
    notebook = lab.open_notebook(path)
    lab.shot("opened")
    seconds = notebook.run_all()
    print(f"{path}: Run All Cells took {seconds:.0f} s in the browser")
    lab.shot("ran")
    assert notebook.tracebacks() == [], f"{path} shows errors:\n" + "\n\n".join(notebook.tracebacks())
    notebook.save()
    saved = notebook.read()
    errors = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == [], f"{path}: error outputs {[(e.ename, e.evalue) for e in errors]}"
    assert all(c.execution_count for c in saved.cells if c.cell_type == "code"), f"{path}: not every cell ran"
    saved_figures = [o for c in saved.cells if c.cell_type == "code" for o in c.outputs
                     if "image/png" in o.get("data", {})]
    shown = notebook.images()
    assert saved_figures and len(shown) >= len(saved_figures), (len(shown), len(saved_figures))
    assert all(i["width"] > 0 and i["png"].startswith(b"\x89PNG") for i in shown), "a figure did not render"
    return notebook


def check_slider_redraws(lab: JupyterLab, notebook: Notebook, name: str) -> None:
    """Drag the widget's first slider across its track; the figure it shows must change."""
    widget = Widget(notebook)
    label = widget.slider_labels()[0]
    before_value, before = widget.readout(label), widget.figure()
    assert before.startswith(b"\x89PNG"), "the widget shows no figure"
    widget.root.scroll_into_view_if_needed()
    lab.shot(f"{name}-widget-before")
    widget.drag_slider(label, 0.1 if widget.position(label) > 0.5 else 0.9)
    after = widget.wait_for_new_figure(before)
    lab.shot(f"{name}-widget-after")
    assert widget.readout(label) != before_value, f"slider {label!r} did not move"
    assert after.startswith(b"\x89PNG") and after != before


class StudentChecks:
    """The student's path through the course; subclasses provide `lab_server`."""

    def landing_url(self, lab: JupyterLab) -> str:
        """Where a student's browser first goes: the page the server opens at start."""
        return lab.server.opened_url()

    def test_opens_on_the_landing_page_that_links_the_whole_course(self, lab: JupyterLab):
        lab.goto(self.landing_url(lab))
        lab.page.wait_for_url(re.compile(f"/lab/tree/{LANDING_PAGE}"))
        landing = Notebook(lab, LANDING_PAGE)
        lab.shot("landing-page")
        hrefs = landing.panel.locator(".jp-RenderedMarkdown table a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))")
        linked = [re.sub(r"^.*?/files/|\?.*$", "", href) for href in hrefs]  # JupyterLab serves them from /files/
        expected = [p.relative_to(ROOT).as_posix() for p in
                    sorted([*ROOT.glob("lectures/[0-9]*.ipynb"), *ROOT.glob("assignments/*/*.ipynb")],
                           key=lambda p: (p.name[:2], "assignments" in p.parts))]
        assert linked == expected
        landing.panel.locator(".jp-RenderedMarkdown table a").first.click()
        lab.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current",
                         has_text=expected[0].split("/")[-1]).wait_for()
        lab.shot("link-opened-lecture-01")

    def test_the_whole_course_is_reachable_without_sources_or_instructor_material(self, lab: JupyterLab):
        lab.goto(lab.url())
        root = set(lab.listing())
        lab.shot("file-browser-root")
        assert {"lectures", "assignments", LANDING_PAGE} <= root, root
        assert not root & INSTRUCTOR_ONLY, f"instructor material shown to students: {root & INSTRUCTOR_ONLY}"
        lectures = lab.open_folder("lectures")
        lab.shot("file-browser-lectures")
        assert lectures and all(name.endswith(".ipynb") for name in lectures), lectures
        status, listing = lab.server.request("api/contents/lectures")
        assert status == 200 and not [i for i in listing["content"] if i["name"].endswith(".pct.py")]

    def test_no_instructor_tools_and_no_news_prompt(self, lab: JupyterLab):
        lab.open_notebook(ASSIGNMENT_01)
        lab.page.wait_for_timeout(3000)  # the news prompt, when enabled, appears shortly after start
        lab.shot("assignment-01-toolbar")
        assert "Nbgrader" not in lab.menu_bar()
        assert not [t for t in lab.side_bar_titles() if "Assignment" in t], lab.side_bar_titles()
        assert lab.validate_buttons().count() == 1, "students need the Validate button"
        assert not [n for n in lab.notifications() if "news" in n.lower()], lab.notifications()
        assert lab.server.request("formgrader")[0] == 404

    def test_lecture_01_runs_without_errors_and_its_widget_redraws(self, lab: JupyterLab):
        notebook = run_without_errors(lab, LECTURE_01)
        check_slider_redraws(lab, notebook, "lecture-01")

    def test_the_widget_of_another_lecture_redraws(self, lab: JupyterLab):
        notebook = run_without_errors(lab, ANOTHER_WIDGET_LECTURE)
        check_slider_redraws(lab, notebook, "lecture-05")

    def test_validate_reports_the_wrong_answer_and_not_the_right_one(self, lab: JupyterLab):
        notebook = lab.open_notebook(ASSIGNMENT_01)
        tests = locked_test_cells(notebook.read())
        notebook.replace_source(notebook.code_cell("def perceptron_predict("),
                                reference_answer(ASSIGNMENT_01, "perceptron"))
        notebook.replace_source(notebook.code_cell("def collapse_linear("), COLLAPSE_WITHOUT_BIASES)
        lab.shot("answers-typed")
        failures = notebook.validate()
        lab.shot("validate-dialog")
        failed = {next((g for g, s in tests.items() if s == f["source"].strip()), f["source"]): f["error"]
                  for f in failures}
        assert "test_perceptron" not in failed, failed.get("test_perceptron")
        assert "collapsed bias" in failed["test_collapse"] and "NotImplementedError" not in failed["test_collapse"]
        unanswered = set(tests) - {"test_perceptron", "test_collapse"}
        assert unanswered and set(failed) == unanswered | {"test_collapse"}, sorted(failed)
        assert all("NotImplementedError" in failed[g] for g in unanswered)
        notebook.close_dialog()


pytestmark = pytest.mark.browser
