"""Shared test fixtures."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REQUIRE_SANDBOX_ENV = "COURSE_REQUIRE_SANDBOX"  # set by CI: a missing bubblewrap fails these tests


def _bwrap_missing() -> bool:
    if shutil.which("bwrap") is not None:
        return False
    if os.environ.get(REQUIRE_SANDBOX_ENV):
        raise RuntimeError(f"bubblewrap is not installed but {REQUIRE_SANDBOX_ENV} is set: install it "
                           "(apt-get install bubblewrap); grading isolation must be tested here")
    return True


needs_bwrap = pytest.mark.skipif(_bwrap_missing(), reason="bubblewrap is not installed: grading isolation is NOT "
                                                           "tested here (apt-get install bubblewrap)")


@pytest.fixture
def no_course_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean slate: none of the course's environment variables set."""
    for name in [n for n in os.environ if n.startswith("COURSE_")] + ["JPY_SESSION_NAME"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch
