"""Every assignment, graded end to end by the course's `grade` command in one batch: the reference
scores full marks, the untouched release zero, the catalogued wrong answers partial marks with
feedback that names the mistake, one of the known attacks (a different one per assignment) gains
nothing, and no feedback shows answer or judge code. Broken notebooks (a syntax error; deleted and
duplicated cells, repaired) are nbgrader-level cases that do not depend on the assignment: they ride
along with the cheap assignments only, to keep the suite fast.
"""
from __future__ import annotations

import pytest

from conftest import needs_bwrap
from course_grading.execute import grade_id_of_test_cell
from course_grading.judge import load_judge
from grading_batch import (ASSIGNMENTS, ROOT, WRONG_ANSWERS_DIR, answered_with, grade, new_course,
                           release_and_solution, secret_lines, submit, wrong_answers)
from submissions import read, with_duplicated_cells, with_first_answer, with_syntax_error, without_first_test

# Attacks on the grading machinery itself, each worth nothing now: a different one rides along with each
# assignment's batch (test_grading_attacks.py runs all of them, and more, on Assignment 01).
ROTATING_ATTACKS = {
    "cheat_custom_exc": "import __main__\n"
                        "__main__.get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    "cheat_helpers": "from course_utils import testing as T\nT.assert_close = T.assert_type = lambda *a, **k: None",
    "cheat_builtins": "import builtins\nbuiltins.AssertionError = type('Quiet', (Exception,), {})",
    "cheat_exec": "exec('import builtins as b; b.isinstance = lambda *a: True')",
    "cheat_globals": "globals().update({k: (lambda *a, **k: None) for k in list(globals()) if k.startswith('_')})",
    "cheat_excepthook": "import sys\nsys.excepthook = lambda *a: None",
}
pytestmark = pytest.mark.grading


def test_every_assignment_has_wrong_answers_and_named_mistakes():
    missing = [a for a in ASSIGNMENTS if not (WRONG_ANSWERS_DIR / f"{a}.py").exists()]
    assert not missing, f"add plausible wrong answers to tests/wrong_answers/ for {missing}"
    assert all(wrong_answers(a)[1] for a in ASSIGNMENTS), "each assignment names at least one mistake (MISTAKES)"


@needs_bwrap
class GradedAssignment:
    """The checks for one assignment; a Test* subclass per assignment lets xdist grade them in parallel."""

    assignment: str
    attack: str
    broken = False  # also grade the nbgrader-level broken notebooks

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory):
        course = new_course(tmp_path_factory.mktemp(cls.assignment), cls.assignment)
        release, _ = release_and_solution(course, cls.assignment)
        solved = answered_with(course, cls.assignment)
        students = {"reference": solved, "untouched": release,
                    "wrong": answered_with(course, cls.assignment, wrong_answers(cls.assignment)[0]),
                    cls.attack: with_first_answer(release, ROTATING_ATTACKS[cls.attack])}
        if cls.broken:
            students.update(syntax_error=with_syntax_error(solved),
                            repaired=with_duplicated_cells(without_first_test(solved)))
        for student, notebook in students.items():
            submit(course, cls.assignment, student, notebook)
        result = grade(course, cls.assignment, "--cell-timeout", "120")
        result.students = set(students)
        return result

    def test_the_batch_completes_with_a_row_per_student(self, batch):
        assert batch.run.returncode == 0, batch.run.stderr[-3000:]
        assert set(batch.rows) == batch.students

    def test_reference_scores_full_marks(self, batch):
        status, score, max_score = batch.row("reference")
        assert (status, score) == ("graded", max_score) and max_score > 0, batch.rows["reference"]["notes"]

    def test_untouched_release_scores_zero(self, batch):
        assert batch.row("untouched")[1] == 0

    def test_wrong_answers_score_partially(self, batch):
        _, score, max_score = batch.row("wrong")
        assert 0 < score < max_score, batch.rows["wrong"]["notes"]

    def test_feedback_names_each_catalogued_mistake(self, batch):
        text = batch.feedback("wrong")
        for test_id, label in wrong_answers(self.assignment)[1].items():
            assert f"This is what you get if {label}" in text, f"{test_id}: the feedback does not name «{label}»"


    def test_the_attack_gains_nothing(self, batch):
        status, score, _ = batch.row(self.attack)
        assert score == 0 and status in ("graded", "review"), batch.rows[self.attack]

    def test_feedback_shows_no_judge_code_and_no_answers_students_did_not_write(self, batch):
        judge, answers = secret_lines(self.assignment, answers=False), secret_lines(self.assignment, judge=False)
        assert judge and answers, "each assignment has answers and a judge"
        for student in batch.rows:
            text = batch.feedback(student)
            assert text, f"no feedback for {student}: {batch.rows[student]}"
            leaked = [line for line in judge if line in text]
            if student in ("untouched", self.attack):  # the others submitted (mostly) the reference answers
                leaked += [line for line in answers if line in text]
            assert not leaked, f"{student}'s feedback shows {leaked[:3]}"


