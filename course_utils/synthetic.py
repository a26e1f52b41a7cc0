"""Small generated datasets for lectures designed around them (XOR, moons, spirals, blobs)."""
from __future__ import annotations

import math

import torch

Dataset = tuple[torch.Tensor, torch.Tensor]


def _generator(seed: int | None) -> torch.Generator | None:
    return torch.Generator().manual_seed(seed) if seed is not None else None


def xor_truth_table() -> Dataset:
    """The four XOR points: inputs float32 (4, 2) in {0, 1}, labels int64 (4,)."""
    x = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return x, (x[:, 0] != x[:, 1]).long()


def make_xor(n: int = 200, noise: float = 0.1, seed: int | None = None) -> Dataset:
    """Noisy copies of the XOR corners: label 1 when exactly one coordinate is near 1."""
    g = _generator(seed)
    corners = torch.randint(0, 2, (n, 2), generator=g).float()
    x = corners + noise * torch.randn(n, 2, generator=g)
    return x, (corners[:, 0] != corners[:, 1]).long()


def make_moons(n: int = 200, noise: float = 0.1, seed: int | None = None) -> Dataset:
    """Two interleaving half circles (like scikit-learn's make_moons), labels 0 and 1."""
    g = _generator(seed)
    label = torch.arange(n) % 2
    angle = math.pi * torch.rand(n, generator=g)
    x = torch.stack([torch.cos(angle), torch.sin(angle)], dim=1)
    x[label == 1] = torch.stack([1 - torch.cos(angle), 0.5 - torch.sin(angle)], dim=1)[label == 1]
    return x + noise * torch.randn(n, 2, generator=g), label


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.2, seed: int | None = None) -> Dataset:
    """`classes` interleaved spiral arms in the plane (CS231n's classic toy set)."""
    g = _generator(seed)
    label = torch.arange(n) % classes
    radius = torch.rand(n, generator=g)
    angle = label * (2 * math.pi / classes) + 4 * radius + noise * torch.randn(n, generator=g)
    return torch.stack([radius * torch.sin(angle), radius * torch.cos(angle)], dim=1), label


def make_blobs(n: int = 200, centers: torch.Tensor | None = None, std: float = 0.5,
               seed: int | None = None) -> Dataset:
    """Gaussian blobs around `centers` (default: two, linearly separable)."""
    g = _generator(seed)
    centers = centers if centers is not None else torch.tensor([[-1.0, -1.0], [1.0, 1.0]])
    label = torch.arange(n) % len(centers)
    return centers[label] + std * torch.randn(n, centers.shape[1], generator=g), label
