"""Start a grading kernel inside a bubblewrap sandbox: no network, no course files, a cleared
environment, and limits on memory, CPU time, file size and processes.

The kernel spec `course-sandbox` (installed by `install_kernelspec`) runs

    <python> -I -m course_grading.sandbox {connection_file}

in the submission's folder. `-I` (isolated mode) keeps that folder and PYTHON* variables out of the
launcher's imports, so nothing a student ships is imported outside the sandbox. The launcher joins
the memory cgroup the grader made for this kernel (when the machine has cgroups), then replaces
itself with `bwrap`, which starts the kernel (`inside.py`) as `nobody` in new user, PID, IPC and
network namespaces, from an empty environment plus an allow-list, seeing only: the Python
installation and `course_utils` (read-only), the data cache (read-only), the submission's folder
(read-write) and the kernel's private IPC folder. The grading package itself, the judges and the
gradebook are not there.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

KERNEL_NAME = "course-sandbox"
SANDBOX_ENV = "COURSE_GRADING_SANDBOX"  # "off": grade without bwrap (loudly); default: require it
CGROUP_ENV = "COURSE_SANDBOX_CGROUP"  # set by the grader for the launcher: the memory cgroup to join
MEMORY_ENV = "COURSE_GRADING_MEMORY_GIB"  # memory per grading kernel (default below)
DEFAULT_MEMORY_GIB = 6.0
INSIDE = Path(__file__).with_name("inside.py")
INSIDE_AT = "/course-sandbox/inside.py"  # where the kernel starter appears inside the sandbox
PASSED_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "TZ", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
              "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "COURSE_DATA_DIR", "COURSE_DATA_MIRROR", "COURSE_DEVICE")
FIXED_ENV = {"HOME": "/tmp", "MPLCONFIGDIR": "/tmp", "XDG_CACHE_HOME": "/tmp/.cache", "COURSE_WIDGETS": "static",
             "PYTHONNOUSERSITE": "1"}


class SandboxUnavailable(RuntimeError):
    """Submissions cannot be isolated here, and unsandboxed grading was not explicitly allowed."""


def sandbox_disabled() -> bool:
    return os.environ.get(SANDBOX_ENV, "").strip().lower() == "off"


def memory_limit() -> int:
    return int(float(os.environ.get(MEMORY_ENV) or DEFAULT_MEMORY_GIB) * 2**30)


_checked: list[bool] = []


def require_sandbox() -> None:
    """Fail once, clearly, when grading cannot be isolated (unless the instructor opted out, loudly)."""
    if sandbox_disabled():
        print(f"WARNING: {SANDBOX_ENV}=off — submissions run WITHOUT isolation: they can read the course "
              "files and the network. Use this only to grade trusted notebooks.", file=sys.stderr, flush=True)
        return
    if _checked:
        return
    if shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "Autograding needs bubblewrap (`bwrap`) to isolate submissions, and it is not installed. Install it "
            "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or set "
            f"{SANDBOX_ENV}=off to grade without isolation (not for untrusted submissions).")
    probe = subprocess.run(["bwrap", "--unshare-all", "--uid", "65534", "--gid", "65534", "--ro-bind", "/", "/",
                            "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        raise SandboxUnavailable(
            "bubblewrap is installed but cannot create the sandbox's namespaces on this machine "
            f"({probe.stderr.strip() or 'exit code ' + str(probe.returncode)}). Unprivileged user namespaces "
            "are probably disabled: enable them (Debian: sysctl kernel.unprivileged_userns_clone=1; Ubuntu 24.04: "
            "sysctl kernel.apparmor_restrict_unprivileged_userns=0, or an AppArmor profile for bwrap; in a "
            "container: run it with user namespaces allowed), then grade again. Nothing was graded.")
    _checked.append(True)


def install_kernelspec(prefix: str = sys.prefix) -> Path:
    """Write the `course-sandbox` kernel spec into this environment (idempotent)."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-I", "-m", "course_grading.sandbox", "{connection_file}"],
            "display_name": "Python 3 (grading sandbox)", "language": "python",
            # signals from outside do not reach into the sandbox's session: interrupt over the control channel
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def _readonly_paths() -> list[str]:
    from importlib.util import find_spec

    from course_utils.paths import data_root, mirror_dir  # light: no torch import in the launcher
    course_utils = str(Path(find_spec("course_utils").origin).resolve().parent)
    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)),
             course_utils, str(data_root())] + ([str(mirror_dir())] if mirror_dir() else [])
    return sorted({p for p in paths if os.path.exists(p)})


