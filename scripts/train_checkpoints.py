"""Train the course's own checkpoints from a fixed seed and register them in course_utils/checkpoints/.

    python scripts/train_checkpoints.py                    # every recipe below
    python scripts/train_checkpoints.py resnet8_mnist04    # just one (or several names)

Each recipe trains on the staged data (set COURSE_DATA_MIRROR offline) on the CPU with deterministic settings
and a fixed number of threads, stores the weights as a float16 state_dict, measures the stored weights on the
whole test split, and rewrites the checkpoint's entry in manifest.json (its SHA-256, accuracy, training time
and the load of the machine at the time) and the table in README.md. The same machine and library versions give
the same bytes; others may differ in the last bits, which is why the manifest is rewritten rather than checked.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torchvision
from torch import nn
from torchvision import datasets
from torchvision.transforms import v2

from course_utils import (AugmentedLoader, TensorLoader, evaluate, image_tensors, seed_everything, select_classes,
                          train_epoch)
from course_utils.architectures import ARCHITECTURES
from course_utils.data import NORMALIZATION, load_image_dataset
from course_utils.pretrained import MANIFEST, checkpoints, sha256_of

README = Path(__file__).resolve().parents[1] / "README.md"


@dataclass(frozen=True)
class Recipe:
    """What to train (architecture, data) and how (epochs, one-cycle SGD, optional flips)."""

    architecture: str
    arguments: dict[str, Any]
    dataset: str  # a torchvision dataset class of the MNIST family
    description: str
    classes: list[int] = field(default_factory=lambda: list(range(10)))
    epochs: int = 3
    max_lr: float = 0.1
    weight_decay: float = 5e-4
    batch_size: int = 128
    flips: bool = False  # random horizontal flips (clothes, not digits)
    seed: int = 0


RECIPES = {
    "resnet8_mnist04": Recipe(
        "small_resnet", {"num_classes": 5, "widths": [16, 32, 64]}, "MNIST", classes=[0, 1, 2, 3, 4],
        description="ResNet-8 on the MNIST digits 0–4: the source network for transfer learning (targets: digits "
                    "5–9, Fashion-MNIST)"),
    "resnet8_mnist": Recipe(
        "small_resnet", {"num_classes": 10, "widths": [16, 32, 64]}, "MNIST",
        description="ResNet-8 on all ten MNIST digits; its 64 pooled features (`feature_extractor`) score "
                    "generated digits"),
    "resnet8_wide_fashion": Recipe(
        "small_resnet", {"num_classes": 10, "widths": [32, 64, 128]}, "FashionMNIST", epochs=8, flips=True,
        description="wide ResNet-8 (32, 64, 128 channels) on Fashion-MNIST with random flips: a teacher for "
                    "knowledge distillation"),
}


def tensors(recipe: Recipe, train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    dataset = load_image_dataset(getattr(datasets, recipe.dataset), train=train)
    return select_classes(*image_tensors(dataset), recipe.classes)


def train(recipe: Recipe) -> tuple[nn.Module, int]:
    """Train a fresh model from the recipe's seed; return it and the number of training images."""
    seed_everything(recipe.seed)
    x_train, y_train = tensors(recipe, train=True)
    model = ARCHITECTURES[recipe.architecture](**recipe.arguments)
    loader = TensorLoader(x_train, y_train, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed)
    if recipe.flips:
        loader = AugmentedLoader(loader, v2.RandomHorizontalFlip(), group=8)
    optimizer = torch.optim.SGD(model.parameters(), lr=recipe.max_lr, momentum=0.9, nesterov=True,
                                weight_decay=recipe.weight_decay)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=recipe.max_lr,
                                                    total_steps=recipe.epochs * len(loader))
    for epoch in range(1, recipe.epochs + 1):
        stats = train_epoch(model, loader, optimizer, scheduler=scheduler, device=torch.device("cpu"), progress=False)
        print(f"  epoch {epoch}: train loss {stats['loss']:.4f}, train accuracy {stats['acc']:.2%}", flush=True)
    return model, len(x_train)


def half_precision(model: nn.Module) -> dict[str, torch.Tensor]:
    """The state_dict with floating-point tensors in float16 (half the file size); integer buffers unchanged."""
    return {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}


