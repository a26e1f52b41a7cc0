"""Command line, run from the course root:

    python -m course_grading grade ASSIGNMENT [--workers N] [--cell-timeout S] [--student ID ...]
    python -m course_grading publish DIR      the student-facing course, without anything that grades
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m course_grading", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    grade = commands.add_parser("grade", help="autograde every submission of one assignment")
    grade.add_argument("assignment")
    grade.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="submissions graded at once")
    grade.add_argument("--cell-timeout", type=int, default=300, help="seconds a cell may run")
    grade.add_argument("--student", action="append", help="grade only these students (repeatable); the "
                                                          "reports keep everyone else's rows")
    grade.add_argument("--course", type=Path, default=Path.cwd(), help="course root (default: here)")
    publish = commands.add_parser("publish", help="export the student-facing course into DIR")
    publish.add_argument("destination", type=Path)
    args = parser.parse_args()
    if args.command == "publish":
        from .publish import publish as export
        print(f"Student course written to {export(args.destination)}")
        return
    from .grade import grade_assignment, print_summary
    start = time.perf_counter()
    results = grade_assignment(args.course.resolve(), args.assignment, args.workers, args.cell_timeout, args.student)
    print_summary(results)
    minutes = (time.perf_counter() - start) / 60
    print(f"{len(results)} submissions in {minutes:.1f} min ({len(results) / minutes:.1f} per minute); "
          f"reports in {args.course / 'reports' / args.assignment}")


if __name__ == "__main__":
    main()
