"""A real JupyterHub for one course on this machine: Unix accounts, nbgrader's exchange, the course's hub config.

`Cohort` creates an instructor and students as Unix users (homes private to each), the exchange folder as the
README's deployment makes it, the published student course the layouts come from, and the instructor's copy
of this repository; `Hub` runs `deploy/jupyterhub_config.py` unchanged, with a test authenticator (a password)
and every address on 127.0.0.1 at random ports. `Cohort.run` runs a command as one of its users, with the
environment their hub server has. Needs root (for the accounts), `configurable-http-proxy` and JupyterHub.
"""
from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
from playwright.sync_api import Locator

from .lab import JupyterLab, Screenshots, wait_until
from .servers import ROOT, copy_course, free_port

HUB_CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
COURSE_ID = "dl-course"
PROXY = "configurable-http-proxy"


def missing_prerequisite() -> str | None:
    """Why a hub cannot be run here (one line), or None."""
    if os.geteuid() != 0:
        return "the JupyterHub course test creates Unix users: run it as root (CI does)"
    if shutil.which(PROXY) is None:
        return f"the JupyterHub course test needs {PROXY} on PATH: npm install -g {PROXY}"
    if shutil.which("useradd") is None:
        return "the JupyterHub course test needs useradd (package passwd)"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "the JupyterHub course test needs jupyterhub: ./course test installs it (the test extra)"
    return None


def runnable_by_everyone(path: Path) -> bool:
    """Whether any user may run `path`: the file and every folder above it open to others."""
    path = path.resolve()
    return all(folder.stat().st_mode & stat.S_IXOTH for folder in [path, *path.parents])


