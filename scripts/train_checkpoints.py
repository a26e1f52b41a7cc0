"""Train the course's own checkpoints from a fixed seed and register them in course_utils/checkpoints/.

    python scripts/train_checkpoints.py                    # every recipe below
    python scripts/train_checkpoints.py resnet8_mnist04    # just one (or several names)

Each recipe trains on the staged data (set COURSE_DATA_MIRROR offline) on the CPU with deterministic settings
and a fixed number of threads, stores the weights as a float16 state_dict, measures the stored weights on the
whole test split (classifiers: accuracy; generative models: the Fréchet distance of 10,000 samples to the test
images in the features of `resnet8_mnist`), and rewrites the checkpoint's entry in manifest.json (its SHA-256,
metrics, training time and the load of the machine at the time) and the table in README.md. The same machine and
library versions give the same bytes; others may differ in the last bits, which is why the manifest is rewritten
rather than checked.
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
from torch.nn import functional as F
from torchvision import datasets
from torchvision.transforms import v2

from torchmetrics.image.fid import FrechetInceptionDistance

from course_utils import (AugmentedLoader, PixelFeatures, TensorLoader, evaluate, image_tensors, seed_everything,
                          select_classes, train_epoch)
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


@dataclass(frozen=True)
class GenerativeRecipe:
    """A VAE or a GAN on MNIST pixels in [0, 1], trained with Adam; scored by FID against the test split."""

    kind: str  # "vae" or "gan"
    architecture: str
    arguments: dict[str, Any]
    description: str
    dataset: str = "MNIST"
    epochs: int = 20
    lr: float = 1e-3
    betas: tuple[float, float] = (0.9, 0.999)
    batch_size: int = 128
    real_label: float = 1.0  # one-sided label smoothing for a GAN's discriminator when below 1
    instance_noise: float = 0.0  # standard deviation of Gaussian noise on every image a GAN's discriminator sees
    seed: int = 0


RECIPES: dict[str, Recipe | GenerativeRecipe] = {
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
    "vae_mnist": GenerativeRecipe(
        "vae", "mlp_autoencoder", {"latent_dim": 16, "hidden": [256, 128]},
        description="MLP variational autoencoder (16-D latent space, β = 1) on the MNIST digits: samples, "
                    "interpolation and attribute vectors of Lecture 11"),
    "gan_mnist": GenerativeRecipe(
        "gan", "mlp_gan", {"latent_dim": 64, "hidden": [256, 512]}, epochs=20, lr=2e-4, betas=(0.5, 0.999),
        real_label=0.9, instance_noise=0.1,
        description="MLP GAN (non-saturating loss, one-sided label smoothing, instance noise) on the MNIST digits: "
                    "the samples of Lecture 11"),
}
FID_SAMPLES = 10_000  # generated images scored against the whole test split


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


def pixels(dataset: str, train: bool) -> torch.Tensor:
    """The dataset's images as pixel values in [0, 1], shape (N, 1, 28, 28)."""
    return image_tensors(load_image_dataset(getattr(datasets, dataset), train=train), normalize=False)[0]


def vae_loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Negative ELBO per image: Bernoulli reconstruction (summed over pixels) + analytic KL to N(0, I)."""
    mu, log_var = model.encoder(x).chunk(2, dim=1)
    z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
    reconstruction = F.binary_cross_entropy_with_logits(model.decoder(z), x.flatten(1), reduction="sum")
    kl = 0.5 * (log_var.exp() - log_var - 1 + mu.square()).sum()
    return (reconstruction + kl) / len(x)


def gan_step(model: nn.Module, x: torch.Tensor, optimizers: tuple[torch.optim.Optimizer, ...],
             recipe: GenerativeRecipe) -> tuple[float, float]:
    """One discriminator update, then one generator update (non-saturating loss); returns both losses."""
    generator, optimizer_d, optimizer_g = model.generator, *optimizers
    real_label, latent_dim = recipe.real_label, recipe.arguments["latent_dim"]

    def discriminator(images: torch.Tensor) -> torch.Tensor:
        return model.discriminator(images + recipe.instance_noise * torch.randn_like(images))

    fake = torch.sigmoid(generator(torch.randn(len(x), latent_dim))).view_as(x)
    real_logits, fake_logits = discriminator(x), discriminator(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    optimizer_d.zero_grad(set_to_none=True)
    loss_d.backward()
    optimizer_d.step()
    fake_logits = discriminator(fake)
    loss_g = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    optimizer_g.zero_grad(set_to_none=True)
    loss_g.backward()
    optimizer_g.step()
    return loss_d.item(), loss_g.item()


def train_generative(recipe: GenerativeRecipe) -> tuple[nn.Module, int]:
    """Train a fresh VAE or GAN from the recipe's seed; return it and the number of training images."""
    seed_everything(recipe.seed)
    x_train = pixels(recipe.dataset, train=True)
    model = ARCHITECTURES[recipe.architecture](**recipe.arguments)
    loader = TensorLoader(x_train, batch_size=recipe.batch_size, shuffle=True, seed=recipe.seed)
    if recipe.kind == "vae":
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.lr, betas=recipe.betas)
    else:
        optimizers = tuple(torch.optim.Adam(part.parameters(), lr=recipe.lr, betas=recipe.betas)
                           for part in (model.discriminator, model.generator))
    for epoch in range(1, recipe.epochs + 1):
        totals = torch.zeros(2)
        for (x,) in loader:
            if recipe.kind == "vae":
                loss = vae_loss(model, x)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                totals += torch.tensor([loss.item(), 0.0])
            else:
                totals += torch.tensor(gan_step(model, x, optimizers, recipe))
        means = totals / len(loader)
        what = f"loss {means[0]:.2f}" if recipe.kind == "vae" else f"D loss {means[0]:.3f}, G loss {means[1]:.3f}"
        print(f"  epoch {epoch}: {what}", flush=True)
    return model, len(x_train)


@torch.no_grad()
def generate(recipe: GenerativeRecipe, model: nn.Module, n: int, seed: int = 1) -> torch.Tensor:
    """`n` images in [0, 1] decoded from the prior N(0, I)."""
    generator = torch.Generator().manual_seed(seed)
    z = torch.randn(n, recipe.arguments["latent_dim"], generator=generator)
    decoder = model.decoder if recipe.kind == "vae" else model.generator
    return torch.sigmoid(decoder(z)).view(n, 1, 28, 28)


@torch.no_grad()
def fid(real: torch.Tensor, generated: torch.Tensor) -> float:
    """torchmetrics' Fréchet distance between two sets of images in [0, 1], in the features of `resnet8_mnist`."""
    metric = FrechetInceptionDistance(feature=PixelFeatures("resnet8_mnist"), normalize=True)
    for batch in real.split(1000):
        metric.update(batch, real=True)
    for batch in generated.split(1000):
        metric.update(batch, real=False)
    return metric.compute().item()


def generative_metrics(recipe: GenerativeRecipe, state: dict[str, torch.Tensor]) -> dict[str, float]:
    """FID of samples from the stored weights against the test split; for a VAE also its test loss (nats)."""
    model = ARCHITECTURES[recipe.architecture](**recipe.arguments)
    model.load_state_dict(state)
    model.eval()
    x_test = pixels(recipe.dataset, train=False)
    metrics = {"fid_resnet8_mnist": round(fid(x_test, generate(recipe, model, FID_SAMPLES)), 2)}
    if recipe.kind == "vae":
        seed_everything(recipe.seed)
        with torch.no_grad():
            loss = sum(vae_loss(model, x).item() * len(x) for x in x_test.split(1000)) / len(x_test)
        metrics["test_negative_elbo_nats"] = round(loss, 1)
    return metrics


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
        with open(name, "wb") as file:  # through a handle the zip's folder is "archive"; by path it would be named
            torch.save(state, file)    # after the random temporary file, and no two runs would give the same bytes
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


def produce(name: str, recipe: Recipe | GenerativeRecipe, threads: int) -> None:
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    generative = isinstance(recipe, GenerativeRecipe)
    model, n_train = train_generative(recipe) if generative else train(recipe)
    seconds = time.perf_counter() - start
    state = half_precision(model)
    if generative:
        metrics = generative_metrics(recipe, state)
    else:
        metrics = {"test_accuracy": round(stored_accuracy(recipe, state), 4)}
    target = MANIFEST.parent / f"{name}.pt"
    write_atomically(state, target)
    register(name, {
        "architecture": recipe.architecture,
        "arguments": recipe.arguments,
        "file": target.name,
        "sha256": sha256_of(target),
        "description": recipe.description,
        "dataset": recipe.dataset,
        "classes": None if generative else recipe.classes,
        "normalization": None if generative else list(NORMALIZATION[recipe.dataset]),  # generative: pixels in [0, 1]
        "metrics": metrics,
        "training": {
            "seconds": round(seconds), "epochs": recipe.epochs, "train_images": n_train, "seed": recipe.seed,
            "recipe": describe(recipe),
            "threads": threads, "machine": platform.machine(),
            "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # at the start and at the end
            "versions": f"torch {torch.__version__}, torchvision {torchvision.__version__}",
        },
    })
    update_readme()
    print(f"{name}: {seconds:.0f} s of training, {describe_metrics(metrics)} (float16 weights), "
          f"{target.stat().st_size / 1e3:.0f} kB -> {target}", flush=True)


def describe(recipe: Recipe | GenerativeRecipe) -> str:
    """The optimiser and its settings, in words, for the manifest."""
    if isinstance(recipe, GenerativeRecipe):
        smoothing = f", real label {recipe.real_label}" if recipe.real_label < 1 else ""
        noise = f", instance noise {recipe.instance_noise}" if recipe.instance_noise else ""
        return f"Adam (lr {recipe.lr}, betas {list(recipe.betas)}), batch {recipe.batch_size}{smoothing}{noise}"
    return (f"SGD (Nesterov momentum 0.9, weight decay {recipe.weight_decay}), one-cycle lr up to "
            f"{recipe.max_lr}, batch {recipe.batch_size}" + (", random flips" if recipe.flips else ""))


def describe_metrics(metrics: dict[str, float]) -> str:
    """The manifest's metrics in words: a classifier's test accuracy, a generative model's FID (and test loss)."""
    if "test_accuracy" in metrics:
        return f"test accuracy {metrics['test_accuracy']:.2%}"
    words = f"FID {metrics['fid_resnet8_mnist']:.2f} (`resnet8_mnist` features)"
    if "test_negative_elbo_nats" in metrics:
        words += f", test −ELBO {metrics['test_negative_elbo_nats']} nats"
    return words


def readme_table() -> str:
    """The README's table of checkpoints, rendered from the manifest."""
    rows = ["| checkpoint | what | parameters | on the test split | training |", "|---|---|---|---|---|"]
    for name, c in checkpoints().items():
        params = sum(p.numel() for p in ARCHITECTURES[c.architecture](**c.arguments).parameters())
        t = c.training
        training = (f"{t['epochs']} epochs on {t['train_images']:,} images: {t['seconds']} s on {t['threads']} CPU "
                    f"thread, load average {t['load_average'][0]} → {t['load_average'][1]}")
        rows.append(f"| `{name}` | {c.description} | {params:,} | {describe_metrics(c.metrics)} | {training} |")
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
