"""A cohort on a real JupyterHub (deploy/jupyterhub_config.py) with nbgrader's exchange, end to end.

One instructor and five students are Unix users of this machine. In headless Chromium, students log in to the
hub and use nbgrader's Assignments list; the instructor uses nbgrader's commands and the course's sandboxed
`grade` command in their own course folder, as their own user. Step by step (screenshots are named after the
person and the step):

1. The instructor releases Assignment 01 to the exchange (`nbgrader release_assignment`).
2. Alice (everything right), Bob (one part wrong) and Carol (one part right, and the custom-exception-handler
   cheat) log in, fetch it in the Assignments list, type their answers into the notebook, save and submit.
3. Alice's work is never lost: with an edit typed but not saved, fetching again (the list's fetch, the command,
   `--replace`, after the instructor re-released) leaves her notebook as it was, and saving then keeps her edit.
4. The instructor sets the deadline; Dave and Erin submit after it, at the same moment: both submissions land.
5. The instructor collects and grades: Alice full marks, Bob all but the wrong part (the feedback names the
   mistake), Carol held for review with her points withheld, Dave and Erin full marks and recorded late.
   Graded again in two shards (`--student`), each in a copy of the course of its own as on two machines, the
   scores and statuses are those of the one run.
6. Feedback is released; each student fetches their own (Alice in the browser), and no student can read another's
   submission, feedback or home, list the exchange's submissions or feedback, or move the course's exchange folder.
"""
from __future__ import annotations

import csv
import datetime
import html
import os
import re
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from conftest import needs_bwrap
from grading_batch import wrong_answers
from submissions import SOLUTION_MARKERS, answered, grade_id, is_answer

from .hub import COURSE_ID, Cohort, Hub, HubSession, missing_prerequisite
from .lab import Screenshots
from .servers import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.e2e, needs_bwrap]  # e2e: slow, -m 'not e2e' skips it

ASSIGNMENT = "01_perceptron_xor"
NOTEBOOK = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
BROWSER_STUDENTS = ["alice", "bob", "carol"]
LATE_STUDENTS = ["dave", "erin"]
# Carol's trick: an error handler that swallows every exception, so that no test cell would show an error.
CHEAT = "import __main__\n__main__.get_ipython().set_custom_exc((BaseException,), lambda *a, **k: None)\n"
ANSWER_CELLS = {"perceptron": "def perceptron_predict(", "xor_failure": "def perceptron_xor_mistakes(",
                "xor_feature": "def add_product_feature(", "xor_net": "class XorNet(",
                "collapse": "def collapse_linear("}


@pytest.fixture(scope="module")
def cohort(browser):
    reason = missing_prerequisite()
    if reason:
        pytest.skip(reason)
    cohort = Cohort(BROWSER_STUDENTS + LATE_STUDENTS)
    yield cohort
    cohort.remove()


@pytest.fixture(scope="module")
def hub(cohort):
    hub = Hub(cohort)
    yield hub
    hub.stop()


def reference_answers() -> dict[str, str]:
    """grade id -> the instructor's answer, as a student who got it right types it."""
    source = nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)
    return {grade_id(c): SOLUTION_MARKERS.sub("", c.source) for c in source.cells if is_answer(c)}


def answers_of(role: str) -> dict[str, str]:
    """What each student types into the answer cells (grade id -> source)."""
    right = reference_answers()
    wrong, _ = wrong_answers(ASSIGNMENT)
    if role == "bob":
        return {**right, "collapse": wrong["collapse"]}
    if role == "carol":
        return {"perceptron": right["perceptron"] + "\n" + CHEAT}
    return right


def fetch_answer_and_submit(session: HubSession, role: str) -> None:
    """Assignments list → Fetch; type the answers into the notebook; save; Assignments list → Submit."""
    assert session.menu_items("Nbgrader") == ["Assignment List"], "students get the Assignments list, no tools"
    session.click_in_list("released", ASSIGNMENT, "Fetch", then="fetched")
    notebook = session.lab.open_notebook(NOTEBOOK)
    for part, source in answers_of(role).items():
        notebook.replace_source(notebook.code_cell(ANSWER_CELLS[part]), source)
    notebook.save()
    session.shot("answered-and-saved")
    session.click_in_list("fetched", ASSIGNMENT, "Submit", then="submitted")


