"""nbgrader configuration for the course (run nbgrader from this directory)."""
import os

c = get_config()  # noqa: F821 (provided by traitlets when this file is loaded)

c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Instructor notebooks (with solutions and hidden tests) live in solutions/; the student release in assignments/.
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "assignments"
# Notebook sources (Jupytext text files) and the judges (hidden tests, instructor only) are never copied
# into a release, nor next to a submission while it is graded.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.pct.py", "judge.py"]
# Parallel graders write to one SQLite gradebook: a writer waits for the lock instead of failing.
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(c.CourseDirectory.root, 'gradebook.db')}?timeout=120"

# Every submission runs in an isolated kernel (bubblewrap): no network, no course files, limits. Its test
# cells are not run there: the assignment's judge (solutions/<assignment>/judge.py) scores each one from
# this process, by calling the student's code through the kernel on its own private cases.
# Without bubblewrap, autograding stops with instructions; COURSE_GRADING_SANDBOX=off grades unsandboxed.
c.Autograde.autograde_preprocessors = [
    "course_grading.execute.JudgedExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Generous but finite: a cell that runs longer than this is an infinite loop, not slow code.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
c.Execute.raise_on_iopub_timeout = False

# Students sometimes delete test cells: put them back from the gradebook rather than failing.
c.OverwriteCells.add_missing_cells = True
# ... or paste a graded cell twice: keep one copy instead of failing the whole submission.
c.Autograde.sanitize_preprocessors = [
    "nbgrader.preprocessors.ClearOutput",
    "course_grading.sanitize.DropDuplicateIds",
    "nbgrader.preprocessors.OverwriteKernelspec",
    "nbgrader.preprocessors.OverwriteCells",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# A cell fails only when it raises. Warnings, tqdm bars and logging go to stderr and must not zero
# a correct answer, so stderr output is dropped from graded cells before grades are computed.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"[\s\S]"

# Feedback: hidden tests never reach students, and a held submission says so at the top.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "course_grading.feedback.HideHiddenTests",
    "course_grading.feedback.ReviewNotice",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
