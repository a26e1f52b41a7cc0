"""The Fréchet distance (against SciPy's general matrix square root) and the leave-one-out 1-NN two-sample test."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch

from course_utils import (frechet_distance, gaussian_statistics, mlp_autoencoder, mlp_gan, nearest_neighbour_accuracy,
                          psd_sqrt, trace_sqrt_product)


def scipy_frechet(a: torch.Tensor, b: torch.Tensor) -> float:
    """The textbook formula with scipy.linalg.sqrtm, as the reference FID implementations compute it."""
    a, b = a.double().numpy(), b.double().numpy()
    mean_a, mean_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    root = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * root))


def correlated(n: int, d: int, seed: int, shift: float = 0.0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    mixing = torch.randn(d, d, generator=generator, dtype=torch.float64)
    return torch.randn(n, d, generator=generator, dtype=torch.float64) @ mixing + shift


def test_gaussian_statistics_match_numpy():
    x = correlated(50, 4, seed=0)
    mean, cov = gaussian_statistics(x.float())
    assert mean.dtype == cov.dtype == torch.float64
    np.testing.assert_allclose(mean.numpy(), x.numpy().mean(0), rtol=1e-6)
    np.testing.assert_allclose(cov.numpy(), np.cov(x.numpy(), rowvar=False), rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_frechet_distance_matches_scipys_sqrtm_on_well_conditioned_features(seed):
    a, b = correlated(400, 6, seed), correlated(300, 6, seed + 10, shift=0.5)
    assert frechet_distance(a, b) == pytest.approx(scipy_frechet(a, b), rel=1e-6)


def test_diagonal_covariances_give_the_closed_form():
    # N(μa, diag(va)) vs N(μb, diag(vb)): ‖μa − μb‖² + Σ (√va − √vb)²
    va, vb = torch.tensor([1.0, 4.0, 9.0], dtype=torch.float64), torch.tensor([4.0, 1.0, 0.25], dtype=torch.float64)
    expected = ((va.sqrt() - vb.sqrt()) ** 2).sum()
    assert trace_sqrt_product(torch.diag(va), torch.diag(vb)).item() == pytest.approx((va * vb).sqrt().sum().item())
    assert (va.sum() + vb.sum() - 2 * trace_sqrt_product(torch.diag(va), torch.diag(vb))).item() == pytest.approx(
        expected.item())


def test_identical_sets_are_at_distance_zero_and_the_distance_is_symmetric():
    a, b = correlated(200, 5, seed=3), correlated(200, 5, seed=4, shift=1.0)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-9)
    assert frechet_distance(a, b) > 1.0


def test_nearly_singular_covariances_give_a_finite_non_negative_distance():
    # 64 features that span only 3 directions (fewer samples than dimensions, as with small sample sets)
    generator = torch.Generator().manual_seed(0)
    basis = torch.randn(3, 64, generator=generator, dtype=torch.float64)
    a = torch.randn(30, 3, generator=generator, dtype=torch.float64) @ basis
    b = torch.randn(30, 3, generator=generator, dtype=torch.float64) @ basis + 1e-9 * torch.randn(30, 64,
                                                                                                  generator=generator,
                                                                                                  dtype=torch.float64)
    distance = frechet_distance(a, b)
    assert np.isfinite(distance) and distance >= 0
    # the same pair in float32 (eigenvalues at rounding level, some negative) gives almost the same value
    assert frechet_distance(a.float(), b.float()) == pytest.approx(distance, rel=1e-3, abs=1e-3)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_psd_sqrt_squares_back_and_ignores_rounding_negatives():
    x = correlated(20, 8, seed=5)
    cov = torch.cov(x.T)
    root = psd_sqrt(cov)
    torch.testing.assert_close(root @ root, cov)
    torch.testing.assert_close(root, root.T)
    rank_one = torch.outer(torch.tensor([1.0, 2.0], dtype=torch.float64), torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert not psd_sqrt(rank_one - 1e-12 * torch.eye(2, dtype=torch.float64)).isnan().any()


def test_the_one_nearest_neighbour_test_separates_far_sets_and_not_equal_distributions():
    near, far = correlated(300, 4, seed=6), correlated(300, 4, seed=7, shift=100.0)
    assert nearest_neighbour_accuracy(near, far) == 1.0
    a, b = torch.randn(2, 300, 4, generator=torch.Generator().manual_seed(8))  # one distribution, two samples
    assert 0.4 < nearest_neighbour_accuracy(a, b) < 0.6


def test_the_one_nearest_neighbour_test_leaves_each_point_out():
    # a copy of the same points: each point's nearest *other* point is its twin in the other set
    x = correlated(50, 3, seed=10)
    assert nearest_neighbour_accuracy(x, x.clone()) == 0.0
    # one-dimensional check by hand: a = {0, 1}, b = {10, 11}: every neighbour is in its own set
    assert nearest_neighbour_accuracy(torch.tensor([[0.0], [1.0]]), torch.tensor([[10.0], [11.0]])) == 1.0


def test_the_one_nearest_neighbour_test_is_the_same_across_chunks_of_rows():
    a, b = correlated(1500, 3, seed=11), correlated(700, 3, seed=12, shift=0.3)  # more rows than one chunk
    points = torch.cat([a, b])
    distances = torch.cdist(points, points).fill_diagonal_(float("inf"))
    labels = torch.cat([torch.zeros(len(a)), torch.ones(len(b))])
    expected = (labels[distances.argmin(dim=1)] == labels).double().mean().item()
    assert nearest_neighbour_accuracy(a, b) == pytest.approx(expected, abs=1e-12)


def test_feature_sets_of_different_dimension_are_refused():
    with pytest.raises(ValueError, match="dimension"):
        frechet_distance(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="dimension"):
        nearest_neighbour_accuracy(torch.randn(10, 3), torch.randn(10, 4))
    with pytest.raises(ValueError, match="two or more"):
        gaussian_statistics(torch.randn(1, 3))


def test_the_generative_architectures_have_the_stated_shapes():
    vae = mlp_autoencoder(latent_dim=5, hidden=[32, 16])
    assert vae.encoder(torch.rand(7, 1, 28, 28)).shape == (7, 10)  # μ and log σ²
    assert vae.decoder(torch.randn(7, 5)).shape == (7, 28 * 28)
    assert mlp_autoencoder(latent_dim=5, variational=False).encoder(torch.rand(2, 784)).shape == (2, 5)
    gan = mlp_gan(latent_dim=8, hidden=[16, 32])
    assert gan.generator(torch.randn(3, 8)).shape == (3, 784)
    assert gan.discriminator(torch.rand(3, 1, 28, 28)).shape == (3, 1)
    assert [m.out_features for m in gan.discriminator[1] if isinstance(m, torch.nn.Linear)] == [32, 16, 1]
