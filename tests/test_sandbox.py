"""The grading kernel is isolated: no course files, no network, nobody, limits, capped output."""
from __future__ import annotations

import shutil
import socket

import nbformat
import pytest

from course_grading import sandbox
from course_grading.execute import SandboxedExecute

needs_bwrap = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed: sandbox isolation is NOT tested here")


def run_in_sandbox(workdir, *sources: str) -> list[str]:
    """Execute code cells in the grading kernel with `workdir` as the submission folder; return their text."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    SandboxedExecute(timeout=60).preprocess(nb, {"metadata": {"path": str(workdir)}})
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
    (workdir / "data.txt").write_text("my own file")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    try:
        outputs = run_in_sandbox(
            workdir,
            "import os; print(os.getuid(), os.getgid())",
            "print(open('data.txt').read())",
            f"print(open({str(course / 'solutions' / 'answers.txt')!r}).read())",
            f"print(open({str(course / 'gradebook.db')!r}).read())",
            "import os; print(sorted(os.listdir('..')))",
            f"import socket; socket.create_connection(('127.0.0.1', {port}), timeout=3)",
            "import resource; print(resource.getrlimit(resource.RLIMIT_CPU), resource.getrlimit(resource.RLIMIT_AS))",
            "print('x' * 1_000_000)",
            "open('written.txt', 'w').write('ok')",
            "import torch, course_utils; print(torch.ones(2).sum().item())",
        )
    finally:
        listener.close()
    return outputs, workdir


@needs_bwrap
def test_runs_as_nobody(sandbox_outputs):
    assert sandbox_outputs[0][0].split() == ["65534", "65534"]


@needs_bwrap
def test_sees_and_writes_its_own_folder_only(sandbox_outputs):
    outputs, workdir = sandbox_outputs
    assert outputs[1].strip() == "my own file"
    assert outputs[2] == "FileNotFoundError" and outputs[3] == "FileNotFoundError"
    assert outputs[4].strip() == "['a1']"  # the parent folder shows nothing but this submission
    assert (workdir / "written.txt").read_text() == "ok"


@needs_bwrap
def test_has_no_network(sandbox_outputs):
    assert sandbox_outputs[0][5] in ("OSError", "ConnectionRefusedError", "TimeoutError")


@needs_bwrap
def test_has_limits_and_caps_output(sandbox_outputs):
    outputs = sandbox_outputs[0]
    cpu, memory = sandbox.LIMITS[sandbox.resource.RLIMIT_CPU], sandbox.LIMITS[sandbox.resource.RLIMIT_AS]
    assert outputs[6].strip() == f"({cpu}, {cpu}) ({memory}, {memory})"
    assert len(outputs[7]) < sandbox.MAX_OUTPUT_CHARS + 200 and "output truncated" in outputs[7]


@needs_bwrap
def test_course_packages_still_work(sandbox_outputs):
    assert sandbox_outputs[0][9].strip() == "2.0"


def test_missing_bubblewrap_stops_grading_with_instructions(monkeypatch):
    monkeypatch.delenv(sandbox.SANDBOX_ENV, raising=False)
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    with pytest.raises(sandbox.SandboxUnavailable, match="apt-get install bubblewrap.*COURSE_GRADING_SANDBOX=off"):
        sandbox.require_sandbox()


def test_opting_out_warns_loudly(monkeypatch, capsys):
    monkeypatch.setenv(sandbox.SANDBOX_ENV, "off")
    monkeypatch.setattr(sandbox.shutil, "which", lambda name: None)
    sandbox.require_sandbox()
    assert "WITHOUT isolation" in capsys.readouterr().err


def test_kernelspec_points_at_the_sandbox_launcher(tmp_path):
    folder = sandbox.install_kernelspec(str(tmp_path))
    spec = (folder / "kernel.json").read_text()
    assert '"course_grading.sandbox"' in spec and "{connection_file}" in spec
