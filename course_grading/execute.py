"""nbgrader's Execute step: the submission runs in the sandbox kernel, and every test cell is scored
by the assignment's judge from the grader's own process instead of being run in that kernel.

Configured in nbgrader_config.py, so the course's `grade` command, plain `nbgrader autograde` and the
formgrader's Autograde button all grade the same way. For each cell in order:
- an ordinary cell (answers, setup, demos) runs in the kernel as the student wrote it;
- a test cell (nbgrader `grade` without `solution`) is not run: the judge calls the student's code
  through the kernel on its own private cases, compares with its reference, and writes the verdict
  as the cell's output. nbgrader then scores the cell from that output (an error output = 0 points).
Only the notebooks are in the submission's folder while the kernel runs, and afterwards everything the
kernel left there (files, links, pipes) is removed before nbgrader sets permissions or builds feedback,
so nothing outside the folder is ever followed.
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from nbclient.exceptions import DeadKernelError
from nbclient.util import run_sync
from nbconvert.exporters.exporter import ResourcesDict
from nbformat.notebooknode import NotebookNode, from_dict
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import Execute

from .judge import Judge, Verdict, load_judge, run_part
from .remote import KernelLink, Student
from .sandbox import CGROUP_ENV, KERNEL_NAME, MemoryGroup, install_kernelspec, require_sandbox, sandbox_disabled

SEED_ENV = "COURSE_JUDGE_SEED"  # fixes the judges' cases (tests, debugging); random per run otherwise
HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", re.DOTALL | re.MULTILINE)


def grade_id_of_test_cell(cell: NotebookNode) -> str | None:
    """The grade id of an autograded test cell, else None."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    if cell.get("cell_type") == "code" and meta.get("grade") and not meta.get("solution"):
        return meta.get("grade_id")
    return None


def judge_path(config, assignment: str) -> Path:
    course = CourseDirectory(config=config)
    return Path(course.root) / course.source_directory / assignment / "judge.py"


