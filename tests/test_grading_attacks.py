"""Every known attack on grading, and variants, graded in one batch next to the reference (Assignment 01).

Each cheat is built on the untouched release, so any point it earned would be stolen: it must get 0 or
be held for review. The reference keeps full marks in the same batch; no answer, judge or secret text
reaches any feedback; nothing runs outside the sandbox; the gradebook stays intact; broken submissions
are graded or reported with a reason. Plain `nbgrader autograde` and nbgrader's API (what the formgrader's
Autograde button calls) use the same judge.
"""
from __future__ import annotations

import base64
import os
import pickle
import stat
import subprocess
import sys

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import needs_bwrap
from course_grading.grade import course_config, db_url
from grading_batch import answered_with, grade, new_course, release_and_solution, secret_lines, submit
from submissions import with_first_answer

ASSIGNMENT = "01_perceptron_xor"
TOKEN = "hub-token-of-the-grader-9f3c2a"
MARKER = "/tmp/course-attack-ran-outside-the-sandbox"


class _Patch:
    """A pickle payload: unpickling it rebinds the visible-test helper (no import of the name needed)."""

    def __reduce__(self):
        return exec, ("import course_utils.testing as t; t.assert_close = lambda *a, **k: None",)


PICKLED = base64.b64encode(pickle.dumps(_Patch())).decode()

CHEATS = {  # name -> code added to the first answer cell of the untouched release
    # the kernel's error reporting as the verdict (the spellings the issue lists, and more)
    "custom_exc_main": "import __main__\n__main__.get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    "custom_exc_sys": "import sys\n"
                      "sys.modules['IPython'].get_ipython().set_custom_exc((Exception,), lambda *a, **k: 0)",
    "showtraceback": "ip = __import__('IPython').get_ipython()\nip.showtraceback = lambda *a, **k: None",
    # test helpers replaced after import, by every route
    "helper_rebind": "from course_utils import testing as T\nT.assert_close = lambda *a, **k: None",
    "helper_setattr": "import course_utils.testing as t\nsetattr(t, 'assert_' + 'close', lambda *a, **k: None)",
    "helper_vars": "import course_utils.testing as t\nvars(t)['assert_type'] = print",
    "helper_dunder": "import course_utils.testing as t\ntype(t).__setattr__(t, 'assert_close', print)",
    "helper_pickle": f"import pickle, base64\npickle.loads(base64.b64decode({PICKLED!r}))",
    "helper_module_file": "import helper_patch",  # a .py shipped with the submission (never copied)
    # reaching for the hidden tests and the reference from inside the kernel
    "read_in": ("_real = None\ndef perceptron_predict(X, w, b):\n    import sys\n"
                "    print('IN', sys.modules['__main__'].__dict__.get('In', [''])[-1][:3000])\n"
                "    print('REFS', [k for k in globals() if k.startswith('_ref') or 'judge' in k])\n"
                "    raise NotImplementedError"),
    "call_refs": ("def train_perceptron(X, y, lr=1.0, epochs=100):\n"
                  "    for name, value in list(globals().items()):\n"
                  "        if name.startswith(('_ref', 'ref_')) and callable(value):\n"
                  "            return value(X, y, lr, epochs)\n    raise NotImplementedError"),
    # secrets and files of the grader
    "env_token": "import os\nprint('TOKEN', os.environ.get('JUPYTERHUB_API_TOKEN'), dict(os.environ))",
    "links": ("import os\nfor d in ['../../..', '../../../..']:\n"
              "    os.symlink(d + '/solutions', 'sol' + str(len(d)))\n"
              "os.symlink('../../../gradebook.db', 'gradebook-copy.db')\n"
              "os.symlink('../../../solutions/01_perceptron_xor/01_perceptron_xor.ipynb', 'instructor.ipynb')"),
    "malformed_notebook": "open('Copy of 01_perceptron_xor.ipynb', 'w').write('{ not json')",
    "snoop": ("import pathlib\nname = 'sol' + 'utions'\nfound = [str(p) for d in pathlib.Path.cwd().parents "
              "for p in d.glob(name + '/*/*')] + [str(p) for d in pathlib.Path.cwd().parents "
              "for p in d.glob('grade' + 'book.db')]\nprint('SNOOPED', found)"),
    "deep_expression": "x = " + " + ".join(["1"] * 20_000),
}
BROKEN = {
    "endless_loop": "while True:\n    pass",
    "kernel_death": "import os\nos._exit(1)",
    "huge_output": "print('x' * 50_000_000)",
}
OUTSIDE = {  # files shipped next to the notebook that would run code outside the sandbox if imported there
    "course_grading/__init__.py": f"open({MARKER!r}, 'w').write('pwned')",
    "course_grading/sandbox.py": f"open({MARKER!r}, 'w').write('pwned')",
    "helper_patch.py": "import course_utils.testing as t\nt.assert_close = lambda *a, **k: None",
    "sitecustomize.py": f"open({MARKER!r}, 'w').write('pwned')",
}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if os.path.exists(MARKER):
        os.unlink(MARKER)
    course = new_course(tmp_path_factory.mktemp("attacks"), ASSIGNMENT)
    release, _ = release_and_solution(course, ASSIGNMENT)
    solved = answered_with(course, ASSIGNMENT)
    submit(course, ASSIGNMENT, "reference", solved)
    submit(course, ASSIGNMENT, "honest_scratch", with_first_answer(solved, "from course_utils.testing import trace, "
                                                                           "assert_close\nprint(trace, assert_close)"))
    for student, code in {**CHEATS, **BROKEN}.items():
        submit(course, ASSIGNMENT, student, with_first_answer(release, code),
               extra=OUTSIDE if student == "helper_module_file" else None)
    submit(course, ASSIGNMENT, "shipped_package", solved, extra=OUTSIDE)
    submit(course, ASSIGNMENT, "renamed", solved, name=f"Copy of {ASSIGNMENT}.ipynb")
    (submit(course, ASSIGNMENT, "corrupt") / f"{ASSIGNMENT}.ipynb").write_text("{ this is not json")
    submit(course, ASSIGNMENT, "missing")
    before = {p: p.read_bytes() for p in (course / "submitted").rglob("*") if p.is_file()}
    result = grade(course, ASSIGNMENT, "--cell-timeout", "30", env={"JUPYTERHUB_API_TOKEN": TOKEN})
    result.submitted_before = before
    return result