def stored_accuracy(recipe: Recipe, state: dict[str, torch.Tensor]) -> float:
    """Test accuracy of the weights as stored (float16 loaded into a float32 model), on the whole test split."""
    model = ARCHITECTURES[recipe.architecture](**recipe.arguments)
    model.load_state_dict(state)
    return evaluate(model, TensorLoader(*tensors(recipe, train=False), batch_size=1000))["acc"]


def write_atomically(state: dict[str, torch.Tensor], target: Path) -> None:
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    os.close(handle)
    try:
        torch.save(state, name)
        os.replace(name, target)
    finally:
        Path(name).unlink(missing_ok=True)


def register(name: str, entry: dict[str, Any]) -> None:
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {"checkpoints": {}}
    manifest["checkpoints"][name] = entry
    manifest["checkpoints"] = dict(sorted(manifest["checkpoints"].items()))
    text = json.dumps(manifest, indent=2, ensure_ascii=False)
    text = re.sub(r"\[\s+([^\[\]{}]*?)\s+\]", lambda m: "[" + " ".join(m.group(1).split()) + "]", text)  # short lists
    MANIFEST.write_text(text + "\n")


def produce(name: str, recipe: Recipe, threads: int) -> None:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    model, n_train = train(recipe)
    seconds = time.perf_counter() - start
    state = half_precision(model)
    accuracy = stored_accuracy(recipe, state)
    target = MANIFEST.parent / f"{name}.pt"
    write_atomically(state, target)
    register(name, {
        "architecture": recipe.architecture,
        "arguments": recipe.arguments,
        "file": target.name,
        "sha256": sha256_of(target),
        "description": recipe.description,
        "dataset": recipe.dataset,
        "classes": recipe.classes,
        "normalization": list(NORMALIZATION[recipe.dataset]),
        "metrics": {"test_accuracy": round(accuracy, 4)},
        "training": {
            "seconds": round(seconds), "epochs": recipe.epochs, "train_images": n_train, "seed": recipe.seed,
            "recipe": f"SGD (Nesterov momentum 0.9, weight decay {recipe.weight_decay}), one-cycle lr up to "
                      f"{recipe.max_lr}, batch {recipe.batch_size}" + (", random flips" if recipe.flips else ""),
            "threads": threads, "machine": platform.machine(),
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # at the start and at the end
            "versions": f"torch {torch.__version__}, torchvision {torchvision.__version__}",
        },
    })
    update_readme()
    print(f"{name}: {seconds:.0f} s of training, test accuracy {accuracy:.2%} (float16 weights), "
          f"{target.stat().st_size / 1e3:.0f} kB -> {target}", flush=True)


def readme_table() -> str:
    """The README's table of checkpoints, rendered from the manifest."""
    rows = ["| checkpoint | what | parameters | test accuracy | training |", "|---|---|---|---|---|"]
    for name, c in checkpoints().items():
        params = sum(p.numel() for p in ARCHITECTURES[c.architecture](**c.arguments).parameters())
        t = c.training
        training = (f"{t['epochs']} epochs on {t['train_images']:,} images: {t['seconds']} s on {t['threads']} CPU "
                    f"thread, load average {t['load_average'][0]} → {t['load_average'][1]}")
        rows.append(f"| `{name}` | {c.description} | {params:,} | {c.metrics['test_accuracy']:.2%} | {training} |")
    return "\n".join(rows)


def update_readme() -> None:
    start, end = "<!-- checkpoints:start -->\n", "\n<!-- checkpoints:end -->"
    text = README.read_text()
    README.write_text(re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: start + readme_table() + end,
                             text, flags=re.DOTALL))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME",
                        help=f"checkpoints to train (default: all of {', '.join(RECIPES)})")
    parser.add_argument("--threads", type=int, default=1,
                        help="CPU threads; fixed so that a rerun gives the same bytes (default 1)")
    args = parser.parse_args()
    unknown = sorted(set(args.names) - set(RECIPES))
    if unknown:
        parser.error(f"unknown checkpoint(s) {', '.join(unknown)}; known: {', '.join(RECIPES)}")
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    for name in args.names or list(RECIPES):
        print(f"Training {name}: {RECIPES[name].description}", flush=True)
        produce(name, RECIPES[name], args.threads)


if __name__ == "__main__":
    main()
