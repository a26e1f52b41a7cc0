"""The grading kernel is isolated: nobody, no course files, no network, a cleared environment, limits,
capped output, nothing left behind that the grader could follow."""
from __future__ import annotations

import json
import os
import resource
import socket
import subprocess

import nbformat
import pytest
from nbclient.exceptions import DeadKernelError

from course_grading import sandbox
from course_grading.execute import SandboxedExecute
from conftest import needs_bwrap


def run_in_sandbox(workdir, *sources: str, timeout: int = 60) -> list[str]:
    """Execute code cells in the grading kernel with `workdir` as the submission folder; return their text."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    SandboxedExecute(timeout=timeout).preprocess(nb, {"metadata": {"path": str(workdir)}})
    texts = []
    for cell in nb.cells:
        texts.append("".join(o.get("text", "") if o.output_type == "stream" else
                             o.get("ename", "") if o.output_type == "error" else
                             o.get("data", {}).get("text/plain", "") for o in cell.outputs))
    return texts


@pytest.fixture(scope="module")
def sandbox_outputs(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    (course / "solutions").mkdir()
    (course / "solutions" / "answers.txt").write_text("the reference answer")
    (course / "gradebook.db").write_text("grades")
    workdir = course / "autograded" / "alice" / "a1"
    workdir.mkdir(parents=True)
    (workdir / "shipped.py").write_text("print('a file submitted next to the notebook')")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    saved = os.environ.get("JUPYTERHUB_API_TOKEN")
    os.environ["JUPYTERHUB_API_TOKEN"] = "grader-secret-token"
    try:
        outputs = run_in_sandbox(
            workdir,
            "import os; print(os.getuid(), os.getgid())",
            "open('mine.txt', 'w').write('my own file'); print(open('mine.txt').read(), sorted(os.listdir('.')))",
            f"print(open({str(course / 'solutions' / 'answers.txt')!r}).read())",
            f"print(open({str(course / 'gradebook.db')!r}).read())",
            "import os; print(sorted(os.listdir('..')))",
            f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)",
            "import resource; "
            "print(resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_AS)[0])",
            "print('x' * 1_000_000)",
            "import os; print(sorted(os.environ))",
            "import torch, course_utils; print(torch.ones(2).sum().item())",
            "import course_grading",
            f"os.symlink({str(course / 'gradebook.db')!r}, 'grades-link'); os.mkfifo('pipe'); print('made')",
        )
    finally:
        listener.close()
        if saved is None:
            os.environ.pop("JUPYTERHUB_API_TOKEN")
        else:
            os.environ["JUPYTERHUB_API_TOKEN"] = saved
    return outputs, workdir


@needs_bwrap
def test_runs_as_nobody(sandbox_outputs):
    assert sandbox_outputs[0][0].split() == ["65534", "65534"]


@needs_bwrap
def test_sees_and_writes_its_own_folder_only(sandbox_outputs):
    outputs, workdir = sandbox_outputs
    assert outputs[1].strip() == "my own file ['mine.txt']"  # the shipped .py was removed before the kernel ran
    assert outputs[2] == "FileNotFoundError" and outputs[3] == "FileNotFoundError"
    assert outputs[4].strip() == "['a1']"  # the parent folder shows nothing but this submission


@needs_bwrap
def test_has_no_network(sandbox_outputs):
    assert sandbox_outputs[0][5] in ("OSError", "ConnectionRefusedError", "TimeoutError")


@needs_bwrap
def test_has_limits_and_caps_output(sandbox_outputs):
    outputs = sandbox_outputs[0]
    assert outputs[6].startswith("(900, 900)")
    probe = sandbox.MemoryGroup.create(2**30)  # where this machine lets us make a memory cgroup, the kernel joins one
    probe.remove()                             # and needs no address-space limit; elsewhere RLIMIT_AS stands in
    address_space = int(outputs[6].split(")")[-1])
    expected = resource.RLIM_INFINITY if probe.path else sandbox.memory_limit() + 2 * 2**30
    assert address_space == expected, outputs[6]
    assert len(outputs[7]) < 200_000 + 200 and "output truncated" in outputs[7]


@needs_bwrap
def test_environment_is_an_allow_list(sandbox_outputs):
    names = set(eval(sandbox_outputs[0][8]))  # noqa: S307 (a list of names printed by our own cell)
    assert "JUPYTERHUB_API_TOKEN" not in names
    assert names <= set(sandbox.sandbox_environment()) | {"PWD", "JPY_PARENT_PID", "PYDEVD_USE_FRAME_EVAL",
                                                            "MPLBACKEND", "CLICOLOR", "FORCE_COLOR", "TERM",
                                                            "PAGER", "GIT_PAGER", "CLICOLOR_FORCE"}  # set by ipykernel


@needs_bwrap
def test_course_utils_works_and_the_grading_package_is_not_there(sandbox_outputs):
    assert sandbox_outputs[0][9].strip() == "2.0"
    assert sandbox_outputs[0][10] == "ModuleNotFoundError"


@needs_bwrap
def test_files_links_and_pipes_the_kernel_made_are_gone_after_grading(sandbox_outputs):
    outputs, workdir = sandbox_outputs
    assert outputs[11].strip() == "made"
    assert list(workdir.iterdir()) == []


@needs_bwrap
def test_memory_is_limited(tmp_path, monkeypatch):
    monkeypatch.setenv(sandbox.MEMORY_ENV, "1")
    try:
        outputs = run_in_sandbox(tmp_path, "import torch; x = torch.ones(2**29); x += 1; print('survived')")
    except DeadKernelError:
        return  # killed by the memory cgroup
    assert "survived" not in outputs[0] and outputs[0] in ("RuntimeError", "MemoryError"), outputs  # RLIMIT_AS


def test_the_launcher_ignores_a_package_shipped_in_the_submission(tmp_path):
    hostile = tmp_path / "course_grading"
    hostile.mkdir()
    marker = tmp_path / "imported"
    (hostile / "__init__.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")
    (hostile / "sandbox.py").write_text(f"open({str(marker)!r}, 'w').write('pwned')\n")
    spec = json.loads((sandbox.install_kernelspec(str(tmp_path / "prefix")) / "kernel.json").read_text())
    argv = [arg.replace("{connection_file}", str(tmp_path / "nowhere" / "kernel.json")) for arg in spec["argv"]]
    subprocess.run(argv, cwd=tmp_path, capture_output=True, timeout=60)
    assert not marker.exists()


def test_kernelspec_runs_the_launcher_isolated(tmp_path):
    spec = (sandbox.install_kernelspec(str(tmp_path)) / "kernel.json").read_text()
    assert '"-I"' in spec and '"course_grading.sandbox"' in spec and "{connection_file}" in spec


def test_missing_bubblewrap_stops_grading_with_instructions(monkeypatch):
    monkeypatch.delenv(sandbox.SANDBOX_ENV, raising=False)
    monkeypatch.setattr(sandbox, "_checked", [])
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*COURSE_GRADING_SANDBOX=off"):
        sandbox.require_sandbox()


def test_blocked_user_namespaces_stop_grading_once_with_one_clear_error(monkeypatch, tmp_path):
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.delenv(sandbox.SANDBOX_ENV, raising=False)
    monkeypatch.setattr(sandbox, "_checked", [])
    with pytest.raises(sandbox.SandboxUnavailable, match="user namespaces.*Nothing was graded"):
        sandbox.require_sandbox()


def test_opting_out_warns_loudly(monkeypatch, capsys):
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "off")
    sandbox.require_sandbox()
    assert "WITHOUT isolation" in capsys.readouterr().err


def test_the_sandbox_environment_passes_only_allowed_names():
    env = sandbox.sandbox_environment({"COURSE_DATA_DIR": "/data", "JUPYTERHUB_API_TOKEN": "x", "AWS_SECRET": "y",
                                       "OMP_NUM_THREADS": "1", "PYTHONPATH": "/evil"})
    assert env["COURSE_DATA_DIR"] == "/data" and env["OMP_NUM_THREADS"] == "1"
    assert not {"JUPYTERHUB_API_TOKEN", "AWS_SECRET", "PYTHONPATH"} & set(env)


def test_parallel_kernels_never_ask_for_more_math_threads_than_cores():
    from course_grading.grade import kernel_threads
    cores = len(os.sched_getaffinity(0))
    assert kernel_threads(1, {}) == cores
    assert kernel_threads(cores, {}) == 1 and kernel_threads(4 * cores, {}) == 1
    assert kernel_threads(1, {"OMP_NUM_THREADS": "1"}) == 1
    assert kernel_threads(1, {"OMP_NUM_THREADS": str(cores + 8)}) == cores
    assert kernel_threads(1, {"OMP_NUM_THREADS": "many"}) == cores


def test_only_notebooks_are_kept_and_links_are_removed_not_followed(tmp_path):
    from course_grading.execute import keep_only_notebooks, remove_new_files
    outside = tmp_path / "outside.txt"
    outside.write_text("the instructor's file")
    folder = tmp_path / "submission"
    (folder / "helpers").mkdir(parents=True)
    for name in ("a.ipynb", "timestamp.txt", "helper.py"):
        (folder / name).write_text("{}")
    (folder / "link.ipynb").symlink_to(outside)
    assert keep_only_notebooks(folder) == ["helper.py", "helpers", "link.ipynb"]
    assert sorted(os.listdir(folder)) == ["a.ipynb", "timestamp.txt"] and outside.exists()
    (folder / "new.png").write_text("")
    assert remove_new_files(folder, {"a.ipynb"}) == ["new.png", "timestamp.txt"]
    assert os.listdir(folder) == ["a.ipynb"]