pytestmark = [needs_bwrap, pytest.mark.grading]


def test_the_batch_completes_with_a_row_per_student(batch):
    assert batch.run.returncode == 0, batch.run.stderr[-3000:]
    assert set(batch.rows) == {"reference", "honest_scratch", "shipped_package", "renamed", "corrupt", "missing",
                               *CHEATS, *BROKEN}


def test_the_reference_keeps_full_marks_next_to_the_cheats(batch):
    status, score, max_score = batch.row("reference")
    assert (status, score) == ("graded", max_score)


@pytest.mark.parametrize("student", sorted(CHEATS))
def test_every_cheat_gets_zero_or_is_held(batch, student):
    status, score, _ = batch.row(student)
    assert score == 0 and status in ("graded", "review"), batch.rows[student]


def test_using_what_the_notebook_shows_is_not_cheating(batch):
    status, score, max_score = batch.row("honest_scratch")
    assert (status, score) == ("graded", max_score), batch.rows["honest_scratch"]
    assert "Held" not in batch.feedback("honest_scratch")


def test_a_held_submission_says_so_in_its_feedback(batch):
    assert batch.row("deep_expression")[0] == "review"
    text = batch.feedback("deep_expression")
    assert "Held for an instructor's review" in text and "could not be checked" in text


def test_no_answer_judge_or_secret_text_reaches_any_feedback(batch):
    judge, answers = secret_lines(ASSIGNMENT, answers=False), secret_lines(ASSIGNMENT, judge=False)
    for path in batch.feedback_pages():
        if path.is_file():
            text = path.read_text(errors="ignore")
            secret = judge | (answers if path.parts[-3] in CHEATS or path.parts[-3] in BROKEN else set())
            assert TOKEN not in text and "SNOOPED [" not in text.replace("SNOOPED []", "")
            assert not [line for line in secret if line in text], f"{path} shows answer or judge code"
            assert "BEGIN SOLUTION" not in text and "judge = Judge()" not in text


