"""Binder, reproduced as closely as this machine allows, then the student's browser checks against it.

repo2docker builds the image from binder/: it installs environment.yml (conda, whose `pip:` section it hands to
pip as a requirements file), runs binder/postBuild from the repository root, and starts every session's server
through binder/start (its default command is `jupyter notebook`; the README badge's `urlpath` opens the landing
page in JupyterLab). Here: a fresh virtual environment with this interpreter, the same `pip:` lines installed
by pip, postBuild run in it, and `binder/start jupyter notebook` serving a copy of the course.

Not reproduced: conda itself (the Python, pip and the base Jupyter packages repo2docker puts under the pip
lines), the Docker image, the 2 GB memory limit. When PyTorch's CPU wheel index cannot be reached, the same
PyTorch releases come from PyPI instead (their default build), and a warning says so: when this test run's own
environment already holds exactly those releases, their files are linked into the new environment rather than
unpacking the same 5 GB of wheels again; pip then installs the rest of the `pip:` lines around them.
"""
from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import psutil
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from .lab import JupyterLab
from .servers import ROOT, copy_course, jupyter_environment, start_jupyter
from .student import LANDING_PAGE, StudentChecks

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def binder_requirements(course: Path) -> list[str]:
    """The `pip:` lines of binder/environment.yml, as conda and repo2docker hand them to pip."""
    spec = yaml.safe_load((course / "binder" / "environment.yml").read_text())
    return next(d["pip"] for d in spec["dependencies"] if isinstance(d, dict) and "pip" in d)


def without_pytorch_index(requirements: list[str]) -> list[str]:
    """The same requirements with PyTorch's packages from PyPI: `torch==X+cpu` becomes `torch==X`."""
    return [re.sub(r"\+cpu$", "", line) for line in requirements if "download.pytorch.org" not in line]


def pip_install(env: Path, requirements: list[str], log: Path) -> subprocess.CompletedProcess:
    file = log.with_suffix(".txt")
    file.write_text("\n".join(requirements) + "\n")
    with open(log, "a") as out:
        return subprocess.run([str(env / "bin" / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                               "-r", str(file)], stdout=out, stderr=subprocess.STDOUT, text=True)


def runtime_closure(names: list[str]) -> dict[str, importlib.metadata.Distribution]:
    """The installed distributions `names` need at run time, themselves included (extras followed)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(canonicalize_name(name), frozenset()) for name in names]
    while todo:
        key, extras = todo.pop()
        if (key, extras) in seen:
            continue
        seen.add((key, extras))
        found[key] = dist = importlib.metadata.distribution(key)
        for requirement in map(Requirement, dist.requires or []):
            if requirement.marker is None or any(requirement.marker.evaluate({"extra": extra})
                                                 for extra in {"", *extras}):
                todo.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return found


def pinned_releases_installed_here(requirements: list[str]) -> list[str] | None:
    """The names of the pinned PyTorch packages when this interpreter has exactly those releases, else None."""
    pins = {Requirement(line).name: Requirement(line) for line in requirements if re.match(r"torch(vision)?==", line)}
    try:
        installed = {name: Version(importlib.metadata.version(name)).public for name in pins}
    except importlib.metadata.PackageNotFoundError:
        return None
    return list(pins) if all(pin.specifier.contains(installed[name]) for name, pin in pins.items()) else None


def link_distributions(dists: list[importlib.metadata.Distribution], env: Path) -> None:
    """Put these installed distributions' files (not their scripts) into `env`'s site-packages, except those
    `env` already has (pip, setuptools): hard links where the file system allows, copies elsewhere.
    Directories are the new environment's own."""
    site = Path(subprocess.run([str(env / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_path("
                                "'purelib'))"], capture_output=True, text=True, check=True).stdout.strip())
    present = {canonicalize_name(d.metadata["Name"]) for d in importlib.metadata.distributions(path=[str(site)])}
    for dist in dists:
        if canonicalize_name(dist.metadata["Name"]) in present:
            continue
        for entry in dist.files or []:
            if entry.parts[0] == "..":
                continue
            source, target = Path(dist.locate_file(entry)), site / entry
            if not source.is_file():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(source, target)
            except OSError:
                shutil.copy2(source, target)


def build_binder_environment(course: Path, env: Path, log: Path) -> bool:
    """Create the environment Binder would; True when PyTorch came from its CPU index (as on Binder)."""
    subprocess.run([sys.executable, "-m", "venv", str(env)], check=True)
    requirements = binder_requirements(course)
    if pip_install(env, requirements, log).returncode == 0:
        return True
    fallback = without_pytorch_index(requirements)
    warnings.warn("binder/environment.yml did not install as written (is PyTorch's CPU wheel index reachable?); "
                  f"installed the same releases from PyPI instead: {[r for r in fallback if r not in requirements]}",
                  stacklevel=1)
    pytorch = pinned_releases_installed_here(fallback)
    if pytorch:
        link_distributions(list(runtime_closure(pytorch).values()), env)
    result = pip_install(env, fallback, log)
    assert result.returncode == 0, f"binder's packages do not install:\n{log.read_text()[-4000:]}"
    return False


def in_environment(env: Path, home: Path) -> dict[str, str]:
    """What a process in the image sees: the environment's programs first, nothing of this test run's venv."""
    base = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    path = [p for p in base.get("PATH", "").split(os.pathsep) if not p.startswith(sys.prefix)]
    base["PATH"] = os.pathsep.join([str(env / "bin"), *path])
    return jupyter_environment(home, base)


class TestBinder(StudentChecks):
    @pytest.fixture(scope="class")
    @classmethod
    def lab_server(cls, tmp_path_factory):
        work = tmp_path_factory.mktemp("binder")
        course, env, home = copy_course(work / "course"), work / "env", work / "home"
        home.mkdir()
        start = time.monotonic()
        cpu_build = build_binder_environment(course, env, work / "pip.log")
        environment = in_environment(env, home)
        subprocess.run(["bash", "binder/postBuild"], cwd=course, env=environment, check=True,
                       stdout=subprocess.DEVNULL)
        print(f"Binder environment built in {time.monotonic() - start:.0f} s")
        cuda = subprocess.run([str(env / "bin" / "python"), "-c", "import torch; print(torch.version.cuda)"],
                              capture_output=True, text=True, check=True).stdout.strip()
        assert cuda == "None" or not cpu_build, f"binder installed a CUDA build of PyTorch ({cuda})"
        server = start_jupyter([str(course / "binder" / "start"), "jupyter", "notebook"], cwd=course, home=home,
                               env=environment)
        try:
            command = psutil.Process(server.process.pid).cmdline()
            assert command[0].startswith(str(env)), f"the server is not Binder's: {command}"
            yield server
        finally:
            server.stop()

    def landing_url(self, lab: JupyterLab) -> str:
        """Where the README's Binder badge sends the browser: its `urlpath` on the session's server."""
        badge = re.search(r"https://mybinder\.org/v2/gh/\S+?urlpath=([^)\s&]+)", (ROOT / "README.md").read_text())
        assert badge, "README.md has no Binder badge with a urlpath"
        assert badge.group(1) == f"lab/tree/{LANDING_PAGE}"
        return lab.server.url(badge.group(1))
