"""The nbgrader round trip for every assignment, through the real `nbgrader` commands and gradebook.

One batch per assignment: the solution scores full marks, the untouched release scores zero, wrong
and broken submissions are graded without aborting the batch, and feedback never shows hidden tests.
"""
from __future__ import annotations

import html
import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from course_grading.course import run_nbgrader, scratch_course

from submissions import answered, read, with_duplicated_cells, with_syntax_error, without_first_test

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
WRONG_ANSWERS_DIR = Path(__file__).parent / "wrong_answers"
HIDDEN_REGION = re.compile(r"BEGIN HIDDEN TESTS(.*?)END HIDDEN TESTS", re.DOTALL)


def wrong_answers(assignment: str) -> dict[str, str]:
    """The plausible wrong answers in tests/wrong_answers/<assignment>.py (grade id -> cell source)."""
    spec = importlib.util.spec_from_file_location(f"wrong_{assignment}", WRONG_ANSWERS_DIR / f"{assignment}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG_ANSWERS


def submissions_for(course: Path, assignment: str) -> dict[str, dict[str, nbformat.NotebookNode]]:
    """student id -> {notebook file name -> notebook}"""
    students: dict[str, dict[str, nbformat.NotebookNode]] = {}
    for release_path in sorted((course / "assignments" / assignment).glob("*.ipynb")):
        release = read(release_path)
        source = read(course / "solutions" / assignment / release_path.name)
        solved = answered(release, source)
        variants = {
            "solution": solved,
            "untouched": release,
            "wrong": answered(release, source, wrong_answers(assignment)),
            "syntax_error": with_syntax_error(solved),
            "deleted_test": without_first_test(solved),
            "duplicated_cells": with_duplicated_cells(solved),
        }
        for student, nb in variants.items():
            students.setdefault(student, {})[release_path.name] = nb
    return students


def round_trip(assignment: str, tmp: Path) -> dict:
    """Generate, submit six students, autograde them in one batch, generate feedback."""
    course = scratch_course(tmp / "course", ROOT)
    generated = run_nbgrader(course, "generate_assignment", assignment, "--force")
    assert generated.returncode == 0, generated.stderr
    students = submissions_for(course, assignment)
    for student, notebooks in students.items():
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        for name, nb in notebooks.items():
            nbformat.write(nb, folder / name)
    autograde = run_nbgrader(course, "autograde", assignment)
    feedback = run_nbgrader(course, "generate_feedback", assignment)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {s: gradebook.find_submission(assignment, s).score for s in students}
        max_score = gradebook.find_assignment(assignment).max_score
    return {"assignment": assignment, "course": course, "scores": scores, "max": max_score,
            "autograde": autograde, "feedback": feedback}


def test_every_assignment_has_wrong_answers_to_try():
    missing = [a for a in ASSIGNMENTS if not (WRONG_ANSWERS_DIR / f"{a}.py").exists()]
    assert not missing, f"add plausible wrong answers to tests/wrong_answers/ for {missing}"


class RoundTrip:
    """The checks for one assignment; a Test* subclass per assignment lets xdist grade them in parallel."""

    assignment: str

    @pytest.fixture(scope="class")
    @classmethod
    def graded(cls, tmp_path_factory) -> dict:
        return round_trip(cls.assignment, tmp_path_factory.mktemp(cls.assignment))

    def test_the_batch_completes_for_every_student(self, graded):
        assert graded["autograde"].returncode == 0, graded["autograde"].stderr[-3000:]
        assert graded["feedback"].returncode == 0, graded["feedback"].stderr[-3000:]

    def test_solution_scores_full_marks(self, graded):
        assert graded["max"] > 0 and graded["scores"]["solution"] == graded["max"]

    def test_untouched_release_scores_zero(self, graded):
        assert graded["scores"]["untouched"] == 0

    @pytest.mark.parametrize("student", ["wrong", "syntax_error"])
    def test_wrong_and_broken_answers_score_partially(self, graded, student):
        assert 0 < graded["scores"][student] < graded["max"], graded["scores"]

    @pytest.mark.parametrize("student", ["deleted_test", "duplicated_cells"])
    def test_deleted_or_duplicated_cells_are_repaired_and_graded(self, graded, student):
        assert graded["scores"][student] == graded["max"], graded["scores"]

    def test_feedback_never_shows_hidden_tests(self, graded):
        course, assignment = graded["course"], graded["assignment"]
        hidden_lines, visible_lines = set(), set()
        for source in (course / "solutions" / assignment).glob("*.ipynb"):
            text = "\n".join(c.source for c in read(source).cells)
            for region in HIDDEN_REGION.findall(text):
                hidden_lines |= {line.strip() for line in region.splitlines() if len(line.strip()) > 12}
            visible_lines |= {line.strip() for line in HIDDEN_REGION.sub("", text).splitlines()}
        hidden_lines -= visible_lines  # a line the student can see anyway is no leak
        assert hidden_lines, "each assignment has hidden tests"
        pages = list((course / "feedback").glob(f"*/{assignment}/*.html"))
        assert len(pages) == len(graded["scores"]) * len(list((course / "assignments" / assignment).glob("*.ipynb")))
        for page in pages:
            text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
            assert "HIDDEN TESTS" not in text
            leaked = [line for line in hidden_lines if line in text]
            assert not leaked, f"{page} shows hidden test lines: {leaked[:3]}"


for _assignment in ASSIGNMENTS:
    globals()[f"TestRoundTrip_{_assignment}"] = type(f"TestRoundTrip_{_assignment}", (RoundTrip,),
                                                     {"assignment": _assignment})
