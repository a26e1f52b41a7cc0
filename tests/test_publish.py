"""The student export holds the course and nothing that grades or gives answers away."""
from __future__ import annotations

import tomllib

import pytest

from course_grading.publish import ROOT, check_export, publish, secret_lines


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    return publish(tmp_path_factory.mktemp("export") / "course")


def test_the_export_has_the_student_course(export):
    assert sorted(p.name for p in (export / "lectures").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "lectures").glob("*.ipynb"))
    assert sorted(p.name for p in (export / "assignments").iterdir()) == \
        sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
    assert (export / "course_utils" / "testing.py").exists() and (export / "binder" / "postBuild").exists()
    readme = (export / "README.md").read_text()
    assert all(f"lectures/{p.name}" in readme for p in (ROOT / "lectures").glob("*.ipynb"))


def test_the_export_has_nothing_that_grades(export):
    names = {p.name for p in export.rglob("*")}
    assert not names & {"solutions", "tests", "course_grading", "scripts", "judge.py", "wrong_answers",
                        "nbgrader_config.py"}
    assert not [p for p in export.rglob("*.pct.py")]
    assert tomllib.loads((export / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"] == ["course_utils"]


def test_no_answer_or_judge_line_of_any_assignment_is_in_the_export(export):
    lines = secret_lines()
    judges = list((ROOT / "solutions").glob("*/judge.py"))
    assert judges and len(lines) > 100
    for path in export.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            assert not [line for line in lines if line in text], path


def test_the_check_catches_a_leak(export, tmp_path):
    leaked = tmp_path / "leaky"
    leaked.mkdir()
    (leaked / "notes.md").write_text(next(iter(secret_lines())))
    with pytest.raises(RuntimeError, match="solution or judge text"):
        check_export(leaked)
    (leaked / "notes.md").unlink()
    (leaked / "judge.py").write_text("")
    with pytest.raises(RuntimeError, match="contains"):
        check_export(leaked)
