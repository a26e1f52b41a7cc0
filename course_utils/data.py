"""Real datasets through torchvision, staged from an offline mirror when one is configured.

Students online get torchvision's normal download into one cache directory. Classrooms without
internet, and CI, point $COURSE_DATA_MIRROR at a folder laid out like torchvision's own
(`MNIST/raw/*.gz`): the archives are copied into the cache and checksummed first, so torchvision then
finds them and never touches the network. The code path is the same in both cases.
"""
from __future__ import annotations

import gzip
import os
import shutil
import secrets
import struct
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from filelock import FileLock, Timeout
from torchvision import datasets
from torchvision.datasets.utils import check_integrity

from .paths import DATA_DIR_ENV, MIRROR_ENV, data_root, mirror_dir

# Per-pixel mean and std of each training set (pixels scaled to [0, 1]).
NORMALIZATION = {"MNIST": (0.1307, 0.3081), "FashionMNIST": (0.2860, 0.3530)}
LOCK_TIMEOUT_S = 600
PARTIAL_SUFFIX = ".partial"


class DatasetUnavailable(RuntimeError):
    """A dataset is neither in the cache, nor in the mirror, nor downloadable."""


@contextmanager
def staging_lock(folder: Path) -> Iterator[None]:
    """Hold a lock on `folder` (the file `<folder>.lock` next to it) while writing into it, one process at a time.

    The operating system releases the lock when its process dies, so a crash never leaves the cache locked.
    """
    folder.mkdir(parents=True, exist_ok=True)
    lock = FileLock(folder.with_name(folder.name + ".lock"), timeout=LOCK_TIMEOUT_S)
    try:
        with lock:
            yield
    except Timeout:
        raise DatasetUnavailable(f"Waited {LOCK_TIMEOUT_S} s for another process to finish writing {folder} "
                                 f"(lock file {lock.lock_file}). Stop the process that holds it and run again."
                                 ) from None


@contextmanager
def _temporary_twin(target: Path) -> Iterator[Path]:
    """A unique file name next to `target` to write to; the file replaces `target` atomically if the block succeeds.

    (Not `tempfile.mkstemp`: its files are private to their owner, and a shared or sandboxed cache must stay readable.)
    """
    temporary = target.with_name(f"{target.name}.{os.getpid()}-{secrets.token_hex(4)}{PARTIAL_SUFFIX}")
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


def copy_verified(source: Path, target: Path, md5: str) -> None:
    """Copy `source` to `target` only if the copy's md5 is `md5`; a failed copy leaves `target` untouched."""
    with _temporary_twin(target) as partial:
        shutil.copyfile(source, partial)
        if not check_integrity(str(partial), md5):
            raise DatasetUnavailable(f"{source} is corrupt: its md5 is not {md5}. Replace it with the original "
                                     f"archive (or unset {MIRROR_ENV} to download it).")


def gunzip_size(archive: Path) -> int:
    """The size of `archive`'s decompressed content, as gzip records it (modulo 4 GiB)."""
    with open(archive, "rb") as file:
        file.seek(-4, os.SEEK_END)
        return struct.unpack("<I", file.read(4))[0]


def extract_verified(archive: Path, target: Path) -> None:
    """Decompress the gzip `archive` into `target` under a temporary name, then rename it into place."""
    with _temporary_twin(target) as partial, gzip.open(archive, "rb") as source, open(partial, "wb") as out:
        shutil.copyfileobj(source, out, length=1 << 20)


def _raw_folder(cls: type[datasets.MNIST], root: Path) -> Path:
    return root / cls.__name__ / "raw"


def _extracted(archive: Path) -> Path:
    return archive.with_name(archive.name.removesuffix(".gz"))


def _extracted_is_complete(archive: Path) -> bool:
    """The extracted file exists and is as long as its archive says (a file cut short fails)."""
    extracted = _extracted(archive)
    if not extracted.is_file():
        return False
    if not archive.is_file():
        return True  # nothing to compare with: trust it, as torchvision does
    try:
        return extracted.stat().st_size % 2 ** 32 == gunzip_size(archive)
    except OSError:  # an archive shorter than gzip's trailer
        return False