def part_seed(run_seed: int, grade_id: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{run_seed}:{grade_id}".encode()).digest()[:8], "little") >> 1


def verdict_outputs(verdict: Verdict) -> list[NotebookNode]:
    """What the student sees under the test cell: a ✓ line, or the failure as an error output."""
    if verdict.passed:
        text = f"✓ Passed: {verdict.message} (checked by the grader, outside your notebook).\n"
        return [from_dict({"output_type": "stream", "name": "stdout", "text": text})]
    lines = verdict.message.splitlines() or ["failed"]
    return [from_dict({"output_type": "error", "ename": "Failed", "evalue": verdict.message,
                       "traceback": [f"Failed: {lines[0]}", *lines[1:]]})]


class SandboxedExecute(Execute):
    """nbgrader's Execute in the sandbox kernel: private IPC sockets (the sandbox has no network), a memory
    cgroup per kernel, and the submission's folder cleaned before (only notebooks) and after (no links)."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict, km=None):
        if not sandbox_disabled():
            require_sandbox()
            install_kernelspec()
            self.kernel_name = KERNEL_NAME
        self._workdir = Path(resources.get("metadata", {}).get("path") or ".").resolve()
        self._runtime = Path(tempfile.mkdtemp(prefix="grading-kernel-"))
        removed = keep_only_notebooks(self._workdir)
        if removed:
            nb.metadata["course_judge"] = {"removed_files": removed}
        kept = set(os.listdir(self._workdir))
        group = MemoryGroup.create()
        saved = os.environ.get(CGROUP_ENV)
        if group.path:
            os.environ[CGROUP_ENV] = str(group.path)
        try:
            return super().preprocess(nb, resources, km)
        finally:
            if saved is None:
                os.environ.pop(CGROUP_ENV, None)
            else:
                os.environ[CGROUP_ENV] = saved
            group.remove()
            shutil.rmtree(self._runtime, ignore_errors=True)
            remove_new_files(self._workdir, kept)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if not sandbox_disabled():
            km.transport = "ipc"
            km.connection_file = str(self._runtime / "kernel.json")
            km.ip = str(self._runtime / "kernel-ipc")
        return km


class JudgedExecute(SandboxedExecute):
    """Autograde's Execute: ordinary cells run in the sandbox kernel; test cells are scored by the judge."""

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict, km=None):
        assignment = resources["nbgrader"]["assignment"]
        self._judge: Judge = load_judge(judge_path(self.config, assignment))
        self._run_seed = int(os.environ.get(SEED_ENV) or secrets.randbits(62))
        self._link: KernelLink | None = None
        self._gone: str | None = None  # why the kernel can no longer be asked anything
        for cell in nb.cells:
            if grade_id_of_test_cell(cell):
                cell.source = HIDDEN.sub("", cell.source)  # legacy hidden regions never reach the kernel
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell: NotebookNode, resources: ResourcesDict, index: int):
        grade_id = grade_id_of_test_cell(cell)
        if grade_id is not None:
            self._judge_cell(cell, grade_id)
            return cell, resources
        if self._gone or cell.cell_type != "code":
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._gone = "the kernel died while running an earlier cell (a crash, os._exit, or the memory limit)"
            cell.outputs.append(from_dict({"output_type": "error", "ename": "DeadKernelError",
                                           "evalue": "the kernel died while running this cell",
                                           "traceback": ["DeadKernelError: the kernel died while running this cell"]}))
            return cell, resources

    def _judge_cell(self, cell: NotebookNode, grade_id: str) -> None:
        part = self._judge.parts.get(grade_id)
        if part is None:
            verdict = Verdict(grade_id, False, "this test cell has no judge; an instructor will grade it",
                              problem=f"no judge part for {grade_id}")
        elif self._gone:
            verdict = Verdict(grade_id, False, f"not graded: {self._gone}", problem=self._gone)
        else:
            if self._link is None:
                self._link = KernelLink(self.kc, self.km, run_sync)
            process = getattr(getattr(self.km, "provisioner", None), "process", None)
            student = Student(self._link, getattr(process, "pid", None))
            start = time.perf_counter()
            verdict = run_part(part, student, part_seed(self._run_seed, grade_id))
            verdict.seconds = time.perf_counter() - start
            if self._link.dead:
                self._gone = "the kernel stopped answering while this part was graded"
        self.log.info("judge %s (%.1f s): %s", grade_id, verdict.seconds,
                      "passed" if verdict.passed else verdict.message.splitlines()[0])
        cell.outputs = verdict_outputs(verdict)
        cell.execution_count = None
        cell.metadata["course_judge"] = {"passed": verdict.passed, "checks": verdict.checks,
                                         "mistake": verdict.mistake, "problem": verdict.problem,
                                         "seed": part_seed(self._run_seed, grade_id)}


def keep_only_notebooks(folder: Path) -> list[str]:
    """Remove everything but the notebooks from the folder the kernel will run in (nbgrader copies a
    submission's other files there, following links); return what was removed. Only notebooks are graded."""
    return _remove_all_but(folder, lambda entry: entry.endswith(".ipynb") or entry == "timestamp.txt")


def remove_new_files(folder: Path, kept: set[str]) -> list[str]:
    """After the kernel: delete everything it left in `folder` except the regular files in `kept` (the
    notebooks), never following a link, so nbgrader's permission and feedback steps see nothing else."""
    return _remove_all_but(folder, kept.__contains__)


def _remove_all_but(folder: Path, keep: Callable[[str], bool]) -> list[str]:
    """Delete every entry of `folder` except the regular files whose names `keep` accepts; links are removed,
    never followed. Returns the names removed."""
    removed = []
    for entry in sorted(os.listdir(folder)):
        path = folder / entry
        mode = os.lstat(path).st_mode
        if stat.S_ISREG(mode) and keep(entry):
            continue
        if stat.S_ISDIR(mode):
            shutil.rmtree(path)
        else:
            os.unlink(path)
        removed.append(entry)
    return removed
