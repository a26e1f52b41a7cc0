"""Trustworthy grading, end to end: cheats, snooping and broken submissions in one batch per assignment.

Built from each released assignment and graded with `python -m course_grading grade` (sandboxed
kernels, tamper review, reports), next to the reference solution, which must keep full marks.
"""
from __future__ import annotations

import csv
import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course_grading.course import run_nbgrader, scratch_course

from submissions import answered, read, with_first_answer
from test_grading import ASSIGNMENTS, ROOT

pytestmark = pytest.mark.skipif(shutil.which("bwrap") is None,
                                reason="bubblewrap is not installed: trustworthy grading is NOT tested here")

CHEATS = {  # each makes failing tests pass in an unsandboxed, unchecked kernel
    "cheat_helpers": "import course_grading.testing as _t\n_t.assert_close = _t.assert_type = lambda *a, **k: None",
    "cheat_builtins": "import builtins\nbuiltins.abs = lambda x: 0",
    "cheat_ipython": "get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)",
    "cheat_exec": "exec('import builtins as b; b.AssertionError = type(\"Quiet\", (Exception,), {})')",
}
# Reads the course root by names built at run time, which no static check can see: only the sandbox stops it.
SNOOP = ("import pathlib\nname = 'sol' + 'utions'\nfound = [str(p) for d in pathlib.Path.cwd().parents "
         "for p in d.glob(name + '/*/*.ipynb')] + [str(p) for d in pathlib.Path.cwd().parents "
         "for p in d.glob('grade' + 'book.db')]\nprint('SNOOPED', found, [open(p, errors='ignore').read()[:500] "
         "for p in found])")
BROKEN = {
    "endless_loop": "while True:\n    pass",
    "kernel_death": "import os\nos._exit(1)",
    "huge_output": "print('x' * 50_000_000)",
}
CELL_TIMEOUT = 60  # the endless loop costs this much; the reference's training cells must fit easily


def build_batch(course: Path, assignment: str) -> None:
    for release_path in sorted((course / "assignments" / assignment).glob("*.ipynb")):
        release = read(release_path)
        solved = answered(release, read(course / "solutions" / assignment / release_path.name))
        students = {"reference": solved, "snoop": with_first_answer(release, SNOOP),
                    **{s: with_first_answer(release, code) for s, code in {**CHEATS, **BROKEN}.items()}}
        for student, nb in students.items():
            folder = course / "submitted" / student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / release_path.name)
        renamed = course / "submitted" / "renamed" / assignment
        renamed.mkdir(parents=True, exist_ok=True)
        nbformat.write(solved, renamed / f"Copy of {release_path.name}")
        corrupt = course / "submitted" / "corrupt" / assignment
        corrupt.mkdir(parents=True, exist_ok=True)
        (corrupt / release_path.name).write_text("{ this is not json")
    (course / "submitted" / "missing" / assignment).mkdir(parents=True)


def grade_batch(assignment: str, tmp: Path) -> dict:
    course = scratch_course(tmp / "course", ROOT)
    run_nbgrader(course, "generate_assignment", assignment, "--force", check=True)
    build_batch(course, assignment)
    run = subprocess.run([sys.executable, "-m", "course_grading", "grade", assignment, "--workers", "2",
                          "--cell-timeout", str(CELL_TIMEOUT)], cwd=course, capture_output=True, text=True)
    reports = course / "reports" / assignment
    rows = {r["student"]: r for r in csv.DictReader(open(reports / "grades.csv"))} if run.returncode == 0 else {}
    flags = list(csv.DictReader(open(reports / "flags.csv"))) if run.returncode == 0 else []
    return {"course": course, "assignment": assignment, "run": run, "rows": rows, "flags": flags}


class AdversarialBatch:
    assignment: str

    @pytest.fixture(scope="class")
    @classmethod
    def batch(cls, tmp_path_factory) -> dict:
        return grade_batch(cls.assignment, tmp_path_factory.mktemp(f"adv-{cls.assignment}"))

    def test_the_batch_completes_with_a_row_per_student(self, batch):
        assert batch["run"].returncode == 0, batch["run"].stderr[-3000:]
        expected = {"reference", "snoop", "renamed", "corrupt", "missing", *CHEATS, *BROKEN}
        assert set(batch["rows"]) == expected

    def test_reference_keeps_full_marks_in_the_same_batch(self, batch):
        row = batch["rows"]["reference"]
        assert (row["status"], float(row["score"])) == ("graded", float(row["max_score"]))

    @pytest.mark.parametrize("student", CHEATS)
    def test_cheats_are_held_for_review_with_zero_points(self, batch, student):
        row = batch["rows"][student]
        assert (row["status"], float(row["score"])) == ("review", 0.0)
        reasons = [f["reason"] for f in batch["flags"] if f["student"] == student]
        assert reasons and all(f["cell"] and f["line"] for f in batch["flags"] if f["student"] == student)

    def test_snooping_finds_nothing_and_its_outputs_leak_nothing(self, batch):
        course, assignment = batch["course"], batch["assignment"]
        sources = [read(p) for p in (course / "solutions" / assignment).glob("*.ipynb")]
        secret = {line.strip() for nb in sources for cell in nb.cells if cell.cell_type == "code"
                  for line in cell.source.splitlines() if len(line.strip()) > 20}
        for path in (course / "autograded" / "snoop" / assignment).glob("*.ipynb"):
            answers = [c for c in read(path).cells if c.metadata.get("nbgrader", {}).get("solution")]
            printed = "".join(str(o.get("text", "")) for c in answers for o in c.get("outputs", []))
            assert "SNOOPED [] []" in printed
            assert not [line for line in secret if line in printed], "instructor code reached the snoop's output"

    def test_broken_submissions_are_graded_or_reported_with_a_reason(self, batch):
        rows = batch["rows"]
        assert rows["endless_loop"]["status"] == "graded" and "time limit" in rows["endless_loop"]["notes"]
        assert rows["kernel_death"]["status"] == "error" and "kernel died" in rows["kernel_death"]["notes"]
        assert rows["huge_output"]["status"] == "graded" and "truncated" in rows["huge_output"]["notes"]
        assert rows["renamed"]["status"] == "graded" and "renamed" in rows["renamed"]["notes"]
        assert float(rows["renamed"]["score"]) == float(rows["renamed"]["max_score"])
        assert "not a readable notebook" in rows["corrupt"]["notes"] and float(rows["corrupt"]["score"]) == 0
        assert rows["missing"]["status"] == "missing" and "not submitted" in rows["missing"]["notes"]

    def test_feedback_has_no_hidden_tests(self, batch):
        pages = list((batch["course"] / "feedback").glob(f"*/{batch['assignment']}/*.html"))
        assert pages
        for page in pages:
            assert "HIDDEN TESTS" not in html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


for _assignment in ASSIGNMENTS:
    globals()[f"TestAdversarial_{_assignment}"] = type(f"TestAdversarial_{_assignment}", (AdversarialBatch,),
                                                       {"assignment": _assignment})
