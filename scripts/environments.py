"""Write environment.yml and binder/environment.yml from pyproject.toml, the one list of dependencies.

    python scripts/environments.py          # write both files (`./course build` does this too)
    python scripts/environments.py --check  # change nothing; exit 1 if either file is out of date
    python scripts/environments.py --pin    # set Binder's pins to this (tested) environment's versions

environment.yml (conda) installs the course with the `lab` and `grading` extras, at pyproject's ranges.
binder/environment.yml installs what students need (the course and the `lab` extra) at exact versions,
the pins in `[tool.course.binder.pins]`; PyTorch's packages come as CPU-only builds from PyTorch's index.
"""
from __future__ import annotations

import argparse
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
CONDA, BINDER = Path("environment.yml"), Path("binder/environment.yml")
CPU_BUILDS = {"torch", "torchvision"}

CONDA_HEADER = """\
# Generated from pyproject.toml by scripts/environments.py (`./course build`); do not edit by hand.
# Conda environment for the whole course (lectures, assignments, nbgrader and the build tools):
#   conda env create -f environment.yml && conda activate dl-course && pip install --no-deps -e .
"""
BINDER_HEADER = """\
# Generated from pyproject.toml by scripts/environments.py (`./course build`); do not edit by hand.
# Binder (repo2docker) environment for students: the course and its `lab` extra, pinned to the versions CI
# installs from this file and tests in a browser (`python scripts/environments.py --pin` takes the pins from
# a tested environment). PyTorch is the CPU-only build from PyTorch's own wheel index: Binder pods have no GPU,
# and the default Linux wheels bring several GB of CUDA libraries into the image for nothing.
"""


def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())


def requirements(*extras: str, spec: dict | None = None) -> list[str]:
    """The course's own dependencies plus those of `extras`, each package once, in pyproject's order."""
    spec = spec or project()
    lines = list(spec["project"]["dependencies"])
    for extra in extras:
        lines += [r for r in spec["project"]["optional-dependencies"][extra] if not r.startswith("course-utils")]
    unique: dict[str, str] = {}
    for line in lines:
        unique.setdefault(Requirement(line).name, line)
    return list(unique.values())


def conda_file(header: str, python: str, pip_lines: list[str]) -> str:
    pip = "".join(f"      - {line}\n" for line in pip_lines)
    return (f"{header}name: dl-course\nchannels:\n  - conda-forge\ndependencies:\n"
            f"  - python={python}\n  - pip\n  - pip:\n{pip}")


def rendered(spec: dict | None = None) -> dict[Path, str]:
    """path -> the text each generated environment file must have."""
    spec = spec or project()
    course = spec["tool"]["course"]
    binder = course["binder"]
    student = [Requirement(r).name for r in requirements("lab", spec=spec)]
    missing = [name for name in student if name not in binder["pins"]]
    if missing:
        raise SystemExit(f"pyproject.toml: [tool.course.binder.pins] lacks {missing} (run with --pin)")
    pins = [f"--extra-index-url={binder['index']}", *(f"{name}=={binder['pins'][name]}" for name in student)]
    return {CONDA: conda_file(CONDA_HEADER, course["python"], requirements("lab", "grading", spec=spec)),
            BINDER: conda_file(BINDER_HEADER, course["python"], pins)}


def tested_pin(name: str) -> str:
    installed = version(name).split("+")[0]
    return f"{installed}+cpu" if name in CPU_BUILDS else installed


def repin() -> None:
    """Rewrite the `[tool.course.binder.pins]` table with this environment's versions."""
    names = [Requirement(r).name for r in requirements("lab")]
    table = "[tool.course.binder.pins]\n" + "".join(f'{name} = "{tested_pin(name)}"\n' for name in names)
    text, count = re.subn(r"\[tool\.course\.binder\.pins\]\n(?:[^\[\n][^\n]*\n)*", table, PYPROJECT.read_text())
    if count != 1:
        raise SystemExit("pyproject.toml: expected one [tool.course.binder.pins] table")
    PYPROJECT.write_text(text)


def write(root: Path = ROOT) -> None:
    for path, text in rendered().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)


def stale(root: Path = ROOT) -> list[str]:
    return [str(path) for path, text in rendered().items()
            if not (root / path).exists() or (root / path).read_text() != text]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    parser.add_argument("--pin", action="store_true", help="pin Binder to this environment's versions")
    args = parser.parse_args()
    if args.check:
        out_of_date = stale()
        print("\n".join(f"out of date: {p}" for p in out_of_date) or "environment files are up to date")
        raise SystemExit(1 if out_of_date else 0)
    if args.pin:
        repin()
    write()


if __name__ == "__main__":
    main()
