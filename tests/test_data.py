"""Data staging from a mirror, checksums, clear errors, and in-memory batching."""
from __future__ import annotations

import http.server
import os
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from torchvision import datasets
from torchvision.datasets.utils import check_integrity

from course_utils import data as data_module
from course_utils.data import (AugmentedLoader, DatasetUnavailable, TensorLoader, data_root, gunzip_size, image_tensors,
                               load_fashion_mnist, load_mnist, select_classes, stage_from_mirror)


@pytest.fixture
def empty_cache(tmp_path, no_course_env) -> Path:
    cache = tmp_path / "cache"
    no_course_env.setenv("COURSE_DATA_DIR", str(cache))
    return cache


@pytest.mark.real_cache
def test_data_root_comes_from_the_environment_or_a_home_cache(tmp_path, no_course_env):
    no_course_env.setenv("HOME", str(tmp_path / "home"))
    assert data_root() == tmp_path / "home" / ".cache" / "dl-course" / "data"
    no_course_env.setenv("COURSE_DATA_DIR", str(tmp_path / "here"))
    assert data_root() == tmp_path / "here" and data_root().is_dir()


def test_mnist_is_staged_from_the_mirror_and_loads_offline(mirror, empty_cache, no_course_env):
    no_course_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    no_course_env.setattr(datasets.MNIST, "mirrors", ["http://127.0.0.1:9/"])  # any download attempt fails
    train, test = load_mnist(train=True), load_mnist(train=False)
    assert (len(train), len(test)) == (60000, 10000)
    staged = sorted(p.name for p in (empty_cache / "MNIST" / "raw").glob("*.gz"))
    assert staged == sorted(name for name, _ in datasets.MNIST.resources)


