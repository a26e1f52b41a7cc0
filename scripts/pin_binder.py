"""Pin binder/environment.yml to the versions installed in this environment (run it in the tested one).

    python scripts/pin_binder.py          # rewrite the pins
    python scripts/pin_binder.py --check  # change nothing; list the pins that differ, exit 1 if any

Package names come from pyproject.toml; PyTorch's packages get the `+cpu` build of the same version.
"""
from __future__ import annotations

import argparse
import re
import tomllib
from importlib.metadata import version
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
BINDER_ENVIRONMENT = ROOT / "binder" / "environment.yml"
CPU_BUILDS = {"torch", "torchvision"}  # served by PyTorch's CPU wheel index (the --extra-index-url line)
PIN = re.compile(r"^(?P<indent>\s+- )(?P<name>[A-Za-z0-9_.-]+)==(?P<version>\S+)$", re.MULTILINE)


def course_packages() -> list[str]:
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    return [Requirement(d).name for d in dependencies]


def tested_pin(name: str) -> str:
    installed = version(name).split("+")[0]
    return f"{installed}+cpu" if name in CPU_BUILDS else installed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only list the pins that differ")
    text = BINDER_ENVIRONMENT.read_text()
    pinned = {m["name"]: m["version"] for m in PIN.finditer(text)}
    wanted = {name: tested_pin(name) for name in course_packages()}
    differ = {name: (pinned.get(name), pin) for name, pin in wanted.items() if pinned.get(name) != pin}
    if parser.parse_args().check:
        for name, (old, new) in differ.items():
            print(f"{name}: binder pins {old}, this environment has {new}")
        raise SystemExit(1 if differ else 0)
    missing = set(wanted) - set(pinned)
    if missing:
        raise SystemExit(f"add these packages to {BINDER_ENVIRONMENT.name} first: {sorted(missing)}")
    repinned = PIN.sub(lambda m: f"{m['indent']}{m['name']}=={wanted.get(m['name'], m['version'])}", text)
    BINDER_ENVIRONMENT.write_text(repinned)
    print(f"{BINDER_ENVIRONMENT.relative_to(ROOT)}: {len(differ)} pin(s) changed")


if __name__ == "__main__":
    main()