def _is_ready(cls: type[datasets.MNIST], root: Path) -> bool:
    return all(_extracted_is_complete(_raw_folder(cls, root) / filename) for filename, _ in cls.resources)


def _stage(cls: type[datasets.MNIST], root: Path, mirror: Path) -> list[Path]:
    copied = []
    for filename, md5 in cls.resources:
        target = _raw_folder(cls, root) / filename
        source = _raw_folder(cls, mirror) / filename
        if check_integrity(str(target), md5) or not source.is_file():
            continue
        copy_verified(source, target, md5)
        copied.append(target)
    return copied


def stage_from_mirror(cls: type[datasets.MNIST], root: Path, mirror: Path) -> list[Path]:
    """Copy the dataset's archives from `mirror` into `root`, verifying each md5; return what was copied.

    Safe in parallel: one process at a time copies (a file lock), each file is written under a unique
    temporary name and renamed only once its checksum matches, so an interrupted or corrupt copy never
    leaves a partial archive in the cache.
    """
    with staging_lock(_raw_folder(cls, root)):
        return _stage(cls, root, mirror)


def _extract_archives(cls: type[datasets.MNIST], root: Path) -> None:
    """(Re-)extract every verified archive whose extracted file is missing or cut short."""
    for filename, md5 in cls.resources:
        archive = _raw_folder(cls, root) / filename
        if check_integrity(str(archive), md5) and not _extracted_is_complete(archive):
            extract_verified(archive, _extracted(archive))


def _remove_broken_files(cls: type[datasets.MNIST], root: Path) -> list[str]:
    """Delete archives that fail their md5, extracted files cut short and temporary files; return their names."""
    raw = _raw_folder(cls, root)
    broken = []
    for name, md5 in cls.resources:
        archive, extracted = raw / name, _extracted(raw / name)
        if extracted.is_file() and not _extracted_is_complete(archive):
            broken.append(extracted)
        if archive.exists() and not check_integrity(str(archive), md5):
            broken.append(archive)
    broken += sorted(raw.glob(f"*{PARTIAL_SUFFIX}"))
    for path in broken:
        path.unlink()
    return [path.name for path in broken]


def _remove_broken_files_if_possible(cls: type[datasets.MNIST], root: Path) -> list[str]:
    try:
        with staging_lock(_raw_folder(cls, root)):
            return _remove_broken_files(cls, root)
    except (OSError, DatasetUnavailable):  # a read-only cache, or another process busy in it
        return []


def _unavailable_message(cls: type[datasets.MNIST], root: Path, mirror: Path | None, error: Exception,
                         removed: list[str]) -> str:
    looked = (f"the mirror {_raw_folder(cls, mirror)} (${MIRROR_ENV})" if mirror
              else f"no mirror (${MIRROR_ENV} is not set)")
    cleaned = f"Removed these broken files from the cache: {', '.join(removed)}. " if removed else ""
    return (f"{cls.__name__} is not available. It is not complete in the data cache {_raw_folder(cls, root)} "
            f"(${DATA_DIR_ENV}), there was {looked}, and downloading or reading it failed "
            f"({type(error).__name__}: {' '.join(str(error).split())}). {cleaned}"
            f"To fix it: connect to the internet and run again, or copy the original archives "
            f"({', '.join(name for name, _ in cls.resources)}) into a folder laid out as "
            f"<mirror>/{cls.__name__}/raw/ and set {MIRROR_ENV}=<mirror>.")


