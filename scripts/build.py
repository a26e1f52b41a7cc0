"""Rebuild every notebook from its Jupytext source and regenerate the student release.

    python scripts/build.py          # write lectures/*.ipynb, solutions/*/*.ipynb, assignments/, START_HERE.ipynb,
                                     # environment.yml and binder/environment.yml
    python scripts/build.py --check  # change nothing; fail if anything committed is out of date

The `.pct.py` files are the reviewable sources. Each `.ipynb` is generated from one with stable
cell ids and no outputs; `assignments/` is what `nbgrader generate_assignment` makes of `solutions/`;
START_HERE.ipynb, the students' landing page, lists every lecture and assignment (scripts/landing_page.py);
the conda and Binder environments are written from pyproject.toml (scripts/environments.py).
"""
from __future__ import annotations

import argparse
import filecmp
import shutil
import tempfile
from pathlib import Path

import jupytext
import nbformat

import environments
from course_grading.course import run_nbgrader, scratch_course
from landing_page import NOTEBOOK as LANDING_PAGE
from landing_page import write_landing_page

ROOT = Path(__file__).resolve().parents[1]
RELEASE_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")


def notebook_sources(root: Path = ROOT) -> list[Path]:
    """Every Jupytext source of a lecture or an instructor notebook."""
    return sorted([*root.glob("lectures/*.pct.py"), *root.glob("solutions/*/*.pct.py")])


def notebook_from_source(source: Path) -> nbformat.NotebookNode:
    """The notebook a `.pct.py` source describes, with cell ids that do not change between builds."""
    nb = jupytext.read(source)
    for index, cell in enumerate(nb.cells):
        cell.id = f"cell-{index:03d}"
    return nb


def write_notebooks(out_root: Path) -> None:
    for source in notebook_sources():
        target = out_root / source.relative_to(ROOT).with_name(source.name.removesuffix(".pct.py") + ".ipynb")
        target.parent.mkdir(parents=True, exist_ok=True)
        jupytext.write(notebook_from_source(source), target, fmt="ipynb")


def generate_release(out_root: Path) -> Path:
    """Run `nbgrader generate_assignment` for every assignment in a scratch course; return its release dir."""
    scratch = scratch_course(Path(tempfile.mkdtemp(prefix="course-release-")), ROOT, out_root / "solutions")
    for assignment in sorted(p.name for p in (scratch / "solutions").iterdir() if p.is_dir()):
        run_nbgrader(scratch, "generate_assignment", assignment, "--force", "--log-level=WARN", check=True)
    for notebook in (scratch / "assignments").glob("*/*.ipynb"):
        nb = nbformat.read(notebook, as_version=4)
        nb.metadata.pop("jupytext", None)  # students edit the notebook itself; no paired text file
        nbformat.write(nb, notebook)
    return scratch / "assignments"


def check_no_leak(release: Path) -> None:
    for path in release.rglob("*"):
        if path.is_file() and any(marker in path.read_text(errors="ignore") for marker in RELEASE_MARKERS):
            raise SystemExit(f"Solution or hidden-test text leaked into the release: {path}")


def build(out_root: Path) -> None:
    """Write all generated files under `out_root` (the repository itself, or a scratch copy)."""
    write_notebooks(out_root)
    release = generate_release(out_root)
    check_no_leak(release)
    shutil.rmtree(out_root / "assignments", ignore_errors=True)
    shutil.copytree(release, out_root / "assignments")
    shutil.rmtree(release.parent)
    write_landing_page(ROOT, out_root)
    environments.write(out_root)


def generated_files(root: Path) -> set[Path]:
    notebooks = {p.relative_to(root) for p in root.glob("lectures/*.ipynb")}
    notebooks |= {p.relative_to(root) for p in root.glob("solutions/*/*.ipynb")}
    notebooks |= {p.relative_to(root) for p in root.glob(LANDING_PAGE)}
    notebooks |= {environments.CONDA, environments.BINDER}
    return notebooks | {p.relative_to(root) for p in root.glob("assignments/**/*") if p.is_file()}


def stale_files() -> list[str]:
    """Generated files whose committed copy differs from a fresh build (or is missing or extra)."""
    with tempfile.TemporaryDirectory(prefix="course-check-") as tmp:
        fresh = Path(tmp)
        shutil.copytree(ROOT / "solutions", fresh / "solutions")
        build(fresh)
        expected, present = generated_files(fresh), generated_files(ROOT)
        differ = [p for p in expected & present if not filecmp.cmp(fresh / p, ROOT / p, shallow=False)]
        return sorted(str(p) for p in (expected ^ present) | set(differ))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="fail if any generated file is out of date")
    if parser.parse_args().check:
        stale = stale_files()
        if stale:
            raise SystemExit("Out of date (run `./course build` and commit):\n  " + "\n  ".join(stale))
        print("All notebooks and the release are up to date.")
    else:
        build(ROOT)
        print(f"Rebuilt notebooks, assignments/ and {LANDING_PAGE}.")


if __name__ == "__main__":
    main()
