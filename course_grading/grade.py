"""Grade a whole assignment: stage the notebooks, autograde each student in parallel (sandboxed kernel,
judged from outside), hold suspicious submissions for review, write reports and feedback.

    python -m course_grading grade 01_perceptron_xor [--workers 2] [--cell-timeout 300] [--student ID ...]

Writes reports/<assignment>/grades.csv (one row per student: status, score, reasons) and
reports/<assignment>/flags.csv (one row per suspicious line), and feedback/ for every student. With
--student only those students' rows are replaced; everyone else's stay. Anything that goes wrong with
one student (an unreadable notebook, a scan that cannot finish, a kernel that dies, a worker that
crashes) becomes that student's `error` row with a reason; the others are graded. The files in
submitted/ are only read: what is graded is a staged copy of the expected notebooks alone.
"""
from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.apps import NbGraderAPI
from nbgrader.coursedir import CourseDirectory
from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

from .execute import judge_path
from .feedback import REVIEW_PREFIX as REVIEW_NOTE
from .judge import load_judge
from .sandbox import require_sandbox
from .tamper import Finding, scan_notebook

STAGING = ".grading"  # below the course root: staged notebooks and scratch releases
SECRET = "submission_secret.txt"  # nbgrader submit's; release_feedback names the feedback after it
EXCHANGE_FILES = {"timestamp.txt", SECRET}  # what nbgrader's exchange adds to every submission
MAX_NOTEBOOK_BYTES = 50 * 2**20


@dataclass
class StudentResult:
    student: str
    status: str = "graded"  # graded | review | missing | error
    score: float = 0.0
    notes: list[str] = field(default_factory=list)
    findings: list[tuple[str, Finding]] = field(default_factory=list)  # (notebook, finding)

    @property
    def held(self) -> bool:
        return any(f.hold for _, f in self.findings)


def course_config(course: Path, **overrides: str) -> Config:
    """The course's nbgrader_config.py, with CourseDirectory overrides (e.g. another submitted folder)."""
    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    config.CourseDirectory.root = str(course)
    for name, value in overrides.items():
        setattr(config.CourseDirectory, name, value)
    return config


def db_url(course: Path) -> str:
    return CourseDirectory(config=course_config(course)).db_url


def expected_notebooks(course: Path, assignment: str) -> list[str]:
    with Gradebook(db_url(course)) as gradebook:
        return sorted(f"{nb.name}.ipynb" for nb in gradebook.find_assignment(assignment).notebooks)


def _regular_files(folder: Path) -> list[Path]:
    """The regular files directly in `folder` (links and special files are never followed)."""
    if not folder.is_dir() or folder.is_symlink():
        return []
    return sorted(p for p in folder.iterdir() if stat.S_ISREG(os.lstat(p).st_mode))


