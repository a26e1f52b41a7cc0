"""JupyterHub for one course on one Linux machine, with nbgrader's exchange (`jupyterhub -f jupyterhub_config.py`).

Students and instructors are Unix accounts of the machine (they log in with their passwords); each one's
JupyterLab runs under their own user id, so nbgrader's file exchange keeps their work apart. Students get the
course's student layout plus nbgrader's Assignments list (fetch, submit, fetch feedback); instructors get the
instructor layout: formgrader, Create Assignment, and nbgrader's commands in a terminal. The setup steps are in
the README, "Running a course for a cohort". tests/browser/test_hub.py runs this file as it is.

Settings are read from the environment (systemd `Environment=` lines, or edit the defaults here):
    COURSE_ID            nbgrader's course id                        [dl-course]
    COURSE_INSTRUCTORS   instructors' user names, comma-separated    [instructor]
    COURSE_STUDENTS      students' user names, comma-separated       []
    COURSE_ROOT          the published student course (./course publish), readable by everyone: its
                         jupyter_config/ holds the layouts and the course's nbgrader settings   [/srv/dl-course]
    NBGRADER_EXCHANGE    the exchange folder, mode 1777              [/srv/nbgrader/exchange]
"""
import os
import sys

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)


def names(variable: str, default: str = "") -> list[str]:
    return [n.strip() for n in os.environ.get(variable, default).split(",") if n.strip()]


COURSE_ID = os.environ.get("COURSE_ID", "dl-course")
INSTRUCTORS = names("COURSE_INSTRUCTORS", "instructor")
STUDENTS = names("COURSE_STUDENTS")
COURSE_ROOT = os.environ.get("COURSE_ROOT", "/srv/dl-course")
EXCHANGE = os.environ.get("NBGRADER_EXCHANGE", "/srv/nbgrader/exchange")

# Who may log in: the course's accounts only (PAM checks their Unix passwords).
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = set(INSTRUCTORS + STUDENTS)

# nbgrader's groups: `formgrade-<course>` for those who grade, `nbgrader-<course>` for students. With the course
# id set for everyone (jupyter_config/hub/nbgrader_config.py) nbgrader does not need to ask the hub about them;
# they record the roster, and are what nbgrader's JupyterHubAuthPlugin reads when one hub serves several courses.
c.JupyterHub.load_groups = {f"formgrade-{COURSE_ID}": {"users": INSTRUCTORS},
                            f"nbgrader-{COURSE_ID}": {"users": STUDENTS}}

# One JupyterLab per user, started as that Unix user, listening on this machine only (the proxy reaches it).
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [os.path.join(sys.prefix, "bin", "jupyterhub-singleuser")]  # the course's environment
c.Spawner.ip = "127.0.0.1"
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
# A busy machine starts servers slowly; better a wait than an error page.
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 180
# Limits (enforced by LocalProcessSpawner only as hints; use systemdspawner or Kubernetes to enforce them).
c.Spawner.mem_limit = "4G"
c.Spawner.cpu_limit = 2.0


def jupyter_config_path(spawner) -> str:
    """The layouts (jupyter_config/README.md): instructors get everything, students the student layout
    plus nbgrader's Assignments list. jupyter_config/hub also holds the course id and the exchange."""
    layouts = ["instructor", "hub"] if spawner.user.name in INSTRUCTORS else ["hub", "student"]
    return os.pathsep.join(os.path.join(COURSE_ROOT, "jupyter_config", layout) for layout in layouts)


c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": jupyter_config_path,
    "COURSE_ID": COURSE_ID,
    "NBGRADER_EXCHANGE": EXCHANGE,
}

# The formgrader runs in each instructor's own server (nbgrader's "one class, one grader"); the instructor's
# ~/.jupyter/nbgrader_config.py points at their course (README). JupyterHub >= 4.1 forbids the iframe the
# formgrader's JupyterLab tab uses: open it in a browser tab of its own, at /user/<instructor>/formgrader.
