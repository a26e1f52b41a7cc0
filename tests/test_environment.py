"""pyproject.toml, environment.yml and binder/ install the same packages; Binder hides instructor tools."""
from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def pyproject_requirements() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def conda_pip_requirements(path: Path) -> set[str]:
    spec = yaml.safe_load(path.read_text())
    pip_sections = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, f"{path} has one pip section"
    return set(pip_sections[0])


def test_conda_environment_matches_pyproject():
    assert conda_pip_requirements(ROOT / "environment.yml") == pyproject_requirements()


def test_binder_environment_matches_pyproject():
    assert conda_pip_requirements(ROOT / "binder" / "environment.yml") == pyproject_requirements()


def test_both_conda_files_pin_the_same_python():
    pythons = [next(d for d in yaml.safe_load(p.read_text())["dependencies"] if str(d).startswith("python"))
               for p in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml")]
    assert pythons[0] == pythons[1]


def test_binder_installs_the_course_and_hides_the_formgrader():
    post_build = (ROOT / "binder" / "postBuild").read_text()
    assert "pip install --no-deps -e ." in post_build
    for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "nbgrader.server_extensions.formgrader"):
        assert plugin in post_build
    disabled = " ".join(line for line in post_build.splitlines() if " disable " in line)
    assert "assignment-list" not in disabled and "validate" not in disabled