def test_fashion_mnist_loads_and_tensors_are_standardised(mirror, empty_cache, no_course_env):
    no_course_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    images, labels = image_tensors(load_fashion_mnist(train=True))
    assert images.shape == (60000, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and sorted(labels.unique().tolist()) == list(range(10))
    assert abs(images.mean().item()) < 0.01 and abs(images.std().item() - 1) < 0.01
    few, _ = image_tensors(load_fashion_mnist(train=False), limit=100, normalize=False)
    assert few.shape[0] == 100 and 0 <= few.min() and few.max() <= 1


def test_staging_skips_files_already_in_the_cache(mirror, tmp_path):
    assert len(stage_from_mirror(datasets.MNIST, tmp_path, mirror)) == 4
    assert stage_from_mirror(datasets.MNIST, tmp_path, mirror) == []


def test_a_corrupt_mirror_file_is_rejected_and_leaves_nothing_behind(tmp_path):
    bad_mirror = tmp_path / "mirror" / "MNIST" / "raw"
    bad_mirror.mkdir(parents=True)
    (bad_mirror / "train-images-idx3-ubyte.gz").write_bytes(b"not an archive")
    cache = tmp_path / "cache"
    with pytest.raises(DatasetUnavailable, match="corrupt"):
        stage_from_mirror(datasets.MNIST, cache, tmp_path / "mirror")
    assert list((cache / "MNIST" / "raw").iterdir()) == []


def assert_mnist_cache_is_complete(cache: Path) -> None:
    raw = cache / "MNIST" / "raw"
    for archive, md5 in datasets.MNIST.resources:
        assert check_integrity(str(raw / archive), md5), archive
        extracted = raw / archive.removesuffix(".gz")
        assert extracted.stat().st_size == gunzip_size(raw / archive), extracted
    assert not list(raw.glob("*.partial"))
    umask = os.umask(0)
    os.umask(umask)
    for path in raw.iterdir():  # readable like any other file (a shared or sandboxed cache needs that)
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


# Each worker imports everything, says it is ready, waits for the common start signal, then loads MNIST.
STAGE_AND_LOAD = """
import sys, time
from pathlib import Path
from course_utils import load_mnist
Path(sys.argv[1]).touch()
while not Path(sys.argv[2]).exists():
    time.sleep(0.005)
print(len(load_mnist(train=True)), len(load_mnist(train=False)))
"""


def test_parallel_processes_stage_one_fresh_cache_safely(mirror, tmp_path):
    cache, go = tmp_path / "cache", tmp_path / "go"
    env = {**os.environ, "COURSE_DATA_DIR": str(cache), "COURSE_DATA_MIRROR": str(mirror), "OMP_NUM_THREADS": "1"}
    workers = [subprocess.Popen([sys.executable, "-c", STAGE_AND_LOAD, str(tmp_path / f"ready-{i}"), str(go)],
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    deadline = time.monotonic() + 300
    while len(list(tmp_path.glob("ready-*"))) < len(workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    go.touch()  # all four start staging into the empty cache at the same moment
    results = [worker.communicate(timeout=300) for worker in workers]
    for worker, (out, err) in zip(workers, results):
        assert worker.returncode == 0 and out.split() == ["60000", "10000"], err
    assert_mnist_cache_is_complete(cache)


def test_an_extracted_file_cut_short_is_extracted_again(mirror, empty_cache, no_course_env):
    no_course_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    load_mnist(train=False)
    extracted = empty_cache / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    complete = extracted.read_bytes()
    extracted.write_bytes(complete[:len(complete) // 3])  # e.g. a process killed while extracting
    assert len(load_mnist(train=False)) == 10000
    assert extracted.read_bytes() == complete
    assert_mnist_cache_is_complete(empty_cache)


def test_broken_archives_and_extracted_files_are_removed_and_the_error_says_why(mirror, empty_cache, no_course_env):
    no_course_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    load_mnist(train=False)
    no_course_env.delenv("COURSE_DATA_MIRROR")
    raw = empty_cache / "MNIST" / "raw"
    archive, extracted = raw / "t10k-images-idx3-ubyte.gz", raw / "t10k-images-idx3-ubyte"
    archive.write_bytes(archive.read_bytes()[:1000])
    extracted.write_bytes(extracted.read_bytes()[:1000])
    with pytest.raises(DatasetUnavailable, match="reading it failed") as error:
        load_mnist(train=False)
    assert ("Removed these broken files from the cache: t10k-images-idx3-ubyte, t10k-images-idx3-ubyte.gz"
            in str(error.value))
    assert not archive.exists() and not extracted.exists()
    assert (raw / "t10k-labels-idx1-ubyte.gz").exists()  # intact files stay


def test_a_stale_temporary_file_from_a_crashed_copy_does_no_harm(mirror, empty_cache, no_course_env):
    no_course_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    raw = empty_cache / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "train-images-idx3-ubyte.gz.partial").write_bytes(b"half a copy")
    assert len(load_mnist(train=False)) == 10000


def test_a_complete_cache_is_read_without_taking_the_lock(mirror, empty_cache, no_course_env, monkeypatch):
    """So a read-only cache (the grading sandbox mounts it so) loads: nothing is written, not even a lock."""
    no_course_env.setenv("COURSE_DATA_MIRROR", str(mirror))
    load_mnist(train=False)

    def no_writing(folder):
        raise AssertionError(f"tried to lock {folder} although the cache is complete")

    monkeypatch.setattr(data_module, "staging_lock", no_writing)
    assert len(load_mnist(train=False)) == 10000


def test_tests_cannot_download():
    with pytest.raises(pytest.fail.Exception, match="never use the network"):
        urllib.request.urlopen("https://example.com/")


def test_tests_can_reach_servers_they_started_on_this_machine():
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/", timeout=10) as response:
            assert response.status == 200
    finally:
        thread.join(timeout=10)
        server.server_close()


def test_unavailable_data_is_one_clear_paragraph_and_no_partial_files(empty_cache, no_course_env):
    def failing_download(self):
        raw = Path(self.raw_folder)
        raw.mkdir(parents=True, exist_ok=True)
        (raw / "train-images-idx3-ubyte.gz").write_bytes(b"half a download")
        raise RuntimeError("Error downloading train-images-idx3-ubyte.gz")

    no_course_env.setattr(datasets.MNIST, "download", failing_download)
    with pytest.raises(DatasetUnavailable) as error:
        load_mnist()
    message = str(error.value)
    for needed in ("MNIST is not available", str(empty_cache / "MNIST" / "raw"), "COURSE_DATA_MIRROR",
                   "To fix it", "train-images-idx3-ubyte.gz"):
        assert needed in message
    assert "\n" not in message and error.value.__suppress_context__
    assert list((empty_cache / "MNIST" / "raw").iterdir()) == []


def test_tensor_loader_covers_every_sample_once_per_epoch():
    x, y = torch.arange(10).float().unsqueeze(1), torch.arange(10)
    loader = TensorLoader(x, y, batch_size=4, shuffle=True, seed=0)
    assert len(loader) == 3
    batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    seen = torch.cat([b[1] for b in batches])
    assert sorted(seen.tolist()) == list(range(10)) and seen.tolist() != list(range(10))
    assert all(torch.equal(bx.squeeze(1).long(), by) for bx, by in batches)


def test_tensor_loader_is_repeatable_with_a_seed_and_can_drop_the_last_batch():
    x = torch.arange(10)
    first = [b[0].tolist() for b in TensorLoader(x, batch_size=3, shuffle=True, seed=5)]
    assert first == [b[0].tolist() for b in TensorLoader(x, batch_size=3, shuffle=True, seed=5)]
    dropped = TensorLoader(x, batch_size=3, drop_last=True)
    assert len(dropped) == 3 and [b[0].tolist() for b in dropped][-1] == [6, 7, 8]


def test_augmented_loader_transforms_images_per_group_and_keeps_labels():
    x, y = torch.zeros(10, 1, 2, 2), torch.arange(10)
    calls = []

    def count(images):
        calls.append(len(images))
        return images + len(calls)

    loader = AugmentedLoader(TensorLoader(x, y, batch_size=6), count, group=4)
    batches = list(loader)
    assert len(loader) == 2 and calls == [4, 2, 4]
    assert [b[0][:, 0, 0, 0].tolist() for b in batches] == [[1.0] * 4 + [2.0] * 2, [3.0] * 4]
    assert torch.equal(torch.cat([b[1] for b in batches]), y)
    calls.clear()
    assert [len(b[0]) for b in AugmentedLoader(TensorLoader(x, y, batch_size=6), count)] == [6, 4]
    assert calls == [6, 4]


def test_tensor_loader_rejects_tensors_of_different_lengths():
    with pytest.raises(ValueError):
        TensorLoader(torch.zeros(3), torch.zeros(4))


def test_select_classes_keeps_the_chosen_labels_and_renumbers_them_in_the_given_order():
    images = torch.arange(8.0).reshape(8, 1, 1, 1)
    labels = torch.tensor([5, 0, 9, 5, 7, 1, 9, 3])
    x, y = select_classes(images, labels, [9, 5])
    assert x.flatten().tolist() == [0.0, 2.0, 3.0, 6.0] and y.tolist() == [1, 0, 1, 0]
    x, y = select_classes(images, labels, [11])  # a class that does not occur
    assert len(x) == len(y) == 0
