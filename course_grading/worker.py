"""One student's autograde, in its own process: `python -I -m course_grading.worker JOB_JSON`.

Runs nbgrader's Autograde through its Python API on the staged notebooks (the course's grade
command starts one worker per student, several at once) and prints one JSON line: nbgrader's
`success`, and the tail of its `error` when it failed. A crash here ends this student's grading only.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from nbgrader.apps import NbGraderAPI

# A sandboxed kernel starts in about a second on an idle machine; on a busy grader (several workers, other jobs)
# nbclient's default of 60 s has been too short, which fails the student's whole autograde.
STARTUP_TIMEOUT_S = 300


def main(job: dict) -> dict:
    from .grade import STAGING, course_config
    course = Path(job["course"])
    config = course_config(course, submitted_directory=str(course / STAGING / "submitted"))
    config.Execute.timeout = int(job["cell_timeout"])
    config.Execute.startup_timeout = STARTUP_TIMEOUT_S
    outcome = NbGraderAPI(config=config).autograde(job["assignment"], job["student"], force=True, create=True)
    return {"success": bool(outcome.get("success")), "error": str(outcome.get("error") or "")[-3000:]}


if __name__ == "__main__":
    print(json.dumps(main(json.loads(sys.argv[1]))))
