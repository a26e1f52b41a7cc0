"""pyproject.toml, environment.yml and binder/ install the same packages; Binder gives students their layout."""
from __future__ import annotations

import json
import re
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTORCH_CPU_INDEX = "--extra-index-url=https://download.pytorch.org/whl/cpu"


sys.path.insert(0, str(ROOT / "scripts"))
import environments  # noqa: E402  (scripts/ is not a package)


def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def conda_pip_requirements(path: Path) -> list[str]:
    spec = yaml.safe_load(path.read_text())
    pip_sections = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, f"{path} has one pip section"
    return pip_sections[0]


def test_generated_environment_files_are_up_to_date():
    assert environments.stale() == [], "run `./course build` (or python scripts/environments.py) and commit"


def test_package_imports_need_no_jupyter_or_grading_tools():
    """course_utils' own dependencies leave JupyterLab, nbgrader and Jupytext to the extras."""
    names = {Requirement(r).name for r in pyproject()["project"]["dependencies"]}
    assert names.isdisjoint({"jupyterlab", "notebook", "nbgrader", "jupytext", "pytest"}), names
    extras = pyproject()["project"]["optional-dependencies"]
    assert {"jupyterlab", "nbgrader"} <= {Requirement(r).name for r in extras["lab"]}
    assert {"nbgrader", "jupytext"} <= {Requirement(r).name for r in extras["grading"]}
    assert "course-utils[lab,grading]" in extras["test"]


def test_conda_environment_has_the_course_with_its_lab_and_grading_extras():
    expected = {Requirement(r).name for r in pyproject()["project"]["dependencies"]}
    for extra in ("lab", "grading"):
        expected |= {Requirement(r).name for r in pyproject()["project"]["optional-dependencies"][extra]}
    expected.discard("course-utils")
    assert {Requirement(r).name for r in conda_pip_requirements(ROOT / "environment.yml")} == expected


def binder_pins() -> dict[str, str]:
    """name -> pinned version of every package in binder/environment.yml (option lines left out)."""
    pins = {}
    for line in conda_pip_requirements(ROOT / "binder" / "environment.yml"):
        if line.startswith("--"):
            continue
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"binder pins exact versions: {line}"
        pins[requirement.name] = specifier.version
    return pins


def test_binder_pins_what_students_need_at_versions_pyproject_allows():
    student = environments.requirements("lab")
    required = {Requirement(r).name: Requirement(r).specifier for r in student}
    pins = binder_pins()
    assert set(pins) == set(required)
    for name, pin in pins.items():
        assert Version(pin).public in required[name], f"binder pins {name}=={pin}, pyproject wants {required[name]}"


def test_binder_installs_cpu_only_pytorch_from_its_wheel_index():
    assert PYTORCH_CPU_INDEX in conda_pip_requirements(ROOT / "binder" / "environment.yml")
    pins = binder_pins()
    assert Version(pins["torch"]).local == "cpu" and Version(pins["torchvision"]).local == "cpu"


def test_pinning_rewrites_only_the_pins_table(tmp_path, monkeypatch):
    """`--pin` takes this environment's versions into pyproject.toml's pins table and keeps the rest."""
    copy = tmp_path / "pyproject.toml"
    original = (ROOT / "pyproject.toml").read_text()
    copy.write_text(original.replace('numpy = "', 'numpy = "0.0.1-'))
    monkeypatch.setattr(environments, "PYPROJECT", copy)
    environments.repin()
    pinned = tomllib.loads(copy.read_text())
    assert pinned["tool"]["course"]["binder"]["pins"]["numpy"] == environments.tested_pin("numpy")
    assert pinned["project"] == tomllib.loads(original)["project"]


def test_both_conda_files_pin_the_same_python():
    pythons = [next(d for d in yaml.safe_load(p.read_text())["dependencies"] if str(d).startswith("python"))
               for p in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml")]
    assert pythons[0] == pythons[1]


def test_binder_installs_the_course_and_starts_jupyter_with_the_student_layout():
    assert "pip install --no-deps -e ." in (ROOT / "binder" / "postBuild").read_text()
    start = (ROOT / "binder" / "start").read_text()
    assert "jupyter_config/student" in start and 'exec "$@"' in start
    assert 'jupyter_config/$layout' in (ROOT / "course").read_text()


def test_student_layout_hides_instructor_tools_but_keeps_validate():
    layout = ROOT / "jupyter_config" / "student"
    disabled = json.loads((layout / "labconfig" / "page_config.json").read_text())["disabledExtensions"]
    for plugin in ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
                   "@jupyter/nbgrader:course-list", "@jupyterlab/apputils-extension:announcements"):
        assert disabled[plugin] is True, plugin
    assert not disabled.get("@jupyter/nbgrader:validate-assignment")
    server = json.loads((layout / "jupyter_server_config.json").read_text())
    extensions = server["ServerApp"]["jpserver_extensions"]
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert extensions["nbgrader.server_extensions.validate_assignment"] is True
    assert "*.pct.py" in server["ContentsManager"]["hide_globs"]


def test_instructor_layout_turns_on_what_the_student_layout_turns_off():
    student, instructor = (json.loads((ROOT / "jupyter_config" / layout / "labconfig" / "page_config.json")
                                      .read_text())["disabledExtensions"] for layout in ("student", "instructor"))
    off_for_everyone = {"@jupyterlab/apputils-extension:announcements"}
    for plugin, off in student.items():
        if off and plugin not in off_for_everyone:
            assert instructor.get(plugin) is False, plugin
    assert all(instructor[plugin] for plugin in off_for_everyone)


def test_readme_binder_badge_opens_the_landing_page_in_jupyterlab():
    badge = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]+\)", (ROOT / "README.md").read_text())
    assert badge and "urlpath=lab/tree/START_HERE.ipynb" in badge.group(0)
    assert (ROOT / "START_HERE.ipynb").exists()
