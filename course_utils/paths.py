"""Where data lives: one writable cache and an optional read-only mirror (no heavy imports here)."""
from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "COURSE_DATA_DIR"
MIRROR_ENV = "COURSE_DATA_MIRROR"
DEFAULT_DATA_DIR = Path.home() / ".cache" / "dl-course" / "data"


class DatasetUnavailable(RuntimeError):
    """A dataset is neither in the cache, nor in the mirror, nor downloadable."""


def data_root() -> Path:
    """The one writable data directory: $COURSE_DATA_DIR, else ~/.cache/dl-course/data."""
    root = Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def mirror_dir() -> Path | None:
    """The read-only offline mirror named by $COURSE_DATA_MIRROR, if any."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None