def test_feedback_folders_hold_only_feedback_pages(batch):
    for path in batch.feedback_pages():
        assert not path.is_symlink() and (path.is_dir() or path.suffix == ".html"), path


def test_nothing_ran_outside_the_sandbox(batch):
    assert not os.path.exists(MARKER)
    assert "not graded (only notebooks are)" in batch.rows["shipped_package"]["notes"]
    status, score, max_score = batch.row("shipped_package")
    assert (status, score) == ("graded", max_score)


def test_the_gradebook_is_intact_and_submitted_files_untouched(batch):
    path = batch.course / "gradebook.db"
    assert stat.S_ISREG(os.lstat(path).st_mode) and os.access(path, os.W_OK)
    with Gradebook(db_url(batch.course)) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "reference").score == batch.row("reference")[2]
    after = {p: p.read_bytes() for p in (batch.course / "submitted").rglob("*") if p.is_file()}
    assert after == batch.submitted_before


def test_broken_submissions_are_graded_or_reported_with_a_reason(batch):
    rows = batch.rows
    assert rows["endless_loop"]["status"] == "graded" and "time limit" in rows["endless_loop"]["notes"]
    assert "kernel died" in rows["kernel_death"]["notes"]
    assert rows["huge_output"]["status"] == "graded" and "truncated" in rows["huge_output"]["notes"]
    assert batch.row("renamed")[0] == "graded" and "graded Copy of" in rows["renamed"]["notes"]
    assert batch.row("renamed")[1] == batch.row("renamed")[2]
    assert "not a readable notebook" in rows["corrupt"]["notes"] and batch.row("corrupt")[1] == 0
    assert rows["missing"]["status"] == "missing"


def test_regrading_one_student_keeps_everyone_elses_rows(batch):
    again = grade(batch.course, ASSIGNMENT, "--student", "renamed", "--cell-timeout", "30")
    assert again.run.returncode == 0, again.run.stderr[-2000:]
    assert set(again.rows) == set(batch.rows)
    assert {s: again.rows[s]["score"] for s in again.rows} == {s: batch.rows[s]["score"] for s in batch.rows}
    assert len([f for f in again.flags if f["student"] == "deep_expression"]) == \
        len([f for f in batch.flags if f["student"] == "deep_expression"])


def test_plain_nbgrader_and_its_api_use_the_same_judge(tmp_path):
    course = new_course(tmp_path, ASSIGNMENT)
    release, _ = release_and_solution(course, ASSIGNMENT)
    submit(course, ASSIGNMENT, "reference", answered_with(course, ASSIGNMENT))
    submit(course, ASSIGNMENT, "cheat", with_first_answer(release, CHEATS["custom_exc_main"]))
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}"}
    plain = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", ASSIGNMENT, "--student", "cheat"],
                           cwd=course, capture_output=True, text=True, env=env)
    assert plain.returncode == 0, plain.stderr[-2000:]
    from nbgrader.apps import NbGraderAPI
    outcome = NbGraderAPI(config=course_config(course)).autograde(ASSIGNMENT, "reference")  # the formgrader's button
    assert outcome["success"], outcome.get("error")
    with Gradebook(db_url(course)) as gradebook:
        assert gradebook.find_submission(ASSIGNMENT, "cheat").score == 0
        assert (gradebook.find_submission(ASSIGNMENT, "reference").score
                == gradebook.find_assignment(ASSIGNMENT).max_score)
    graded = nbformat.read(course / "autograded" / "reference" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    assert all(c.metadata["course_judge"]["passed"] for c in graded.cells if "course_judge" in c.metadata)
