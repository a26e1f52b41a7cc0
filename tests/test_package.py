"""`course_utils` exposes its helpers lazily and never imports an answer."""
import subprocess
import sys

import pytest

import course_utils


def test_every_exported_name_resolves():
    for name in course_utils.__all__:
        assert getattr(course_utils, name) is not None
    assert "fit" in dir(course_utils)


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError):
        _ = course_utils.no_such_helper


def test_importing_the_package_does_not_import_torch():
    code = "import sys, course_utils, course_utils.paths; print('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
