"""Generated files are up to date and the student release holds no solutions."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from build import RELEASE_MARKERS, notebook_sources  # noqa: E402

from course_grading.course import scratch_course  # noqa: E402


def test_committed_notebooks_and_release_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "build.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_lecture_and_solution_has_a_text_source():
    notebooks = [*ROOT.glob("lectures/*.ipynb"), *ROOT.glob("solutions/*/*.ipynb")]
    sources = {p.name.removesuffix(".pct.py") for p in notebook_sources()}
    assert notebooks and {p.stem for p in notebooks} == sources


def test_release_has_no_solution_text_no_sources_and_one_notebook_per_solution():
    for assignment in (ROOT / "solutions").iterdir():
        released = ROOT / "assignments" / assignment.name
        assert sorted(p.name for p in released.glob("*.ipynb")) == sorted(p.name for p in assignment.glob("*.ipynb"))
    for path in (ROOT / "assignments").rglob("*"):
        assert not path.name.endswith(".pct.py"), path
        if path.is_file():
            assert not any(marker in path.read_text() for marker in RELEASE_MARKERS), path


def test_released_answer_cells_are_stubs_and_test_cells_are_locked():
    for path in (ROOT / "assignments").glob("*/*.ipynb"):
        nb = nbformat.read(path, as_version=4)
        meta = [c.metadata.get("nbgrader", {}) for c in nb.cells]
        answers = [c for c, m in zip(nb.cells, meta) if m.get("solution") and c.cell_type == "code"]
        assert answers and all("raise NotImplementedError" in c.source for c in answers), path
        assert all(m.get("locked") for m in meta if m.get("grade") and not m.get("solution")), path
        assert "jupytext" not in nb.metadata


def test_scratch_course_copies_the_config_and_notebooks_but_no_text_sources(tmp_path):
    course = scratch_course(tmp_path / "course", ROOT)
    assert (course / "nbgrader_config.py").read_text() == (ROOT / "nbgrader_config.py").read_text()
    copied = {p.relative_to(course / "solutions") for p in (course / "solutions").rglob("*.ipynb")}
    assert copied == {p.relative_to(ROOT / "solutions") for p in (ROOT / "solutions").glob("*/*.ipynb")}
    assert not list(course.rglob("*.pct.py"))
