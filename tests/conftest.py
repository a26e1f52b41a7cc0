"""Shared test fixtures. No test downloads anything, and none writes into the user's own caches."""
from __future__ import annotations

import os
import shutil
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from course_utils import paths

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
STARTING_ENVIRONMENT = dict(os.environ)  # before any fixture changed it
MIRRORED_DATASETS = {  # what the offline mirror must hold: torchvision's layout and file names
    "MNIST": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
              "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}
MIRRORED_DATASETS["FashionMNIST"] = MIRRORED_DATASETS["MNIST"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real_cache: may use the user's own caches (the home folder's ~/.cache)")


@pytest.fixture(scope="session")
def private_caches(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One temporary folder per test session for every cache a test could fill."""
    return tmp_path_factory.mktemp("caches")


def _in_home_cache(folder: str) -> bool:
    return Path(folder).expanduser().resolve().is_relative_to(Path.home().resolve() / ".cache")


@pytest.fixture(autouse=True)
def caches_outside_home(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, private_caches: Path) -> None:
    """The data cache (unless the run set one outside ~/.cache) and torch's cache point at a temporary folder.

    `course_utils.paths.default_data_dir` is redirected too, so a test that unsets $COURSE_DATA_DIR still
    writes nowhere near the user's home. Mark a test `real_cache` to opt out.
    """
    if request.node.get_closest_marker("real_cache"):
        return
    data_dir = os.environ.get(paths.DATA_DIR_ENV)
    if not data_dir or _in_home_cache(data_dir):
        monkeypatch.setenv(paths.DATA_DIR_ENV, str(private_caches / "data"))
    monkeypatch.setattr(paths, "default_data_dir", lambda: private_caches / "data")
    monkeypatch.setenv("TORCH_HOME", str(private_caches / "torch"))


LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any download through urllib (torchvision's and torch.hub's way) fails the test that tried it; requests to
    servers the tests started on this machine (Jupyter, JupyterHub, stand-in servers) go through."""
    urlopen = urllib.request.urlopen

    def local_only(url, *args, **kwargs):
        address = getattr(url, "full_url", url)
        if urllib.parse.urlsplit(address).hostname in LOOPBACK:
            return urlopen(url, *args, **kwargs)
        pytest.fail(f"A test tried to download {address}. Tests never use the network: "
                    f"they read the datasets from $COURSE_DATA_MIRROR.", pytrace=False)
    monkeypatch.setattr(urllib.request, "urlopen", local_only)


@pytest.fixture
def no_course_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A clean slate: none of the course's environment variables set."""
    for name in [n for n in os.environ if n.startswith("COURSE_")] + ["JPY_SESSION_NAME"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="session")
def mirror() -> Path:
    """The offline copy of the datasets: $COURSE_DATA_MIRROR, else the run's data cache if it holds every archive.

    Never a download: without an offline copy the tests that need one are skipped, with the reason.
    """
    for name in (paths.MIRROR_ENV, paths.DATA_DIR_ENV):
        folder = STARTING_ENVIRONMENT.get(name)
        if folder and all((Path(folder) / dataset / "raw" / archive).is_file()
                          for dataset, archives in MIRRORED_DATASETS.items() for archive in archives):
            return Path(folder)
    pytest.skip(f"No offline copy of MNIST and Fashion-MNIST: set {paths.MIRROR_ENV} to a folder laid out as "
                f"torchvision's (MNIST/raw/*.gz, FashionMNIST/raw/*.gz) to run the data tests.")