def check_fetch_never_overwrites(cohort: Cohort, session: HubSession) -> None:
    """An edit typed but not saved; the instructor re-releases (a fix); the Assignments list offers no second
    fetch, and the fetch command refuses (`--replace` restores deleted files only): the notebook on disk is
    unchanged, and saving then keeps the edit without a "file changed on disk" conflict."""
    notebook = session.lab.open_notebook(NOTEBOOK)
    saved = notebook.file.read_bytes()
    edit = "# my unsaved second thoughts"
    notebook.replace_source(notebook.code_cell(ANSWER_CELLS["xor_net"]), reference_answers()["xor_net"] + "\n" + edit)
    assert notebook.panel_is_dirty()
    session.shot("unsaved-edit")
    cohort.nbgrader(cohort.instructor, "release_assignment", ASSIGNMENT, "--force", cwd=cohort.course)
    session.open_assignments()
    assert session.assignment_row("released", ASSIGNMENT).count() == 0
    assert session.assignment_row("fetched", ASSIGNMENT).count() == 1
    session.shot("re-released-but-already-downloaded")
    again = cohort.nbgrader(session.account, "fetch_assignment", ASSIGNMENT, check=False)
    assert again.returncode != 0 and "already" in (again.stdout + again.stderr).lower(), again.stderr[-2000:]
    cohort.nbgrader(session.account, "fetch_assignment", ASSIGNMENT, "--replace")
    assert notebook.file.read_bytes() == saved
    session.page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=Path(NOTEBOOK).name).click()
    notebook.save()
    session.lab.assert_no_dialog()
    assert edit in notebook.file.read_text()
    session.shot("edit-saved-after-fetching-again")