def load_image_dataset(cls: type[datasets.MNIST], train: bool = True, root: Path | None = None) -> datasets.MNIST:
    """Load an MNIST-family torchvision dataset, staging it from the mirror first when configured.

    A complete cache is read without locking (it may be read-only). Otherwise one process at a time
    stages the archives, extracts them (again, if an extracted file was cut short) and, with no mirror,
    lets torchvision download what is missing.
    """
    root = Path(root) if root is not None else data_root()
    mirror = mirror_dir()
    try:
        if not _is_ready(cls, root):
            with staging_lock(_raw_folder(cls, root)):
                if mirror is not None:
                    _stage(cls, root, mirror)
                _extract_archives(cls, root)
                if not _is_ready(cls, root):
                    cls(str(root), train=train, download=True)  # downloads and extracts what is missing
        return cls(str(root), train=train)
    except DatasetUnavailable:
        raise
    except (RuntimeError, OSError) as error:
        removed = _remove_broken_files_if_possible(cls, root)
        raise DatasetUnavailable(_unavailable_message(cls, root, mirror, error, removed)) from None


def load_mnist(train: bool = True, root: Path | None = None) -> datasets.MNIST:
    """MNIST handwritten digits (60k train / 10k test, 28x28 grey)."""
    return load_image_dataset(datasets.MNIST, train, root)


def load_fashion_mnist(train: bool = True, root: Path | None = None) -> datasets.FashionMNIST:
    """Fashion-MNIST clothing images (60k train / 10k test, 28x28 grey)."""
    return load_image_dataset(datasets.FashionMNIST, train, root)


def image_tensors(dataset: datasets.MNIST, limit: int | None = None,
                  normalize: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole dataset as tensors: images float32 (N, 1, H, W), standardised; labels int64 (N,).

    Decoding every sample through PIL in a DataLoader is several times slower than training a
    small network on a CPU; small datasets fit in memory, so convert them once.
    """
    images = dataset.data[:limit].unsqueeze(1).float().div_(255)
    if normalize:
        mean, std = NORMALIZATION.get(type(dataset).__name__, (images.mean().item(), images.std().item()))
        images.sub_(mean).div_(std)
    return images, dataset.targets[:limit].clone()


def select_classes(images: torch.Tensor, labels: torch.Tensor,
                   classes: Iterable[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """The samples whose label is in `classes`, relabelled 0, 1, … in the order of `classes`.

    `select_classes(x, y, [5, 6, 7, 8, 9])` keeps the digits 5–9 and labels them 0–4.
    """
    classes = torch.as_tensor(list(classes), dtype=labels.dtype)
    keep = torch.isin(labels, classes)
    relabel = torch.full((int(max(labels.max(), classes.max())) + 1,), -1, dtype=labels.dtype)
    relabel[classes] = torch.arange(len(classes), dtype=labels.dtype)
    return images[keep], relabel[labels[keep]]


class TensorLoader:
    """Shuffled mini-batches from in-memory tensors: one indexing op per batch, on any device."""

    def __init__(self, *tensors: torch.Tensor, batch_size: int = 128, shuffle: bool = False,
                 drop_last: bool = False, device: torch.device | str | None = None, seed: int | None = None):
        if not tensors or any(len(t) != len(tensors[0]) for t in tensors):
            raise ValueError("TensorLoader needs one or more tensors of equal length.")
        self.tensors = tuple(t.to(device) if device is not None else t for t in tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator().manual_seed(seed) if seed is not None else None

    def __len__(self) -> int:
        n = len(self.tensors[0])
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def __iter__(self):
        n = len(self.tensors[0])
        order = torch.randperm(n, generator=self.generator) if self.shuffle else torch.arange(n)
        order = order.to(self.tensors[0].device)
        for batch in range(len(self)):
            index = order[batch * self.batch_size:(batch + 1) * self.batch_size]
            yield tuple(t[index] for t in self.tensors)


class AugmentedLoader:
    """A loader of (images, labels) batches whose images pass through `transform` first; labels are unchanged.

    A torchvision v2 transform draws its random parameters once per call, so with `group=k` it is called on
    chunks of k images (each chunk transformed differently); with `group=None`, once on the whole batch.
    """

    def __init__(self, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
                 transform: Callable[[torch.Tensor], torch.Tensor], group: int | None = None):
        self.loader, self.transform, self.group = loader, transform, group

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for images, labels in self.loader:
            if self.group is None:
                yield self.transform(images), labels
            else:
                yield torch.cat([self.transform(chunk) for chunk in images.split(self.group)]), labels
