"""Export the student-facing course: what Binder and students get, without anything that grades.

    ./course publish DIR        (or: python -m course_grading publish DIR)

Instructors keep this repository (solutions, judges, wrong answers, grading internals) private and
publish DIR instead. The export holds the lecture notebooks, the released assignments, `course_utils`
(with the visible-test helpers the assignments import), `binder/`, the JupyterLab layouts, the environment
files, the `course` script, the landing page and a README for students. It never holds `solutions/`, judges,
`tests/`, `course_grading/`, `scripts/` or Jupytext sources; `check_export` proves that no solution or judge text
reached it.
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILES = ["environment.yml", "course", "START_HERE.ipynb"]
FOLDERS = ["assignments", "course_utils", "binder", "jupyter_config"]
# jupyter_config/hub/ configures the hub's servers (nbgrader's exchange): it belongs to the deployment, not to students.
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "*.pct.py", "judge.py", "hub")
SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def student_readme(root: Path) -> str:
    """The README students read: how to start, and every lecture and assignment in order."""
    lectures = sorted(p.name for p in (root / "lectures").glob("*.ipynb"))
    assignments = {p.name.split("_")[0]: p.name for p in sorted((root / "assignments").iterdir()) if p.is_dir()}
    rows = ["| # | Lecture | Assignment |", "|---|---|---|"]
    for name in lectures:
        number = name.split("_")[0]
        assignment = assignments.get(number)
        link = f"[{assignment}](assignments/{assignment}/)" if assignment else "—"
        rows.append(f"| {number} | [{name.removesuffix('.ipynb')}](lectures/{name}) | {link} |")
    template = (root / "binder" / "README.students.md").read_text()
    return template.replace("<!-- lectures -->", "\n".join(rows))


def student_pyproject(root: Path) -> str:
    """pyproject.toml with the course_utils package only (the grading package is not exported)."""
    text = (root / "pyproject.toml").read_text()
    text, count = re.subn(r'packages = \[[^\]]*\]', 'packages = ["course_utils"]', text)
    if count != 1:
        raise ValueError("pyproject.toml: expected one `packages = [...]` line under [tool.setuptools]")
    return text


def publish(destination: Path, root: Path = ROOT) -> Path:
    """Write the student course into `destination` (which must not exist or be empty); return it."""
    destination = Path(destination)
    if destination.exists() and any(destination.iterdir()):
        raise FileExistsError(f"{destination} is not empty")
    destination.mkdir(parents=True, exist_ok=True)
    (destination / "lectures").mkdir()
    for notebook in sorted((root / "lectures").glob("*.ipynb")):
        shutil.copy2(notebook, destination / "lectures" / notebook.name)
    for folder in FOLDERS:
        shutil.copytree(root / folder, destination / folder, ignore=SKIP)
    for name in FILES:
        if (root / name).exists():
            shutil.copy2(root / name, destination / name)
    (destination / "binder" / "README.students.md").unlink()
    (destination / "README.md").write_text(student_readme(root))
    (destination / "pyproject.toml").write_text(student_pyproject(root))
    (destination / ".gitignore").write_text(".venv\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n.cache/\n")
    check_export(destination, root)
    return destination


def secret_lines(root: Path = ROOT) -> set[str]:
    """Distinctive lines of every reference answer and judge, except those the instructor notebooks show
    outside their answers (instructions, visible tests) or course_utils holds: none of these may appear
    in a released assignment, a lecture, or anything else exported."""
    secret, shown = set(), []
    for source in (root / "solutions").glob("*/*.pct.py"):
        text = source.read_text()
        for region in SOLUTION_REGION.findall(text):
            secret |= {line.strip() for line in region.splitlines()}
        shown.append(SOLUTION_REGION.sub("", text))
    for judge in (root / "solutions").glob("*/judge.py"):
        secret |= {line.strip() for line in judge.read_text().splitlines()}
    shown += [module.read_text() for module in (root / "course_utils").rglob("*.py")]
    public = "\n".join(shown)
    return {line for line in secret if len(line) >= 25 and not line.startswith("#") and line not in public}


def check_export(destination: Path, root: Path = ROOT) -> None:
    """Raise if anything that grades, or any line of a reference answer or judge, is in the export."""
    forbidden = [p for p in destination.rglob("*") if p.name in ("solutions", "tests", "course_grading", "scripts",
                                                                  "judge.py", "wrong_answers") or p.suffix == ".py"
                 and p.name.endswith(".pct.py")]
    if forbidden:
        raise RuntimeError(f"the export contains {forbidden[0]}")
    lines = secret_lines(root)
    for path in destination.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            leaked = [line for line in lines if line in text]
            if leaked:
                raise RuntimeError(f"{path} contains solution or judge text: {leaked[0]!r}")