class WithBrokenNotebooks(GradedAssignment):
    broken = True

    def test_a_syntax_error_costs_only_the_parts_it_breaks(self, batch):
        _, score, max_score = batch.row("syntax_error")
        assert 0 < score < max_score, batch.rows["syntax_error"]["notes"]

    def test_deleted_and_duplicated_cells_are_repaired_and_graded(self, batch):
        _, score, max_score = batch.row("repaired")
        assert score == max_score, batch.rows["repaired"]["notes"]


CHEAP = {"01_perceptron_xor", "02_backprop", "03_activations"}
for _number, _assignment in enumerate(ASSIGNMENTS):
    _base = WithBrokenNotebooks if _assignment in CHEAP else GradedAssignment
    globals()[f"TestGrading_{_assignment}"] = type(f"TestGrading_{_assignment}", (_base,), {
        "assignment": _assignment, "attack": list(ROTATING_ATTACKS)[_number % len(ROTATING_ATTACKS)]})


def test_every_test_cell_has_a_judge_and_every_judge_a_test_cell():
    for assignment in ASSIGNMENTS:
        notebook = read(ROOT / "solutions" / assignment / f"{assignment}.ipynb")
        cells = {grade_id_of_test_cell(c) for c in notebook.cells} - {None}
        parts = set(load_judge(ROOT / "solutions" / assignment / "judge.py").parts)
        assert cells == parts, (f"{assignment}: test cells without a judge {cells - parts}, "
                                f"judges without a cell {parts - cells}")
        assert not [c for c in notebook.cells if "BEGIN HIDDEN TESTS" in c.source], f"{assignment} has hidden regions"


def test_the_submission_secret_goes_next_to_the_feedback_never_through_a_link(tmp_path):
    """`nbgrader release_feedback` needs each submission's secret in feedback/; a link a student planted in
    place of the secret must not copy the file it points to into what is released to them."""
    from course_grading.grade import SECRET, carry_submission_secret
    for student, plant in (("alice", "secret"), ("mallory", "link")):
        submitted = tmp_path / "submitted" / student / "a1"
        submitted.mkdir(parents=True)
        (tmp_path / "feedback" / student / "a1").mkdir(parents=True)
        if plant == "secret":
            (submitted / SECRET).write_text("0123abcd")
        else:
            (tmp_path / "gradebook.db").write_text("the instructor's")
            (submitted / SECRET).symlink_to(tmp_path / "gradebook.db")
        carry_submission_secret(tmp_path, "a1", student)
    assert (tmp_path / "feedback" / "alice" / "a1" / SECRET).read_text() == "0123abcd"
    assert not (tmp_path / "feedback" / "mallory" / "a1" / SECRET).exists()


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_judge_line_equals_a_line_of_the_reference_answers(assignment):
    """Feedback shows a student's own code: a judge line that equals a line of the reference answers would look
    like judge code leaking into the feedback of every student who wrote that line (and the leak check fails)."""
    shared = secret_lines(assignment, answers=False) & secret_lines(assignment, judge=False)
    assert not shared, f"rename these lines in solutions/{assignment}/judge.py: {sorted(shared)}"