def sandbox_environment(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The kernel's whole environment: an allow-list of the grader's, plus fixed values."""
    environ = os.environ if environ is None else environ
    path = f"{os.path.dirname(sys.executable)}:/usr/local/bin:/usr/bin:/bin"
    return {"PATH": path, **{k: environ[k] for k in PASSED_ENV if k in environ}, **FIXED_ENV}


def bwrap_command(connection_file: str, workdir: str, memory_rlimit: int) -> list[str]:
    """The bwrap argv that starts the limited kernel on `connection_file` with `workdir` writable."""
    runtime = os.path.dirname(os.path.abspath(connection_file))
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534",
            "--clearenv", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    for name, value in sandbox_environment().items():
        argv += ["--setenv", name, value]
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            argv += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            argv += ["--ro-bind", f"/{name}", f"/{name}"]
    for path in _readonly_paths():
        argv += ["--ro-bind", path, path]
    argv += ["--ro-bind", str(INSIDE), INSIDE_AT, "--bind", runtime, runtime, "--bind", workdir, workdir,
             "--chdir", workdir]
    return argv + [sys.executable, "-I", INSIDE_AT, str(memory_rlimit), connection_file]


@dataclass
class MemoryGroup:
    """A cgroup that limits one grading kernel's memory (v2 or v1), where the machine lets us make one."""
    path: Path | None

    @classmethod
    def create(cls, limit: int | None = None) -> MemoryGroup:
        limit = memory_limit() if limit is None else limit
        for parent, limit_file in _cgroup_parents():
            folder = parent / f"course-grading-{uuid.uuid4().hex[:12]}"
            try:
                folder.mkdir()
            except OSError:
                continue
            try:
                (folder / limit_file).write_text(str(limit))
                return cls(folder)
            except OSError:
                folder.rmdir()
        return cls(None)

    def remove(self) -> None:
        if self.path is None:
            return
        import time
        for _ in range(50):  # the kernel's processes take a moment to leave after shutdown
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.1)


def _cgroup_parents() -> list[tuple[Path, str]]:
    """Where this process may create a memory cgroup: (folder, the limit file's name)."""
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "" and Path("/sys/fs/cgroup/cgroup.controllers").exists():
            folder = Path("/sys/fs/cgroup") / path.lstrip("/")
            try:
                if "memory" in (folder / "cgroup.subtree_control").read_text().split():
                    found.append((folder, "memory.max"))
            except OSError:
                continue
        elif "memory" in controllers.split(","):
            found.append((Path("/sys/fs/cgroup/memory") / path.lstrip("/"), "memory.limit_in_bytes"))
    return found


def _join_cgroup() -> bool:
    """Move this launcher into the grader's memory cgroup (its children, the kernel, inherit it)."""
    folder = os.environ.get(CGROUP_ENV)
    if not folder:
        return False
    try:
        Path(folder, "cgroup.procs").write_text(str(os.getpid()))
        return True
    except OSError as error:
        print(f"warning: could not join the memory cgroup {folder} ({error}); falling back to RLIMIT_AS",
              file=sys.stderr)
        return False


def main(argv: list[str]) -> None:
    """`{connection_file} [kernel args]` from the kernel spec."""
    memory_rlimit = 0 if _join_cgroup() else memory_limit() + 2 * 2**30  # address space > resident memory
    if sandbox_disabled():
        require_sandbox()
        os.execv(sys.executable, [sys.executable, "-I", str(INSIDE), str(memory_rlimit), *argv])
    require_sandbox()
    command = bwrap_command(argv[0], os.getcwd(), memory_rlimit) + argv[1:]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
