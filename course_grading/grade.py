"""Grade a whole assignment: sandboxed autograde per student (in parallel), tamper review, CSV, feedback.

    python -m course_grading grade 01_perceptron_xor [--workers 2] [--cell-timeout 300]

Writes reports/<assignment>/grades.csv (one row per student: status, score, reasons) and
reports/<assignment>/flags.csv (one row per suspicious line), and feedback/ for every student.
A broken submission (syntax errors, endless loops, a dying kernel, huge output, renamed or missing
notebooks, deleted or duplicated cells) is graded or reported with a reason; it never stops the batch.
"""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from .course import run_nbgrader
from .sandbox import require_sandbox
from .tamper import Finding, scan_notebook


@dataclass
class StudentResult:
    student: str
    status: str = "graded"  # graded | review | missing | error
    score: float = 0.0
    notes: list[str] = field(default_factory=list)
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (notebook, finding)


def expected_notebooks(course: Path, assignment: str) -> list[str]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return sorted(f"{nb.name}.ipynb" for nb in gradebook.find_assignment(assignment).notebooks)


def normalise_submission(folder: Path, expected: list[str], result: StudentResult) -> None:
    """Rename a lone renamed notebook back; report missing and unreadable ones."""
    present = sorted(p.name for p in folder.glob("*.ipynb"))
    missing = [n for n in expected if n not in present]
    extra = [n for n in present if n not in expected]
    if len(missing) == 1 and len(extra) == 1:
        (folder / extra[0]).rename(folder / missing[0])
        result.notes.append(f"renamed {extra[0]} to {missing[0]}")
        missing, extra = [], []
    for name in missing:
        result.notes.append(f"{name} was not submitted (scored 0)")
    for name in expected:
        if (folder / name).exists():
            try:
                nbformat.read(folder / name, as_version=4)
            except Exception as error:  # noqa: BLE001 (any parse failure is reported the same way)
                result.notes.append(f"{name} is not a readable notebook ({type(error).__name__}); scored 0")
                (folder / name).rename(folder / (name + ".unreadable"))
    if not any((folder / n).exists() for n in expected):
        result.status = "missing"


def scan_submission(folder: Path, expected: list[str], result: StudentResult) -> None:
    for name in expected:
        if (folder / name).exists():
            findings = scan_notebook(nbformat.read(folder / name, as_version=4))
            result.findings += [(name, f) for f in findings]
    if result.findings:
        result.status = "review"
        result.notes.append(f"held for manual review: {len(result.findings)} suspicious line(s), see flags.csv")


def _failure_reason(output: str) -> str:
    if "Kernel died" in output or "DeadKernelError" in output:
        return "the kernel died (a crash, os._exit, or the memory limit); no grade was recorded"
    if "SandboxUnavailable" in output:
        return "the grading sandbox is not available"
    errors = [line for line in output.splitlines() if "Error" in line and "AutogradeApp" not in line]
    return f"autograding failed: {errors[-1].strip() if errors else output.strip().splitlines()[-1:]}"


def _execution_notes(autograded: Path) -> list[str]:
    notes = []
    for path in sorted(autograded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        for index, cell in enumerate(nb.cells, 1):
            label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell #{index}"
            for output in cell.get("outputs", []):
                if output.get("ename") == "CellTimeoutError":
                    notes.append(f"{path.name} {label}: stopped at the time limit")
                if "[output truncated" in str(output.get("text", "")):
                    notes.append(f"{path.name} {label}: output truncated")
    return notes


def autograde_student(course: Path, assignment: str, result: StudentResult, cell_timeout: int,
                      threads: int) -> None:
    """Autograde one student; `threads` math threads for its kernel, so parallel kernels share the cores."""
    args = ["autograde", assignment, "--student", result.student, "--force", f"--Execute.timeout={cell_timeout}"]
    for attempt in range(3):
        try:
            run = run_nbgrader(course, *args, timeout=cell_timeout * 40, threads=threads)
        except subprocess.TimeoutExpired:
            result.status, result.notes = "error", [*result.notes, "grading took too long and was stopped"]
            return
        output = run.stdout + run.stderr
        if run.returncode == 0 and "There was an error processing" not in output:
            result.notes += _execution_notes(course / "autograded" / result.student / assignment)
            return
        if "database is locked" not in output:
            break
        time.sleep(1 + attempt)
    result.status = "review" if result.status == "review" else "error"  # a flagged cheat stays flagged
    result.notes.append(_failure_reason(output))


def record_scores(course: Path, assignment: str, results: list[StudentResult]) -> float:
    """Read scores from the gradebook; withhold automatic points from submissions held for review."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        max_score = gradebook.find_assignment(assignment).max_score
        for result in results:
            try:
                submission = gradebook.find_submission(assignment, result.student)
            except MissingEntry:
                continue
            if result.status == "review":
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grade.manual_score, grade.needs_manual_grade = 0.0, True
                gradebook.db.commit()
            result.score = submission.score
    return max_score


def write_reports(folder: Path, results: list[StudentResult], max_score: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "grades.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "status", "score", "max_score", "notes"])
        for r in results:
            writer.writerow([r.student, r.status, r.score, max_score, "; ".join(r.notes)])
    with open(folder / "flags.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student", "notebook", "cell", "line", "reason"])
        for r in results:
            for notebook, finding in r.findings:
                writer.writerow([r.student, notebook, finding.cell, finding.line, finding.reason])


def grade_assignment(course: Path, assignment: str, workers: int = 2, cell_timeout: int = 300,
                     students: list[str] | None = None) -> list[StudentResult]:
    """The whole pipeline for every student in submitted/ (or just `students`)."""
    require_sandbox()
    generated = run_nbgrader(course, "generate_assignment", assignment, "--force")  # registers it in the gradebook
    if generated.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{generated.stderr[-3000:]}")
    expected = expected_notebooks(course, assignment)
    found = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}"))
    results = [StudentResult(s) for s in (students or found)]
    for result in results:
        folder = course / "submitted" / result.student / assignment
        normalise_submission(folder, expected, result)
        scan_submission(folder, expected, result)
    to_grade = [r for r in results if r.status != "missing"]
    workers = max(1, workers)
    threads = max(1, (os.cpu_count() or 1) // workers)  # oversubscribed cores slow small-tensor code tenfold
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda r: autograde_student(course, assignment, r, cell_timeout, threads), to_grade))
    max_score = record_scores(course, assignment, results)
    feedback = run_nbgrader(course, "generate_feedback", assignment, "--force")
    if feedback.returncode != 0:
        print(f"warning: feedback generation reported errors:\n{feedback.stderr[-2000:]}", file=sys.stderr)
    write_reports(course / "reports" / assignment, results, max_score)
    return results


def print_summary(results: list[StudentResult]) -> None:
    width = max([len(r.student) for r in results] + [7])
    for r in results:
        print(f"{r.student:<{width}}  {r.status:<7}  {r.score:6.2f}  {'; '.join(r.notes)}")
