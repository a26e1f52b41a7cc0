"""`./course lab`: the student's JupyterLab (and the instructor's with --instructor), tested in a browser."""
from __future__ import annotations

import pytest

from .conftest import start_course_lab
from .lab import JupyterLab
from .student import ASSIGNMENT_01, StudentChecks

pytestmark = pytest.mark.browser


class TestStudentCourseLab(StudentChecks):
    @pytest.fixture(scope="class")
    @classmethod
    def lab_server(cls, tmp_path_factory):
        server = start_course_lab(tmp_path_factory)
        yield server
        server.stop()


class TestInstructorCourseLab:
    @pytest.fixture(scope="class")
    @classmethod
    def lab_server(cls, tmp_path_factory):
        server = start_course_lab(tmp_path_factory, "--instructor")
        yield server
        server.stop()

    def test_instructors_get_nbgrader_and_the_sources(self, lab: JupyterLab):
        lab.open_notebook(ASSIGNMENT_01)
        lab.shot("instructor-assignment-01")
        assert "Nbgrader" in lab.menu_bar()
        assert "Create Assignment" in " ".join(lab.side_bar_titles()), lab.side_bar_titles()
        assert lab.server.request("formgrader")[0] == 200
        status, listing = lab.server.request("api/contents/lectures")
        assert status == 200 and [i for i in listing["content"] if i["name"].endswith(".pct.py")]
        assert "solutions" in {i["name"] for i in lab.server.request("api/contents")[1]["content"]}
