"""Real datasets through torchvision, staged from an offline mirror when one is configured.

Students online get torchvision's normal download into one cache directory. Classrooms without
internet, and CI, point $COURSE_DATA_MIRROR at a folder laid out like torchvision's own
(`MNIST/raw/*.gz`): the archives are copied into the cache and checksummed first, so torchvision then
finds them and never touches the network. The code path is the same in both cases.
"""
from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

import torch
from torchvision import datasets
from torchvision.datasets.utils import check_integrity

from .paths import DATA_DIR_ENV, MIRROR_ENV, DatasetUnavailable, data_root, mirror_dir

# Per-pixel mean and std of each training set (pixels scaled to [0, 1]).
NORMALIZATION = {"MNIST": (0.1307, 0.3081), "FashionMNIST": (0.2860, 0.3530)}


def _raw_folder(cls: type[datasets.MNIST], root: Path) -> Path:
    return root / cls.__name__ / "raw"


def stage_from_mirror(cls: type[datasets.MNIST], root: Path, mirror: Path) -> list[Path]:
    """Copy the dataset's archives from `mirror` into `root`, verifying each md5; return what was copied.

    A file is written under a temporary name and renamed only once its checksum matches, so an
    interrupted or corrupt copy never leaves a partial archive in the cache.
    """
    copied = []
    target_dir = _raw_folder(cls, root)
    for filename, md5 in cls.resources:
        target = target_dir / filename
        source = _raw_folder(cls, mirror) / filename
        if check_integrity(str(target), md5) or not source.is_file():
            continue
        target_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + ".partial")
        shutil.copyfile(source, partial)
        if not check_integrity(str(partial), md5):
            partial.unlink()
            raise DatasetUnavailable(f"{source} is corrupt: its md5 is not {md5}. Replace it with the original "
                                     f"archive (or unset {MIRROR_ENV} to download it).")
        partial.replace(target)
        copied.append(target)
    return copied


def _remove_broken_archives(cls: type[datasets.MNIST], root: Path) -> None:
    for filename, md5 in cls.resources:
        for path in (_raw_folder(cls, root) / filename, _raw_folder(cls, root) / (filename + ".partial")):
            if path.exists() and not check_integrity(str(path), md5):
                path.unlink()


def _unavailable_message(cls: type[datasets.MNIST], root: Path, mirror: Path | None, error: Exception) -> str:
    looked = f"the mirror {_raw_folder(cls, mirror)} (${MIRROR_ENV})" if mirror else f"no mirror (${MIRROR_ENV} is not set)"
    return (f"{cls.__name__} is not available. It is not in the data cache {_raw_folder(cls, root)} "
            f"(${DATA_DIR_ENV}), there was {looked}, and downloading failed ({type(error).__name__}: {error}). "
            f"To fix it: connect to the internet and run again, or copy the original archives "
            f"({', '.join(name for name, _ in cls.resources)}) into a folder laid out as "
            f"<mirror>/{cls.__name__}/raw/ and set {MIRROR_ENV}=<mirror>.")


def load_image_dataset(cls: type[datasets.MNIST], train: bool = True, root: Path | None = None) -> datasets.MNIST:
    """Load an MNIST-family torchvision dataset, staging it from the mirror first when configured."""
    root = Path(root) if root is not None else data_root()
    mirror = mirror_dir()
    if mirror is not None:
        stage_from_mirror(cls, root, mirror)
    try:
        return cls(str(root), train=train, download=True)
    except (RuntimeError, OSError) as error:
        _remove_broken_archives(cls, root)
        raise DatasetUnavailable(_unavailable_message(cls, root, mirror, error)) from None


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