def link_or_copy(source: str, target: str) -> None:
    """A hard link (no bytes copied), or a copy where `target` is on another file system."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def interpreter_for_everyone(dest: Path) -> Path:
    """This Python at a path every user may run: itself, or its installation linked into `dest` (the course's
    Python may live in a private folder, such as root's home; other builds of the same version may differ)."""
    executable = Path(sys.executable).resolve()
    if runnable_by_everyone(executable):
        return executable
    base = Path(sys.base_prefix).resolve()
    packages = f"python{sys.version_info.major}.{sys.version_info.minor}"
    shutil.copytree(base, dest, copy_function=link_or_copy, symlinks=True,
                    ignore=lambda folder, names: {"site-packages"} if Path(folder).name == packages else set())
    copy = dest / executable.relative_to(base)
    # A shared-library build finds libpython through an absolute RUNPATH into the private folder; the copy's
    # must point next to itself, or it would load another libpython3.x (the system's) with other symbols.
    binary, private = copy.read_bytes(), f"{base}/lib".encode() + b"\0"
    if private in binary:
        relative = b"$ORIGIN/../lib"
        copy.unlink()
        copy.write_bytes(binary.replace(private, relative + b"\0" * (len(private) - len(relative))))
        copy.chmod(0o755)
    return copy


def shared_environment(dest: Path) -> Path:
    """This test run's environment, where every user of the cohort can run it (as a deployment installs the
    course's environment, e.g. in /opt): a virtual environment on this Python, whose packages are hard links
    to this environment's (no bytes copied), and whose scripts start its own interpreter."""
    interpreter = interpreter_for_everyone(dest.parent / "python")
    subprocess.run([str(interpreter), "-m", "venv", "--without-pip", str(dest)], check=True)
    site = Path("lib", f"python{sys.version_info.major}.{sys.version_info.minor}", "site-packages")
    shutil.rmtree(dest / site)
    for folder in (site, Path("share"), Path("etc")):
        if (Path(sys.prefix) / folder).is_dir():
            shutil.copytree(Path(sys.prefix) / folder, dest / folder, copy_function=link_or_copy, symlinks=True)
    for script in (Path(sys.prefix) / "bin").iterdir():
        target = dest / "bin" / script.name
        if script.is_symlink() or target.exists() or not script.is_file():
            continue
        with open(script, "rb") as handle:
            first, rest = handle.readline(), handle.read()
        if first.startswith(b"#!") and b"python" in first:
            target.write_bytes(b"#!" + str(dest / "bin" / "python").encode() + b"\n" + rest)
            target.chmod(0o755)
    return dest


@dataclass
class Account:
    name: str
    home: Path
    uid: int
    gid: int


class Cohort:
    """The course's people and folders, under one temporary root: an instructor and students (Unix accounts,
    each home private), the exchange, the published course's layouts, the environment everyone runs, and the
    instructor's copy of this repository."""

    def __init__(self, roles: list[str]):
        self.base = Path(tempfile.mkdtemp(prefix="course-hub-"))
        self.base.chmod(0o755)  # other users must reach their homes, the exchange and the course below it
        self.password = os.urandom(12).hex()
        self.students: dict[str, Account] = {}  # role (alice, bob, ...) -> account
        self.instructor: Account | None = None
        tag = os.urandom(2).hex()  # user names unique to this run: several runs may share the machine
        try:
            (self.base / "home").mkdir(mode=0o755)
            self.instructor = add_user(f"instructor-{tag}", self.base / "home")
            for role in roles:
                self.students[role] = add_user(f"{role}-{tag}", self.base / "home")
            self.exchange = self.base / "exchange"
            self.exchange.mkdir()
            self.exchange.chmod(0o1777)  # as the README says: anyone may add, nobody may rename what others made
            self.published = self.base / "srv" / COURSE_ID  # the hub reads only the layouts there
            shutil.copytree(ROOT / "jupyter_config", self.published / "jupyter_config")
            self.env = shared_environment(self.base / "env")
            self.python = str(self.env / "bin" / "python")
            self.let_instructor_write_grading_kernel_spec()
            self.course = copy_course(self.instructor.home / "course")
            chown_tree(self.course, self.instructor)
            self.write_instructor_settings()
        except BaseException:
            self.remove()
            raise

    def let_instructor_write_grading_kernel_spec(self) -> None:
        """course_grading (re)writes its `course-sandbox` kernel spec into the environment at every grading run,
        so whoever grades must be able to write that one folder of a shared environment."""
        folder = self.env / "share" / "jupyter" / "kernels" / "course-sandbox"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        os.chown(folder, self.instructor.uid, self.instructor.gid)

    @property
    def accounts(self) -> list[Account]:
        return [self.instructor, *self.students.values()]

    def write_instructor_settings(self) -> None:
        """The instructor's ~/.jupyter/nbgrader_config.py: the formgrader in their server grades their course."""
        folder = self.instructor.home / ".jupyter"
        folder.mkdir(exist_ok=True)
        (folder / "nbgrader_config.py").write_text(
            f"c = get_config()\nload_subconfig('nbgrader_config.py', path={str(self.course)!r})\n")
        chown_tree(folder, self.instructor)

    def environment(self, account: Account) -> dict[str, str]:
        """What a process of `account` sees in its hub server (the hub config's environment), plus PATH."""
        layouts = ["instructor", "hub"] if account == self.instructor else ["hub", "student"]
        return {"HOME": str(account.home), "USER": account.name, "LOGNAME": account.name, "LANG": "C.UTF-8",
                "PATH": f"{self.env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                "JUPYTER_CONFIG_PATH": os.pathsep.join(str(self.published / "jupyter_config" / layout)
                                                       for layout in layouts),
                "COURSE_ID": COURSE_ID, "NBGRADER_EXCHANGE": str(self.exchange)}

    def run(self, account: Account, *command: str, cwd: Path | None = None, check: bool = True,
            timeout: float = 600, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        """`command` as `account` (its own uid and group only), in its home unless `cwd` is given."""
        result = subprocess.run(list(command), cwd=cwd or account.home, user=account.uid, group=account.gid,
                                extra_groups=[], env={**self.environment(account), **(extra_env or {})},
                                capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(command)} as {account.name} failed ({result.returncode}):\n"
                                 f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        return result

    def nbgrader(self, account: Account, *args: str, **options) -> subprocess.CompletedProcess:
        return self.run(account, self.python, "-m", "nbgrader", *args, **options)

    def can_read(self, account: Account, path: Path) -> bool:
        """Whether `account` can list (a folder) or read (a file) `path`: asked from a process of that user."""
        probe = ("import os, sys; p = sys.argv[1]\n"
                 "try:\n    os.listdir(p) if os.path.isdir(p) else open(p, 'rb').read(1)\n"
                 "except OSError:\n    sys.exit(1)")
        return self.run(account, self.python, "-c", probe, str(path), check=False).returncode == 0

    def remove(self) -> None:
        """Stop every process of the cohort's accounts, delete the accounts and every file of the run."""
        for account in [a for a in [self.instructor, *self.students.values()] if a]:
            stop_processes_of(account.uid)
            subprocess.run(["userdel", account.name], capture_output=True)
        shutil.rmtree(self.base, ignore_errors=True)


def add_user(name: str, homes: Path) -> Account:
    home = homes / name
    subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--shell", "/bin/bash",
                    "--user-group", name], check=True, capture_output=True)
    home.chmod(0o700)  # nobody else may look into a student's work
    entry = pwd.getpwnam(name)
    return Account(name, home, entry.pw_uid, entry.pw_gid)


def chown_tree(path: Path, account: Account) -> None:
    for folder, _, files in os.walk(path):
        os.chown(folder, account.uid, account.gid)
        for name in files:
            os.lchown(os.path.join(folder, name), account.uid, account.gid)


def stop_processes_of(uid: int) -> None:
    """Kill the processes still running as `uid` (a user this test created: every one of them is the test's)."""
    mine = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == uid]
    for process in mine:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(mine, timeout=10)


