"""Scratch nbgrader courses and the `nbgrader` command, shared by the grade command, the build and the tests."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path


def scratch_course(dest: Path, repo: Path, solutions: Path | None = None) -> Path:
    """A throw-away nbgrader course in `dest`: `repo`'s nbgrader_config.py and the instructor notebooks
    (`solutions`, by default repo/solutions) without their Jupytext sources, so no `.pct.py` can reach a release."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(repo / "nbgrader_config.py", dest)
    shutil.copytree(solutions or repo / "solutions", dest / "solutions", ignore=shutil.ignore_patterns("*.pct.py"))
    return dest


def run_nbgrader(course: Path, *args: str, timeout: float | None = None, threads: int | None = None,
                 check: bool = False) -> subprocess.CompletedProcess:
    """`python -m nbgrader ARGS` in `course`, with this environment's bin/ on PATH (nbgrader shells out to alembic)."""
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    if threads is not None:
        env.setdefault("OMP_NUM_THREADS", str(threads))
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=timeout, check=check)
