"""Grade a batch of submissions through the course's `grade` command in a scratch course, and read back
everything a test wants to check: rows, flags, feedback text, the gradebook, stray files."""
from __future__ import annotations

import csv
import html
import importlib.util
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from course_grading.course import run_nbgrader, scratch_course
from course_grading.publish import SOLUTION_REGION

from submissions import answered, read

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
WRONG_ANSWERS_DIR = Path(__file__).parent / "wrong_answers"


def wrong_answers(assignment: str):
    """tests/wrong_answers/<assignment>.py: WRONG_ANSWERS {answer id: source}, MISTAKES {test id: label}."""
    spec = importlib.util.spec_from_file_location(f"wrong_{assignment}", WRONG_ANSWERS_DIR / f"{assignment}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.WRONG_ANSWERS, getattr(module, "MISTAKES", {})


@dataclass
class Batch:
    course: Path
    assignment: str
    run: subprocess.CompletedProcess
    rows: dict[str, dict] = field(default_factory=dict)
    flags: list[dict] = field(default_factory=list)

    def row(self, student: str) -> tuple[str, float, float]:
        row = self.rows[student]
        return row["status"], float(row["score"]), float(row["max_score"])

    def feedback(self, student: str) -> str:
        """The student's feedback pages as plain text ('' when there are none)."""
        pages = sorted((self.course / "feedback" / student / self.assignment).glob("*.html"))
        return "\n".join(html.unescape(re.sub(r"<[^>]+>", "", p.read_text())) for p in pages)

    def feedback_pages(self) -> list[Path]:
        return sorted((self.course / "feedback").glob(f"*/{self.assignment}/**/*"))


def release_and_solution(course: Path, assignment: str) -> tuple[NotebookNode, NotebookNode]:
    name = f"{assignment}.ipynb"
    return read(course / "assignments" / assignment / name), read(course / "solutions" / assignment / name)


def new_course(tmp: Path, assignment: str) -> Path:
    course = scratch_course(tmp / "course", ROOT)
    run_nbgrader(course, "generate_assignment", assignment, "--force", check=True)
    return course


def submit(course: Path, assignment: str, student: str, notebook: NotebookNode | None = None,
           name: str | None = None, extra: dict[str, str] | None = None) -> Path:
    """Put a submission in submitted/<student>/<assignment>/ (a notebook, optionally other files)."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if notebook is not None:
        nbformat.write(notebook, folder / (name or f"{assignment}.ipynb"))
    for relative, text in (extra or {}).items():
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        (folder / relative).write_text(text)
    return folder


def grade(course: Path, assignment: str, *args: str, env: dict[str, str] | None = None) -> Batch:
    run = subprocess.run([sys.executable, "-m", "course_grading", "grade", assignment, "--workers", "2", *args],
                         cwd=course, capture_output=True, text=True, env={**os.environ, **(env or {})})
    batch = Batch(course, assignment, run)
    reports = course / "reports" / assignment
    if (reports / "grades.csv").exists():
        batch.rows = {r["student"]: r for r in csv.DictReader(open(reports / "grades.csv"))}
        batch.flags = list(csv.DictReader(open(reports / "flags.csv")))
    return batch


def secret_lines(assignment: str, answers: bool = True, judge: bool = True) -> set[str]:
    """Distinctive lines of this assignment's reference answers and/or judge that students never see."""
    text = (ROOT / "solutions" / assignment / f"{assignment}.pct.py").read_text()
    secret = ({line.strip() for region in SOLUTION_REGION.findall(text) for line in region.splitlines()}
              if answers else set())
    if judge:
        secret |= {line.strip() for line in (ROOT / "solutions" / assignment / "judge.py").read_text().splitlines()}
    shown = SOLUTION_REGION.sub("", text)
    return {line for line in secret if len(line) >= 25 and not line.startswith("#") and line not in shown}


def answered_with(course: Path, assignment: str, overrides: dict[str, str] | None = None) -> NotebookNode:
    release, solution = release_and_solution(course, assignment)
    return answered(release, solution, overrides)
