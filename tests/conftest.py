"""Shared test fixtures."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_course_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean slate: none of the course's environment variables set."""
    for name in [n for n in os.environ if n.startswith("COURSE_")] + ["JPY_SESSION_NAME"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch
