"""Pretrained weights: the course's own small checkpoints, and torchvision's ImageNet weights from a mirror.

Course checkpoints are small models the course trains itself on the staged datasets
(`scripts/train_checkpoints.py`). They ship inside this package, are listed with their SHA-256 in
`checkpoints/manifest.json`, and are verified before every load:

    model = load_checkpoint("resnet8_mnist04")      # eval mode, float32, on the CPU unless `device` is given
    features = feature_extractor("resnet8_mnist")   # images (N, 1, 28, 28) -> penultimate features (N, 64)
    pixel_features = PixelFeatures("resnet8_mnist") # pixels in [0, 1] -> the same features (torchmetrics' FID)

torchvision's own weights go through torchvision's API and the torch hub cache. When $COURSE_WEIGHTS_MIRROR
names a folder holding the weight files under their torch hub names (e.g. `resnet18-f37072fd.pth`, the
contents of `~/.cache/torch/hub/checkpoints`), a missing file is copied into the cache first and checked
against the hash prefix in its name, so torchvision finds it and never touches the network:

    model = torchvision_model("resnet18", weights="IMAGENET1K_V1")
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision.models import WeightsEnum

from .architectures import ARCHITECTURES
from .paths import WEIGHTS_MIRROR_ENV, sha256_of, weights_mirror_dir

CHECKPOINT_DIR = Path(__file__).resolve().with_name("checkpoints")
MANIFEST = CHECKPOINT_DIR / "manifest.json"
REGENERATE = "python scripts/train_checkpoints.py {name}"


class CheckpointUnavailable(RuntimeError):
    """A course checkpoint is not registered, missing, or does not match its SHA-256."""


class WeightsUnavailable(RuntimeError):
    """torchvision weights are neither in the torch hub cache, nor in the mirror, nor downloadable."""


@dataclass(frozen=True)
class Checkpoint:
    """One entry of the manifest: how to build the model, where its weights are, and what they reach."""

    name: str
    architecture: str
    arguments: dict[str, Any]
    file: str
    sha256: str
    description: str
    dataset: str | None = None
    classes: list[int] | None = None  # the dataset's labels the model predicts, in output order
    normalization: list[float] | None = None  # [mean, std] the inputs were standardised with
    metrics: dict[str, float] = field(default_factory=dict)  # measured on the full test split
    training: dict[str, Any] = field(default_factory=dict)  # seconds, epochs, machine load, versions

    @property
    def path(self) -> Path:
        return CHECKPOINT_DIR / self.file

    @property
    def command(self) -> str:
        """The command (from the repository root) that regenerates this checkpoint."""
        return REGENERATE.format(name=self.name)


def read_manifest() -> dict[str, dict[str, Any]]:
    """The raw manifest: checkpoint name -> its fields."""
    return json.loads(MANIFEST.read_text())["checkpoints"]


def checkpoints() -> dict[str, Checkpoint]:
    """Every registered course checkpoint, by name."""
    return {name: Checkpoint(name=name, **entry) for name, entry in read_manifest().items()}


def checkpoint_info(name: str) -> Checkpoint:
    """The manifest entry of one checkpoint (dataset, classes, normalisation, accuracy, training time)."""
    registered = checkpoints()
    if name not in registered:
        raise CheckpointUnavailable(f"There is no course checkpoint called {name!r}. The registered ones are "
                                    f"{', '.join(sorted(registered))} (see {MANIFEST}).")
    return registered[name]


def verified_path(checkpoint: Checkpoint) -> Path:
    """The checkpoint's file, after checking that it exists and matches the manifest's SHA-256."""
    path = checkpoint.path
    if not path.is_file():
        raise CheckpointUnavailable(
            f"The course checkpoint {checkpoint.name!r} is missing: {path} does not exist. It ships with the "
            f"course package, so the installation is incomplete. To fix it, reinstall the course (`pip install "
            f"-e .` in the repository) or regenerate the file from the repository root with `{checkpoint.command}` "
            f"(it trains {checkpoint.description.rstrip('.')}).")
    actual = sha256_of(path)
    if actual != checkpoint.sha256:
        raise CheckpointUnavailable(
            f"The course checkpoint {checkpoint.name!r} is corrupt or out of date: the SHA-256 of {path} is "
            f"{actual}, but the manifest {MANIFEST} expects {checkpoint.sha256}. To fix it, restore the file "
            f"(`git checkout -- {path.name}` in course_utils/checkpoints) or regenerate it from the repository root "
            f"with `{checkpoint.command}`, which rewrites the file and its SHA-256 in the manifest.")
    return path


def build_model(name: str) -> nn.Module:
    """A freshly initialised model with the architecture of checkpoint `name` (no pretrained weights)."""
    checkpoint = checkpoint_info(name)
    return ARCHITECTURES[checkpoint.architecture](**checkpoint.arguments)


def load_checkpoint(name: str, device: torch.device | str | None = None) -> nn.Module:
    """The course checkpoint `name` with its trained weights, verified by SHA-256, in eval mode, float32.

    The weights are stored in float16 to keep the files small; they are loaded into a float32 model.
    """
    checkpoint = checkpoint_info(name)
    state = torch.load(verified_path(checkpoint), map_location="cpu", weights_only=True)
    model = build_model(name)
    model.load_state_dict(state)  # copies (and converts) float16 values into the float32 parameters
    return model.to(device or "cpu").eval()


def feature_extractor(name: str = "resnet8_mnist", device: torch.device | str | None = None) -> nn.Module:
    """Checkpoint `name` without its last layer, frozen and in eval mode: inputs -> penultimate features.

    For the course's classifiers this maps standardised images (N, 1, 28, 28) to the (N, D) vector the
    classification head sees, e.g. for a Fréchet distance between real and generated digits.
    """
    model = load_checkpoint(name, device)
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"{name!r} is a {type(model).__name__}, not an nn.Sequential: it has no last layer to drop.")
    features = model[:-1]
    features.requires_grad_(False)
    return features.eval()


class PixelFeatures(nn.Module):
    """The penultimate features of course classifier `name` for images with pixels in [0, 1] (N, C, H, W).

    It standardises the pixels as the classifier was trained and returns (N, num_features) float32 features,
    frozen, in eval mode. uint8 images in [0, 255] are divided by 255 first. It is a `feature` network for
    torchmetrics' Fréchet distance, which then needs neither Inception weights nor torch-fidelity:

        fid = FrechetInceptionDistance(feature=PixelFeatures("resnet8_mnist"), normalize=True)
        fid.update(real_pixels, real=True); fid.update(generated_pixels, real=False); fid.compute()

    (`normalize=True` only tells torchmetrics that the images are floats; with a custom network it passes them on
    unchanged.) `num_features` is the feature dimension torchmetrics reads.
    """

    def __init__(self, name: str = "resnet8_mnist", device: torch.device | str | None = None) -> None:
        super().__init__()
        checkpoint = checkpoint_info(name)
        if checkpoint.normalization is None:
            raise ValueError(f"{name!r} has no input normalisation in the manifest: it does not classify pixels.")
        self.network = feature_extractor(name, device)
        head = load_checkpoint(name)[-1]
        if not isinstance(head, nn.Linear):
            raise TypeError(f"{name!r} ends in a {type(head).__name__}, not a linear classification head.")
        self.num_features: int = head.in_features
        mean, std = checkpoint.normalization
        self.register_buffer("mean", torch.tensor(float(mean), device=device), persistent=False)
        self.register_buffer("std", torch.tensor(float(std), device=device), persistent=False)

    @torch.no_grad()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pixels = images.float() / 255 if images.dtype == torch.uint8 else images.float()
        return self.network((pixels - self.mean) / self.std)

    def train(self, mode: bool = True) -> PixelFeatures:
        """Always in eval mode: the classifier's batch-norm statistics are frozen (a metric may call .train())."""
        return super().train(False)


