"""Command line: `python -m course_grading grade ASSIGNMENT` (run from the course root)."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from .grade import grade_assignment, print_summary


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m course_grading", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="autograde every submission of one assignment")
    grade.add_argument("assignment")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--cell-timeout", type=int, default=300, help="seconds a cell may run")
    grade.add_argument("--student", action="append", help="grade only these students (repeatable)")
    grade.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: here)")
    args = parser.parse_args()
    start = time.perf_counter()
    results = grade_assignment(args.course.resolve(), args.assignment, args.workers, args.cell_timeout, args.student)
    print_summary(results)
    minutes = (time.perf_counter() - start) / 60
    print(f"{len(results)} submissions in {minutes:.1f} min ({len(results) / minutes:.1f} per minute); "
          f"reports in {args.course / 'reports' / args.assignment}")


if __name__ == "__main__":
    main()
