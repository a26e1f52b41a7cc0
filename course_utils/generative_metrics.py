"""How close a set of generated samples is to real data: the Fréchet distance and the 1-NN two-sample test.

Both compare two sets of feature vectors (N, D), e.g. a classifier's penultimate features of real and generated
images (`feature_extractor`). Computed in float64; nothing here depends on which network made the features.
"""
from __future__ import annotations

import torch


def _check_same_dimension(features_a: torch.Tensor, features_b: torch.Tensor) -> None:
    if features_a.shape[1:] != features_b.shape[1:]:
        raise ValueError(f"the feature sets differ in dimension: {tuple(features_a.shape)}, {tuple(features_b.shape)}")


def gaussian_statistics(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and unbiased covariance (D, D) of the rows of `features` (N, D), in float64."""
    if features.dim() != 2 or len(features) < 2:
        raise ValueError(f"expected two or more feature vectors as an (N, D) tensor, got {tuple(features.shape)}")
    x = features.detach().to(torch.float64)
    mean = x.mean(dim=0)
    centred = x - mean
    return mean, centred.T @ centred / (len(x) - 1)


def psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues → 0)."""
    symmetric = (matrix + matrix.T) / 2
    values, vectors = torch.linalg.eigh(symmetric)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def trace_sqrt_product(cov_a: torch.Tensor, cov_b: torch.Tensor) -> torch.Tensor:
    """Tr((Σa Σb)^½) for covariance matrices, stable when they are (nearly) singular.

    Σa Σb is not symmetric, but it is similar to the PSD matrix Σa^½ Σb Σa^½, whose eigenvalues are the same and
    real and non-negative; the trace of the square root is the sum of their square roots. No general matrix square
    root (and no complex numbers) is needed.
    """
    root_a = psd_sqrt(cov_a.to(torch.float64))
    middle = root_a @ cov_b.to(torch.float64) @ root_a
    return torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()


def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two feature sets (FID when the features are Inception's):

    ‖μa − μb‖² + Tr(Σa + Σb − 2 (Σa Σb)^½).
    """
    _check_same_dimension(features_a, features_b)
    mean_a, cov_a = gaussian_statistics(features_a)
    mean_b, cov_b = gaussian_statistics(features_b)
    distance = (mean_a - mean_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * trace_sqrt_product(cov_a, cov_b)
    return max(distance.item(), 0.0)  # rounding can leave -1e-12 for identical sets


def nearest_neighbour_accuracy(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """The leave-one-out 1-NN two-sample test: how often a point's nearest other point comes from its own set.

    Every point of the union is classified by its nearest neighbour among all the *other* points (Euclidean).
    About 0.5 means the sets cannot be told apart; 1.0 means they are separated; well below 0.5 means each point
    has a near copy in the other set (a generator that memorised its training images). Use sets of equal size:
    with unequal sizes the larger set wins by default.
    """
    _check_same_dimension(features_a, features_b)
    points = torch.cat([features_a, features_b]).detach().flatten(1).to(torch.float64)
    labels = torch.cat([torch.zeros(len(features_a)), torch.ones(len(features_b))]).to(points.device)
    nearest = []
    for start in range(0, len(points), 1024):  # rows in chunks: 2 × 5000 points need no 800 MB distance matrix
        distances = torch.cdist(points[start:start + 1024], points)
        distances[torch.arange(len(distances)), torch.arange(start, start + len(distances))] = float("inf")
        nearest.append(distances.argmin(dim=1))  # leave one out: a point is not its own neighbour (set to inf)
    return (labels[torch.cat(nearest)] == labels).double().mean().item()
