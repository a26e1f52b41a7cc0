"""Benchmark: grading throughput and the sandbox's overhead per submission.

Grades N copies of each assignment's reference solution with `python -m course_grading grade` in the
sandbox, and the first assignment once more with COURSE_GRADING_SANDBOX=off to measure the overhead.
Prints one JSON line per assignment.

    python scripts/bench_grading.py [--students 4] [--workers 2] [--only 11_]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from course_grading.course import scratch_course

ROOT = Path(__file__).resolve().parents[1]


def course_with_submissions(assignment: str, students: int, tmp: Path) -> Path:
    """A scratch course in which `students` students each submitted the reference solution."""
    course = scratch_course(tmp / "course", ROOT)
    for i in range(students):
        folder = course / "submitted" / f"student{i:03d}" / assignment
        folder.mkdir(parents=True)
        for notebook in (ROOT / "solutions" / assignment).glob("*.ipynb"):
            shutil.copy(notebook, folder / notebook.name)
    return course


def grade_seconds(assignment: str, students: int, workers: int, sandbox: bool) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        course = course_with_submissions(assignment, students, Path(tmp))
        env = {**os.environ, "COURSE_GRADING_SANDBOX": "on" if sandbox else "off"}
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "course_grading", "grade", assignment, "--workers", str(workers)],
                       cwd=course, env=env, check=True, capture_output=True)
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", help="measure only the assignments whose name contains this")
    args = parser.parse_args()
    assignments = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    for index, assignment in enumerate(assignments):
        if args.only and args.only not in assignment:
            continue
        sandboxed = grade_seconds(assignment, args.students, args.workers, sandbox=True)
        row = {"assignment": assignment, "students": args.students, "workers": args.workers,
               "sandboxed_s": round(sandboxed, 1), "per_minute": round(60 * args.students / sandboxed, 1)}
        if index == 0:
            plain = grade_seconds(assignment, args.students, args.workers, sandbox=False)
            row.update(unsandboxed_s=round(plain, 1),
                       overhead_s_per_submission=round((sandboxed - plain) / args.students * args.workers, 2))
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