class Hub:
    """deploy/jupyterhub_config.py, run by this test with a password login and random local ports."""

    def __init__(self, cohort: Cohort):
        self.cohort = cohort
        self.folder = cohort.base / "hub"
        self.folder.mkdir(mode=0o700)
        self.port = free_port()
        self.log_path = self.folder / "hub.log"
        (self.folder / "test_config.py").write_text(
            "c = get_config()\n"
            f"load_subconfig({str(HUB_CONFIG)!r})\n"
            "c.JupyterHub.authenticator_class = 'dummy'  # PAM in the deployment; a password here\n"
            f"c.DummyAuthenticator.password = {cohort.password!r}\n"
            f"c.JupyterHub.bind_url = 'http://127.0.0.1:{self.port}'\n"
            f"c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{free_port()}'\n"
            f"c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{free_port()}'\n")
        env = {**os.environ, "COURSE_ID": COURSE_ID, "COURSE_ROOT": str(cohort.published),
               "NBGRADER_EXCHANGE": str(cohort.exchange), "COURSE_INSTRUCTORS": cohort.instructor.name,
               "COURSE_STUDENTS": ",".join(a.name for a in cohort.students.values()),
               "PATH": f"{cohort.env / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}
        for name in ("JUPYTER_CONFIG_PATH", "JUPYTER_PATH", "JUPYTERHUB_API_TOKEN", "VIRTUAL_ENV"):
            env.pop(name, None)
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen([cohort.python, "-m", "jupyterhub", "-f", "test_config.py"],
                                            cwd=self.folder, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        self.wait_until_up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_until_up(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with {self.process.returncode}:\n{self.log()[-4000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/hub/api/", timeout=10) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"JupyterHub did not answer within {timeout:.0f} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        """Stop the hub; it stops the proxy and the users' servers (cleanup_servers)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@dataclass
class UserServer:
    """A user's server behind the hub, as tests/browser/lab.py's JupyterLab and Notebook use a server."""
    hub: Hub
    account: Account

    @property
    def root(self) -> Path:
        return self.account.home

    def url(self, path: str = "lab") -> str:
        return f"{self.hub.url}/user/{self.account.name}/{path.lstrip('/')}"


class HubSession:
    """One person in a browser of their own (own cookies): logs in to the hub, uses JupyterLab and the
    Assignments list the way a person does."""

    LISTS = {"released": "#released_assignments_list", "fetched": "#fetched_assignments_list",
             "submitted": "#submitted_assignments_list"}

    def __init__(self, browser, hub: Hub, account: Account, shots: Screenshots, label: str):
        self.hub, self.account, self.shots, self.label = hub, account, shots, label
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.context.set_default_timeout(60_000)
        self.page = self.context.new_page()
        self.lab = JupyterLab(self.page, UserServer(hub, account), shots, workspace=label)

    def shot(self, name: str) -> Path:
        return self.shots.take(self.page, f"{self.label}-{name}")

    def close(self) -> None:
        self.context.close()

    def log_in(self, password: str) -> None:
        """The hub's login form, then wait while the hub starts this user's server and JupyterLab opens."""
        self.page.goto(f"{self.hub.url}/hub/login")
        self.page.fill("input[name=username]", self.account.name)
        self.page.fill("input[name=password]", password)
        self.shot("login")
        self.page.click("input[type=submit], button[type=submit]")
        self.page.wait_for_url(re.compile(f"/user/{re.escape(self.account.name)}/lab"), timeout=360_000)
        self.lab.wait_for_shell()
        self.shot("lab")

    def open_assignments(self) -> Locator:
        """Nbgrader → Assignment List; returns the list's panel once it has loaded."""
        self.lab.click_menu("Nbgrader", "nbgrader:open-assignment-list")
        panel = self.page.locator("#nbgrader-assignment-list")
        panel.wait_for()
        wait_until(lambda: not panel.locator("#released_assignments_list_loading").is_visible(), 120,
                   "the Assignments list to load")
        return panel

    def assignment_row(self, listed: str, assignment: str) -> Locator:
        return self.page.locator(f"{self.LISTS[listed]} > .list_item", has_text=assignment)

    def click_in_list(self, listed: str, assignment: str, button: str, then: str, timeout: float = 300) -> None:
        """Press `button` on `assignment` in one of the lists; wait until it shows up in the list `then`."""
        self.open_assignments()
        self.assignment_row(listed, assignment).locator("button", has_text=button).click()
        wait_until(lambda: self.assignment_row(then, assignment).count() > 0, timeout,
                   f"{assignment} to appear in the {then} list after {button}")
        self.shot(f"{button.lower().replace(' ', '-')}-done")

    def menu_items(self, menu: str) -> list[str]:
        """The visible items of a main-menu menu (the menu is closed again)."""
        self.page.locator("#jp-menu-panel .lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
        items = self.page.locator(".lm-Menu-content .lm-Menu-item:not(.lm-mod-hidden) .lm-Menu-itemLabel")
        labels = [t for t in items.all_text_contents() if t.strip()]
        self.page.keyboard.press("Escape")
        return labels
