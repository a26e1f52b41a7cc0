"""Grade an assignment's solution, untouched release and catalogued wrong answers in a scratch course.

    python scripts/check_judge.py 01_perceptron_xor [SCRATCH_DIR] [solution,untouched,wrong]

Prints every judge verdict (with its time) and the scores: the quick loop while writing a judge.
The test suite grades the full batch (tests/test_grading.py).
"""
from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from course_grading.course import run_nbgrader, scratch_course  # noqa: E402
from grading_batch import wrong_answers  # noqa: E402
from submissions import answered, read  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignment")
    parser.add_argument("scratch", nargs="?", type=Path, default=Path(tempfile.mkdtemp(prefix="check-judge-")))
    parser.add_argument("students", nargs="?", default="solution,untouched,wrong")
    args = parser.parse_args()
    assignment, name = args.assignment, f"{args.assignment}.ipynb"
    shutil.rmtree(args.scratch, ignore_errors=True)
    course = scratch_course(args.scratch / "course", ROOT)
    run_nbgrader(course, "generate_assignment", assignment, "--force", check=True)
    release, solution = read(course / "assignments" / assignment / name), read(course / "solutions" / assignment / name)
    variants = {"solution": answered(release, solution), "untouched": release,
                "wrong": answered(release, solution, wrong_answers(assignment)[0])}
    chosen = args.students.split(",")
    for student in chosen:
        folder = course / "submitted" / student / assignment
        folder.mkdir(parents=True)
        nbformat.write(variants[student], folder / name)
    start = time.perf_counter()
    run = run_nbgrader(course, "autograde", assignment)
    print(f"autograde exit code {run.returncode} in {time.perf_counter() - start:.1f} s")
    print("\n".join(line for line in run.stderr.splitlines() if "judge" in line or "ERROR" in line))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        print(f"max score {gradebook.find_assignment(assignment).max_score}")
        for student in chosen:
            print(f"{student}: {gradebook.find_submission(assignment, student).score}")


if __name__ == "__main__":
    main()
