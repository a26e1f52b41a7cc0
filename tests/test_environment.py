"""pyproject.toml, environment.yml and binder/ install the same packages; Binder gives students their layout."""
from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYTORCH_CPU_INDEX = "--extra-index-url=https://download.pytorch.org/whl/cpu"


def pyproject_requirements() -> set[str]:
    return set(tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"])


def conda_pip_requirements(path: Path) -> set[str]:
    spec = yaml.safe_load(path.read_text())
    pip_sections = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1, f"{path} has one pip section"
    return set(pip_sections[0])


def test_conda_environment_matches_pyproject():
    assert conda_pip_requirements(ROOT / "environment.yml") == pyproject_requirements()


def binder_pins() -> dict[str, str]:
    """name -> pinned version of every package in binder/environment.yml (option lines left out)."""
    lines = conda_pip_requirements(ROOT / "binder" / "environment.yml")
    pins = {}
    for line in lines - {PYTORCH_CPU_INDEX}:
        requirement = Requirement(line)
        (specifier,) = requirement.specifier
        assert specifier.operator == "==", f"binder pins exact versions: {line}"
        pins[requirement.name] = specifier.version
    return pins


def test_binder_pins_every_package_of_pyproject_at_a_version_it_allows():
    required = {Requirement(r).name: Requirement(r).specifier for r in pyproject_requirements()}
    pins = binder_pins()
    assert set(pins) == set(required)
    for name, pin in pins.items():
        assert Version(pin).public in required[name], f"binder pins {name}=={pin}, pyproject wants {required[name]}"


def test_binder_installs_cpu_only_pytorch_from_its_wheel_index():
    assert PYTORCH_CPU_INDEX in conda_pip_requirements(ROOT / "binder" / "environment.yml")
    pins = binder_pins()
    assert Version(pins["torch"]).local == "cpu" and Version(pins["torchvision"]).local == "cpu"


def test_pin_script_reads_the_pins_it_writes():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "pin_binder.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result.stderr
    named = {line.split(":")[0] for line in result.stdout.splitlines()}
    assert named <= set(binder_pins()), named


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