def stage_submission(course: Path, assignment: str, expected: list[str], result: StudentResult) -> None:
    """Copy the expected notebooks (and the timestamp) of one submission into the staging folder.

    A lone notebook under another name is taken for the missing one; other files are reported and
    left out; unreadable notebooks score 0 with the reason. submitted/ itself is never changed.
    """
    source = course / "submitted" / result.student / assignment
    target = course / STAGING / "submitted" / result.student / assignment
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    files = {p.name: p for p in _regular_files(source)}
    present = sorted(n for n in files if n.endswith(".ipynb"))
    missing, extra = [n for n in expected if n not in present], [n for n in present if n not in expected]
    chosen = {n: files[n] for n in expected if n in files}
    if len(missing) == 1 and len(extra) == 1:
        chosen[missing[0]] = files[extra[0]]
        result.notes.append(f"graded {extra[0]} as {missing[0]}")
        missing, extra = [], []
    ignored = sorted(set(files) - {p.name for p in chosen.values()} - EXCHANGE_FILES)
    if ignored:
        result.notes.append(f"not graded (only notebooks are): {', '.join(ignored[:5])}"
                            + (" …" if len(ignored) > 5 else ""))
    for name in missing:
        result.notes.append(f"{name} was not submitted (scored 0)")
    for name, path in chosen.items():
        try:
            if path.stat().st_size > MAX_NOTEBOOK_BYTES:
                raise ValueError(f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB")
            nbformat.read(path, as_version=4)
        except Exception as error:  # noqa: BLE001 (any parse failure is reported the same way)
            result.notes.append(f"{name} is not a readable notebook ({type(error).__name__}); scored 0")
            continue
        shutil.copyfile(path, target / name)
    if "timestamp.txt" in files and files["timestamp.txt"].stat().st_size < 1000:
        shutil.copyfile(files["timestamp.txt"], target / "timestamp.txt")
    if not any((target / n).exists() for n in expected):
        result.status = "error" if chosen else "missing"


def carry_submission_secret(course: Path, assignment: str, student: str) -> None:
    """Copy the submission's secret (never staged: the kernel has no use for it) next to its feedback, where
    `nbgrader release_feedback` reads it; only a small regular file, never through a link."""
    secret = {p.name: p for p in _regular_files(course / "submitted" / student / assignment)}.get(SECRET)
    feedback = course / "feedback" / student / assignment
    if secret is not None and secret.stat().st_size < 1000 and feedback.is_dir() and not feedback.is_symlink():
        shutil.copyfile(secret, feedback / SECRET)


def scan_submission(course: Path, assignment: str, expected: list[str], result: StudentResult,
                    advisory: dict[str, set[str]]) -> None:
    folder = course / STAGING / "submitted" / result.student / assignment
    for name in expected:
        if (folder / name).exists():
            findings = scan_notebook(nbformat.read(folder / name, as_version=4), advisory)
            result.findings += [(name, f) for f in findings]
    held = [f for _, f in result.findings if f.hold]
    if held:
        result.status = "review"
        result.notes.append(f"{REVIEW_NOTE}: {len(held)} suspicious line(s), see flags.csv")


def kernel_threads(workers: int, environ: dict[str, str] | None = None) -> int:
    """Math threads per grading kernel: this machine's cores shared among the workers, at most OMP_NUM_THREADS.

    Oversubscribed cores slow PyTorch's OpenMP code several times over (threads spin waiting for each other), so
    the kernels of parallel workers never ask for more threads than there are cores for them."""
    environ = os.environ if environ is None else environ
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    share = max(1, cores // max(1, workers))
    asked = environ.get("OMP_NUM_THREADS", "")
    return min(share, int(asked)) if asked.isdigit() and int(asked) > 0 else share


def autograde_student(course: Path, assignment: str, result: StudentResult, cell_timeout: int, threads: int) -> None:
    """Autograde one student in a fresh worker process (nbgrader's API); any failure is this student's alone."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    job = {"course": str(course), "assignment": assignment, "student": result.student, "cell_timeout": cell_timeout}
    try:
        run = subprocess.run([sys.executable, "-I", "-m", "course_grading.worker", json.dumps(job)], cwd=course,
                             env=env, capture_output=True, text=True, timeout=cell_timeout * 40)
    except subprocess.TimeoutExpired:
        result.status, result.notes = "error", [*result.notes, "grading took too long and was stopped"]
        return
    try:
        outcome = json.loads(run.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        outcome = {"success": False, "error": (run.stderr or "the grading worker crashed")[-500:]}
    if not outcome.get("success"):
        result.status = "review" if result.status == "review" else "error"
        result.notes.append(f"autograding failed: {_last_line(outcome.get('error', ''))}")
        return
    try:
        result.notes += judge_notes(course / "autograded" / result.student / assignment)
    except Exception as error:  # noqa: BLE001 (a notebook we cannot read back is this student's problem)
        result.status = "error"
        result.notes.append(f"the graded notebook could not be read ({type(error).__name__})")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no details"


def judge_notes(autograded: Path) -> list[str]:
    """What the judges and the executor recorded: failed parts (first line), kernel problems, removed files."""
    notes = []
    for path in sorted(autograded.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        removed = nb.metadata.get("course_judge", {}).get("removed_files")
        if removed:
            notes.append(f"{path.name}: files written next to the notebook were not kept: {', '.join(removed[:5])}")
        for index, cell in enumerate(nb.cells, 1):
            label = cell.metadata.get("nbgrader", {}).get("grade_id") or f"cell #{index}"
            verdict = cell.metadata.get("course_judge")
            if verdict and not verdict.get("passed"):
                error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), {})
                notes.append(f"{label}: {str(error.get('evalue', '')).splitlines()[0][:200] if error else 'failed'}")
                if verdict.get("problem"):
                    notes.append(f"{label}: grader problem: {str(verdict['problem']).splitlines()[-1][:200]}")
            for output in cell.get("outputs", []):
                if output.get("ename") == "CellTimeoutError":
                    notes.append(f"{label}: stopped at the time limit")
                if "[output truncated" in str(output.get("text", "")):
                    notes.append(f"{label}: output truncated")
    return notes


def record_scores(course: Path, assignment: str, results: list[StudentResult]) -> float:
    """Read scores from the gradebook; withhold automatic points from held submissions, saying why."""
    with Gradebook(db_url(course)) as gradebook:
        max_score = gradebook.find_assignment(assignment).max_score
        for result in results:
            try:
                submission = gradebook.find_submission(assignment, result.student)
            except MissingEntry:
                continue
            if result.status == "review":
                reasons = "; ".join(sorted({f.reason for _, f in result.findings if f.hold}))[:1500]
                for notebook in submission.notebooks:
                    for grade in notebook.grades:
                        grade.manual_score, grade.needs_manual_grade = 0.0, True
                    for comment in notebook.comments:
                        comment.manual_comment = f"{REVIEW_NOTE}: {reasons}. Points are withheld until then."
                gradebook.db.commit()
            result.score = submission.score
    return max_score


FIELDS = ["student", "status", "score", "max_score", "notes"]
FLAG_FIELDS = ["student", "notebook", "cell", "line", "severity", "reason"]


def _merged(path: Path, fields: list[str], rows: list[dict], replaced: set[str]) -> list[dict]:
    """Earlier rows of students not graded this time, followed by this run's rows."""
    kept = []
    if path.exists():
        with open(path, newline="") as handle:
            kept = [r for r in csv.DictReader(handle) if r.get("student") not in replaced]
    return sorted(kept + rows, key=lambda r: r["student"])


def write_reports(folder: Path, results: list[StudentResult], max_score: float, partial: bool) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    graded = {r.student for r in results}
    rows = [{"student": r.student, "status": r.status, "score": r.score, "max_score": max_score,
             "notes": "; ".join(r.notes)} for r in results]
    flags = [{"student": r.student, "notebook": nb, "cell": f.cell, "line": f.line,
              "severity": "hold" if f.hold else "advisory", "reason": f.reason}
             for r in results for nb, f in r.findings]
    for name, fields, new in (("grades.csv", FIELDS, rows), ("flags.csv", FLAG_FIELDS, flags)):
        path = folder / name
        merged = _merged(path, fields, new, graded) if partial else new
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(merged)


def register_assignment(course: Path, assignment: str) -> None:
    """Record the assignment's cells in the gradebook (nbgrader generate_assignment into a scratch release,
    so the committed assignments/ folder is left as it is)."""
    scratch = course / STAGING / "release"
    config = course_config(course, release_directory=str(scratch))
    outcome = NbGraderAPI(config=config).generate_assignment(assignment, force=True, create=True)
    if not outcome["success"]:
        raise RuntimeError(f"nbgrader generate_assignment failed:\n{outcome.get('error', '')[-3000:]}")


def grade_assignment(course: Path, assignment: str, workers: int = 2, cell_timeout: int = 300,
                     students: list[str] | None = None) -> list[StudentResult]:
    """The whole pipeline for every student in submitted/ (or just `students`)."""
    require_sandbox()
    register_assignment(course, assignment)
    expected = expected_notebooks(course, assignment)
    advisory = load_judge(judge_path(course_config(course), assignment)).advisory
    found = sorted(p.parent.name for p in (course / "submitted").glob(f"*/{assignment}"))
    results = [StudentResult(s) for s in (students or found)]
    for result in results:
        try:
            stage_submission(course, assignment, expected, result)
            scan_submission(course, assignment, expected, result, advisory)
        except Exception as error:  # noqa: BLE001 (one student's files must not stop the batch)
            result.status = "error"
            result.notes.append(f"the submission could not be prepared ({type(error).__name__}: {error})"[:300])
    to_grade = [r for r in results if r.status in ("graded", "review")]
    workers = max(1, workers)
    threads = kernel_threads(workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(lambda r: autograde_student(course, assignment, r, cell_timeout, threads), to_grade))
    max_score = record_scores(course, assignment, results)
    api = NbGraderAPI(config=course_config(course))
    for result in results:
        if result.status in ("graded", "review"):
            outcome = api.generate_feedback(assignment, result.student, force=True)
            if not outcome["success"]:
                result.notes.append(f"no feedback: {_last_line(outcome.get('error', ''))}")
            else:
                carry_submission_secret(course, assignment, result.student)
    write_reports(course / "reports" / assignment, results, max_score, partial=students is not None)
    return results


def print_summary(results: list[StudentResult]) -> None:
    width = max([len(r.student) for r in results] + [7])
    for r in results:
        print(f"{r.student:<{width}}  {r.status:<7}  {r.score:6.2f}  {'; '.join(r.notes)}")