# --- torchvision's own pretrained weights -------------------------------------------------------------------


def hub_checkpoint_dir() -> Path:
    """The folder where torchvision looks for weight files: <torch hub dir>/checkpoints ($TORCH_HOME)."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _file_name(weights: WeightsEnum) -> str:
    return os.path.basename(torch.hub.urlparse(weights.url).path)


def _expected_prefix(file_name: str) -> str | None:
    """The leading SHA-256 digits torch hub file names carry (`resnet18-f37072fd.pth` -> `f37072fd`)."""
    match = torch.hub.HASH_REGEX.search(file_name)
    return match.group(1) if match and match.group(1) else None


def _matches_name(path: Path, file_name: str) -> bool:
    """True if `path` is a file whose SHA-256 starts with the hash prefix in `file_name` (or the name has none)."""
    prefix = _expected_prefix(file_name)
    return path.is_file() and (prefix is None or sha256_of(path).startswith(prefix))


def stage_torchvision_weights(weights: WeightsEnum) -> Path:
    """Put `weights`' file into the torch hub cache from $COURSE_WEIGHTS_MIRROR if it is not there; return its path.

    The copy is written under a unique temporary name in the cache and renamed only once its SHA-256 matches
    the prefix in the file name, so a corrupt or interrupted copy never becomes the cached file. A cached file
    that fails the check is removed (torchvision would otherwise load it without checking). Without a mirror,
    nothing is copied and torchvision downloads the file as usual.
    """
    target = hub_checkpoint_dir() / _file_name(weights)
    if _matches_name(target, target.name):
        return target
    target.unlink(missing_ok=True)
    mirror = weights_mirror_dir()
    source = mirror / target.name if mirror is not None else None
    if source is None or not source.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        shutil.copyfile(source, partial)
        if not _matches_name(partial, target.name):
            raise WeightsUnavailable(
                f"{source} is corrupt: its SHA-256 does not start with {_expected_prefix(target.name)}, the hash "
                f"prefix in its name. Replace it with the original file from {weights.url} (or unset "
                f"{WEIGHTS_MIRROR_ENV} to download it).")
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return target


def _unavailable_message(weights: WeightsEnum, target: Path, error: Exception) -> str:
    mirror = weights_mirror_dir()
    looked = (f"the mirror {mirror} (${WEIGHTS_MIRROR_ENV}) has no {target.name}" if mirror is not None
              else f"there is no mirror (${WEIGHTS_MIRROR_ENV} is not set)")
    return (f"The pretrained weights {weights} are not available. They are not in the torch hub cache "
            f"{target.parent} ($TORCH_HOME) in a form that loads, {looked}, and downloading {weights.url} "
            f"failed ({type(error).__name__}: {error}). To fix it: connect to the internet and run again, or copy "
            f"{target.name} (downloaded once on a connected machine, from {weights.url} or from its "
            f"~/.cache/torch/hub/checkpoints) into a folder and set {WEIGHTS_MIRROR_ENV}=<folder>.")


def torchvision_model(name: str, weights: str | WeightsEnum | None = "DEFAULT", **kwargs: Any) -> nn.Module:
    """`torchvision.models.get_model(name, weights=...)`, with the weight file staged from the mirror first.

    `weights` is an enum member (`ResNet18_Weights.IMAGENET1K_V1`), its name (`"IMAGENET1K_V1"`, `"DEFAULT"`),
    or None for random initialisation. Calling torchvision directly after `stage_torchvision_weights(weights)`
    is equivalent.
    """
    if isinstance(weights, str):
        weights = torchvision.models.get_model_weights(name)[weights]
    if weights is None:
        return torchvision.models.get_model(name, weights=None, **kwargs)
    target = stage_torchvision_weights(weights)
    try:
        return torchvision.models.get_model(name, weights=weights, **kwargs)
    except (OSError, RuntimeError) as error:  # URLError is an OSError; a bad download a RuntimeError
        if not _matches_name(target, target.name):
            target.unlink(missing_ok=True)
        raise WeightsUnavailable(_unavailable_message(weights, target, error)) from None
