"""Jupyter servers for browser tests: started on 127.0.0.1 with a random port and token, stopped by the tests.

`copy_course` makes a private copy of the course (a test may run and save notebooks without touching the
repository); `start_jupyter` runs a command that starts a Jupyter server (`./course lab`, `binder/start jupyter
lab`, a JupyterHub single-user server ...) with its user directories under `home`, waits until it answers
and returns a `JupyterServer`.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[2]
# Repository folders that are not the course itself: environments, caches, instructor-side output.
NOT_COURSE = {".git", ".venv", ".cache", ".pytest_cache", "build", "submitted", "autograded", "feedback",
              "reports", "release", "source", "exchange", "gradebook.db"}
NOT_COURSE_ANYWHERE = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints", "*.egg-info")


def copy_course(dest: Path, root: Path = ROOT) -> Path:
    """A copy of the course's files at `dest` (no environments, caches, or grading output)."""
    def ignore(folder: str, names: list[str]) -> set[str]:
        top = {n for n in names if n in NOT_COURSE} if Path(folder) == root else set()
        return top | NOT_COURSE_ANYWHERE(folder, names)
    shutil.copytree(root, dest, ignore=ignore, symlinks=True)
    return dest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def jupyter_environment(home: Path, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for a server whose Jupyter user directories (config, settings, workspaces) are in `home`.

    Nothing from the developer's own ~/.jupyter reaches the server, no earlier run's workspace is restored,
    and JupyterLab does not autosave.
    """
    env = dict(os.environ if base is None else base)
    for name in ("JUPYTER_CONFIG_PATH", "JUPYTER_PATH", "JPY_SESSION_NAME", "COURSE_WIDGETS", "JUPYTER_TOKEN"):
        env.pop(name, None)
    dirs = {"JUPYTER_CONFIG_DIR": "config", "JUPYTER_DATA_DIR": "data", "JUPYTER_RUNTIME_DIR": "runtime",
            "JUPYTERLAB_SETTINGS_DIR": "lab/user-settings", "JUPYTERLAB_WORKSPACES_DIR": "lab/workspaces",
            "IPYTHONDIR": "ipython"}
    for name, sub in dirs.items():
        (home / sub).mkdir(parents=True, exist_ok=True)
        env[name] = str(home / sub)
    # The tests decide when a notebook is saved: an autosave racing a test's save makes JupyterLab ask
    # "File Changed ... overwrite?" on a busy machine, and that dialog would block the next click.
    docmanager = home / "lab/user-settings/@jupyterlab/docmanager-extension"
    docmanager.mkdir(parents=True, exist_ok=True)
    (docmanager / "plugin.jupyterlab-settings").write_text(json.dumps({"autosave": False}))
    return env


@dataclass
class JupyterServer:
    process: subprocess.Popen
    port: int
    token: str
    root: Path
    home: Path
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def url(self, path: str = "lab") -> str:
        return f"{self.base_url}{path.lstrip('/')}?token={self.token}"

    def request(self, path: str, method: str = "GET", body: Any = None) -> tuple[int, Any]:
        """(status, decoded JSON or text) of an authenticated request to the server."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path.lstrip("/"), data=data, method=method,
                                         headers={"Authorization": f"token {self.token}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                status, raw = response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read().decode(errors="replace")
        try:
            return status, json.loads(raw) if raw else None
        except json.JSONDecodeError:
            return status, raw

    def opened_url(self) -> str:
        """What the server asked the browser to open at start (a file:// page that redirects into JupyterLab)."""
        pages = sorted((self.home / "runtime").glob("jpserver-*-open.html"))
        assert pages, "the server opened no page (was it started with --no-browser?)"
        return pages[-1].as_uri()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def shutdown_kernels(self) -> None:
        _, kernels = self.request("api/kernels")
        for kernel in kernels or []:
            self.request(f"api/kernels/{kernel['id']}", method="DELETE")

    def stop(self) -> None:
        """Stop the server and every process it started (kernels run in sessions of their own)."""
        try:
            started = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            started = []
        if self.process.poll() is None:
            try:
                self.shutdown_kernels()
            except OSError:
                pass
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        for child in started:
            if child.is_running():
                child.kill()


def start_jupyter(command: list[str], cwd: Path, home: Path, env: dict[str, str] | None = None,
                  timeout: float = 240) -> JupyterServer:
    """Run `command` plus the options that pin it to 127.0.0.1, a free port and a new token; wait until it answers.

    The browser it would open is replaced by `true`: the page it asked for is `JupyterServer.opened_url()`.
    """
    home.mkdir(parents=True, exist_ok=True)
    port, token = free_port(), os.urandom(24).hex()
    options = ["--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", "--ServerApp.browser=true %s"]
    if os.geteuid() == 0:  # CI and containers run as root; Jupyter refuses that unless told
        options.append("--allow-root")
    log_path = home / "server.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen([*command, *options], cwd=cwd, env=env or jupyter_environment(home),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True)
    server = JupyterServer(process, port, token, cwd, home, log_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the Jupyter server exited with {process.returncode}:\n{server.log()[-4000:]}")
        try:
            if server.request("api/status")[0] == 200:
                return server
        except OSError:
            pass
        time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"the Jupyter server did not answer within {timeout:.0f} s:\n{server.log()[-4000:]}")