def submit_at_the_same_moment(cohort: Cohort, roles: list[str]) -> None:
    """Each student's `nbgrader submit` waits (imports done) for the same instant, then submits."""
    start = time.time() + 15
    program = ("import sys, time\nfrom nbgrader.apps import NbGraderApp\n"
               "time.sleep(max(0.0, float(sys.argv[1]) - time.time()))\n"
               f"NbGraderApp.launch_instance(argv=['submit', '{ASSIGNMENT}'])\n")
    running = [subprocess.Popen([cohort.python, "-c", program, str(start)], cwd=cohort.students[r].home,
                                user=cohort.students[r].uid, group=cohort.students[r].gid, extra_groups=[],
                                env=cohort.environment(cohort.students[r]), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for r in roles]
    for role, process in zip(roles, running):
        output = process.communicate(timeout=300)[0]
        assert process.returncode == 0, f"{role}'s submission failed:\n{output[-2000:]}"


def hand_out(cohort: Cohort, role: str) -> None:
    """A command-line student: fetch with nbgrader's command, then answer everything right (as that user)."""
    account = cohort.students[role]
    cohort.nbgrader(account, "fetch_assignment", ASSIGNMENT)
    path = account.home / NOTEBOOK
    release = nbformat.read(path, as_version=4)
    source = nbformat.read(ROOT / "solutions" / NOTEBOOK, as_version=4)
    nbformat.write(answered(release, source), path)


def read_rows(course: Path) -> dict[str, dict]:
    with open(course / "reports" / ASSIGNMENT / "grades.csv", newline="") as handle:
        return {row["student"]: row for row in csv.DictReader(handle)}


def grade_in_the_sandbox(cohort: Cohort) -> dict[str, dict]:
    """The course's grade command, run by the instructor in their course: the rows of grades.csv."""
    started = time.monotonic()
    graded = cohort.run(cohort.instructor, cohort.python, "-m", "course_grading", "grade", ASSIGNMENT,
                        "--workers", "2", cwd=cohort.course, timeout=1800)
    print(f"grading {len(cohort.students)} submissions took {time.monotonic() - started:.0f} s\n{graded.stdout}")
    return read_rows(cohort.course)


def gradebook_scores(course: Path, students: list[str]) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {student: gradebook.find_submission(ASSIGNMENT, student).score for student in students}


def grade_in_shards(cohort: Cohort, shards: list[list[str]]) -> tuple[dict[str, dict], dict[str, float]]:
    """Each shard of students graded with `--student` in a copy of the course of its own (the collected
    submissions, no grading output), as a node of a cluster would: the rows of every node's grades.csv
    together, and the scores in every node's own gradebook."""
    rows, scores = {}, {}
    for number, shard in enumerate(shards):
        node = cohort.instructor.home / f"node-{number}"
        cohort.run(cohort.instructor, "cp", "-a", str(cohort.course), str(node))
        cohort.run(cohort.instructor, "rm", "-rf", *(str(node / output) for output in
                                                    ("gradebook.db", "reports", "autograded", "feedback", ".grading")))
        chosen = [option for student in shard for option in ("--student", student)]
        cohort.run(cohort.instructor, cohort.python, "-m", "course_grading", "grade", ASSIGNMENT, "--workers", "2",
                   *chosen, cwd=node, timeout=1800)
        node_rows = read_rows(node)
        assert sorted(node_rows) == sorted(shard), node_rows
        rows.update(node_rows)
        scores.update(gradebook_scores(node, shard))
    return rows, scores


def check_formgrader(session: HubSession, expected: dict[str, float]) -> None:
    """The instructor's formgrader lists every submission with the gradebook's score."""
    assert "Formgrader" in session.menu_items("Nbgrader")
    page = session.page
    page.goto(session.lab.server.url(f"formgrader/manage_submissions/{ASSIGNMENT}"))
    for student in expected:
        page.locator("td", has_text=student).first.wait_for(timeout=120_000)
    session.shot("formgrader-submissions")
    listed = page.request.get(session.lab.server.url(f"formgrader/api/submissions/{ASSIGNMENT}")).json()
    assert {s["student"]: s["score"] for s in listed} == expected


def feedback_text(home: Path) -> str:
    """The text of the feedback pages a student fetched (there must be exactly one)."""
    pages = sorted((home / ASSIGNMENT / "feedback").glob("*/*.html"))
    assert len(pages) == 1, pages
    return html.unescape(re.sub(r"<[^>]+>", "", pages[0].read_text()))


def check_privacy(cohort: Cohort) -> None:
    """No student can list the exchange's submissions or feedback, read the instructor's or another student's
    files, or move the course's folder in the exchange (the exchange is 1777: sticky)."""
    course_exchange = cohort.exchange / COURSE_ID
    for role, account in cohort.students.items():
        others = [a for r, a in cohort.students.items() if r != role]
        assert not cohort.can_read(account, course_exchange / "inbound"), role
        assert not cohort.can_read(account, course_exchange / "feedback"), role
        assert not cohort.can_read(account, cohort.course / "submitted"), role
        assert not cohort.can_read(account, cohort.instructor.home), role
        assert not any(cohort.can_read(account, other.home) for other in others), role
        moved = cohort.run(account, cohort.python, "-c", f"import os; os.rename({str(course_exchange)!r}, "
                           f"{str(cohort.exchange / 'taken')!r})", check=False)
        assert moved.returncode != 0 and course_exchange.is_dir(), role


def test_a_cohort_from_release_to_feedback(browser, cohort: Cohort, hub: Hub, screenshots: Screenshots):
    instructor, students = cohort.instructor, cohort.students
    name = {role: account.name for role, account in students.items()}
    course_exchange = cohort.exchange / COURSE_ID

    # 1. the instructor releases Assignment 01
    cohort.nbgrader(instructor, "release_assignment", ASSIGNMENT, cwd=cohort.course)
    assert (course_exchange / "outbound" / NOTEBOOK).is_file()
    assert oct((course_exchange / "inbound").stat().st_mode & 0o7777) == oct(0o2733)  # add, never list

    # 2. three students in the browser: fetch, answer, save, submit
    sessions = {role: HubSession(browser, hub, students[role], screenshots, role) for role in BROWSER_STUDENTS}
    for role, session in sessions.items():
        session.log_in(cohort.password)
        fetch_answer_and_submit(session, role)

    # 3. fetching again never loses work
    check_fetch_never_overwrites(cohort, sessions["alice"])

    # 4. a deadline, then two students submit after it at the same moment
    deadline = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=1)
    cohort.nbgrader(instructor, "db", "assignment", "add", ASSIGNMENT, f"--duedate={deadline.isoformat()}",
                    cwd=cohort.course)
    time.sleep(2)
    for role in LATE_STUDENTS:
        hand_out(cohort, role)
    submit_at_the_same_moment(cohort, LATE_STUDENTS)
    late = [n.split("+") for n in os.listdir(course_exchange / "inbound")
            if n.split("+")[0] in {name[r] for r in LATE_STUDENTS}]
    assert sorted(parts[0] for parts in late) == sorted(name[r] for r in LATE_STUDENTS), late
    instants = [datetime.datetime.strptime(parts[2], "%Y-%m-%d %H:%M:%S.%f %Z") for parts in late]
    assert max(instants) - min(instants) < datetime.timedelta(seconds=2), instants

    # 5. the instructor collects and grades (sandboxed, judged); the gradebook holds the scores
    cohort.nbgrader(instructor, "collect", ASSIGNMENT, cwd=cohort.course)
    assert {p.name for p in (cohort.course / "submitted").iterdir()} == set(name.values())
    rows = grade_in_the_sandbox(cohort)
    with Gradebook(f"sqlite:///{cohort.course / 'gradebook.db'}") as gradebook:
        maximum = gradebook.find_assignment(ASSIGNMENT).max_score
        found = {role: gradebook.find_submission(ASSIGNMENT, name[role]) for role in students}
        scores = {role: submission.score for role, submission in found.items()}
        is_late = {role: submission.total_seconds_late > 0 for role, submission in found.items()}
    assert {role: rows[name[role]]["status"] for role in students} == {
        "alice": "graded", "bob": "graded", "carol": "review", "dave": "graded", "erin": "graded"}, rows
    assert scores == {"alice": maximum, "bob": maximum - 2, "carol": 0, "dave": maximum, "erin": maximum}, scores
    assert is_late == {"alice": False, "bob": False, "carol": False, "dave": True, "erin": True}, is_late
    assert not [row for row in rows.values() if "submission_secret" in row["notes"]], rows

    # 5b. grading split across machines: two shards of students, each in a course of its own, score the same
    shards = [[name[r] for r in BROWSER_STUDENTS], [name[r] for r in LATE_STUDENTS]]
    shard_rows, shard_scores = grade_in_shards(cohort, shards)
    assert shard_scores == {name[role]: score for role, score in scores.items()}, shard_scores
    assert {s: (r["status"], r["score"]) for s, r in shard_rows.items()} == {
        s: (r["status"], r["score"]) for s, r in rows.items()}, shard_rows
    teacher = HubSession(browser, hub, instructor, screenshots, "instructor")
    teacher.log_in(cohort.password)
    check_formgrader(teacher, {name[role]: score for role, score in scores.items()})

    # 6. feedback: released, each student fetches their own (Alice in the browser); nobody sees anyone else's
    cohort.nbgrader(instructor, "release_feedback", ASSIGNMENT, cwd=cohort.course)
    sessions["alice"].click_in_list("submitted", ASSIGNMENT, "Fetch Feedback", then="submitted")
    sessions["alice"].assignment_row("submitted", ASSIGNMENT).locator("a", has_text="view feedback").wait_for()
    sessions["alice"].shot("feedback-fetched")
    for role in students:
        if role != "alice":
            cohort.nbgrader(students[role], "fetch_feedback", ASSIGNMENT)
    feedback = {role: feedback_text(students[role].home) for role in students}
    assert "the biases of all layers but the last are left out" in feedback["bob"]
    assert "Held for an instructor's review" in feedback["carol"]
    assert not [role for role in students if role != "carol" and "Held for an instructor" in feedback[role]]
    check_privacy(cohort)
    for session in [*sessions.values(), teacher]:
        session.close()
