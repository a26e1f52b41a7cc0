"""Run a grading kernel inside a bubblewrap sandbox: no network, no course files, resource limits.

The kernel spec `course-sandbox` (installed by `install_kernelspec`) starts

    python -m course_grading.sandbox {connection_file}

which re-executes itself inside `bwrap` with only these paths visible: the Python installation and
its packages (read-only), the data cache (read-only), the submission's own folder (read-write), and
the kernel's connection files. It runs as `nobody` in fresh user, network, PID and IPC namespaces,
with CPU-time, memory, file-size and process limits, and caps how much a cell may print.
"""
from __future__ import annotations

import json
import os
import resource
import shutil
import sys
from pathlib import Path

KERNEL_NAME = "course-sandbox"
SANDBOX_ENV = "COURSE_GRADING_SANDBOX"  # "off": grade without bwrap (loudly); default: require it
LIMITS = {  # per kernel; generous for the course's notebooks on a CPU
    resource.RLIMIT_CPU: 900,  # seconds of CPU time (all threads): ends runaway loops
    resource.RLIMIT_AS: 8 * 2**30,  # bytes of address space: ends memory bombs
    resource.RLIMIT_FSIZE: 256 * 2**20,  # bytes per file written
    resource.RLIMIT_NPROC: 512,  # processes and threads of the sandbox user
}
MAX_OUTPUT_CHARS = 200_000  # per stream per cell; the rest is dropped with a note


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing and unsandboxed grading was not explicitly allowed."""


def sandbox_disabled() -> bool:
    return os.environ.get(SANDBOX_ENV, "").strip().lower() == "off"


def require_sandbox() -> None:
    """Fail clearly when grading cannot be isolated, unless the instructor opted out (loudly)."""
    if sandbox_disabled():
        print(f"WARNING: {SANDBOX_ENV}=off — submissions run WITHOUT isolation: they can read the course "
              "files and the network. Use this only to grade trusted notebooks.", file=sys.stderr, flush=True)
    elif shutil.which("bwrap") is None:
        raise SandboxUnavailable(
            "Autograding needs bubblewrap (`bwrap`) to isolate submissions, and it is not installed. Install it "
            "(Debian/Ubuntu: apt-get install bubblewrap; Fedora: dnf install bubblewrap), or set "
            f"{SANDBOX_ENV}=off to grade without isolation (not for untrusted submissions).")


def install_kernelspec(prefix: str = sys.prefix) -> Path:
    """Write the `course-sandbox` kernel spec into this environment (idempotent)."""
    folder = Path(prefix) / "share" / "jupyter" / "kernels" / KERNEL_NAME
    folder.mkdir(parents=True, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "course_grading.sandbox", "{connection_file}"],
            "display_name": "Python 3 (grading sandbox)", "language": "python",
            # signals from outside do not reach into the sandbox's session: interrupt over the control channel
            "interrupt_mode": "message", "metadata": {"debugger": False}}
    (folder / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return folder


def _package_dirs() -> list[str]:
    """Folders of the course's own packages (installed in editable mode, outside site-packages)."""
    from importlib.util import find_spec
    return [str(Path(find_spec(name).origin).resolve().parent) for name in ("course_utils", "course_grading")]


def _readonly_paths() -> list[str]:
    from course_utils.paths import data_root, mirror_dir  # light: no torch import in the launcher
    paths = ["/usr", "/etc", sys.base_prefix, sys.prefix, os.path.dirname(os.path.realpath(sys.executable)),
             *_package_dirs(), str(data_root())] + ([str(mirror_dir())] if mirror_dir() else [])
    return sorted({p for p in paths if os.path.exists(p)})


def bwrap_command(connection_file: str, workdir: str) -> list[str]:
    """The bwrap argv that starts the limited kernel on `connection_file` with `workdir` writable."""
    runtime = os.path.dirname(os.path.abspath(connection_file))
    argv = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--uid", "65534", "--gid", "65534",
            "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp", "--setenv", "HOME", "/tmp",
            "--setenv", "MPLCONFIGDIR", "/tmp", "--unsetenv", "JPY_SESSION_NAME",
            "--unsetenv", "JPY_PARENT_PID"]  # its PID is not visible here; --die-with-parent does the job
    for name in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink(f"/{name}"):
            argv += ["--symlink", os.readlink(f"/{name}"), f"/{name}"]
        elif os.path.isdir(f"/{name}"):
            argv += ["--ro-bind", f"/{name}", f"/{name}"]
    for path in _readonly_paths():
        argv += ["--ro-bind", path, path]
    argv += ["--bind", runtime, runtime, "--bind", workdir, workdir, "--chdir", workdir]
    return argv + [sys.executable, "-m", "course_grading.sandbox", "--inside", connection_file]


def _cap_output() -> None:
    """Stop a cell that prints without end from flooding the grader: keep the first MAX_OUTPUT_CHARS."""
    from ipykernel.iostream import OutStream
    original_write = OutStream.write

    def write(self, text: str) -> int:
        parent = getattr(self, "parent_header", {}).get("msg_id")
        if getattr(self, "_course_cell", None) != parent:
            self._course_cell, self._course_written = parent, 0
        room = MAX_OUTPUT_CHARS - self._course_written
        self._course_written += len(text)
        if room <= 0:
            return len(text)
        if len(text) > room:
            text = text[:room] + f"\n[output truncated after {MAX_OUTPUT_CHARS:,} characters]\n"
        return original_write(self, text)

    OutStream.write = write


def _run_kernel(connection_file: str, kernel_args: list[str]) -> None:
    for limit, value in LIMITS.items():
        resource.setrlimit(limit, (value, value))
    _cap_output()
    from ipykernel.kernelapp import launch_new_instance
    sys.argv = [sys.argv[0], "-f", connection_file, *kernel_args]
    launch_new_instance()


def main(argv: list[str]) -> None:
    """`{connection_file} [kernel args]` from the kernel spec; `--inside ...` once inside bwrap."""
    if argv[:1] == ["--inside"]:
        _run_kernel(argv[1], argv[2:])
    elif sandbox_disabled() or shutil.which("bwrap") is None:
        require_sandbox()  # raises unless explicitly disabled
        _run_kernel(argv[0], argv[1:])
    else:
        command = bwrap_command(argv[0], os.getcwd()) + argv[1:]
        os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
