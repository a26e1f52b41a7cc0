"""Where data lives: one writable cache and optional read-only mirrors of data and weights (no heavy imports here)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

DATA_DIR_ENV = "COURSE_DATA_DIR"
MIRROR_ENV = "COURSE_DATA_MIRROR"
WEIGHTS_MIRROR_ENV = "COURSE_WEIGHTS_MIRROR"


def default_data_dir() -> Path:
    """Where data is cached when $COURSE_DATA_DIR is not set: ~/.cache/dl-course/data."""
    return Path.home() / ".cache" / "dl-course" / "data"


class DatasetUnavailable(RuntimeError):
    """A dataset is neither in the cache, nor in the mirror, nor downloadable."""


def data_root() -> Path:
    """The one writable data directory: $COURSE_DATA_DIR, else `default_data_dir()`."""
    root = Path(os.environ.get(DATA_DIR_ENV) or default_data_dir()).expanduser()
    root.mkdir(parents=True, exist_ok=True)
    return root


def mirror_dir() -> Path | None:
    """The read-only offline mirror named by $COURSE_DATA_MIRROR, if any."""
    value = os.environ.get(MIRROR_ENV)
    return Path(value).expanduser() if value else None


def weights_mirror_dir() -> Path | None:
    """The read-only folder of torch hub weight files named by $COURSE_WEIGHTS_MIRROR, if any."""
    value = os.environ.get(WEIGHTS_MIRROR_ENV)
    return Path(value).expanduser() if value else None


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks (checkpoints, weight files, text data)."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
