"""The generated datasets have the shapes, labels and geometry their docstrings promise."""
import pytest
import torch

from course_utils import make_blobs, make_moons, make_spirals, make_xor, xor_truth_table


def test_xor_truth_table():
    x, y = xor_truth_table()
    assert x.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert y.tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize("make, classes", [(make_xor, 2), (make_moons, 2), (make_blobs, 2),
                                           (lambda **kw: make_spirals(classes=3, **kw), 3)])
def test_shapes_dtypes_balance_and_seeding(make, classes):
    x, y = make(n=300, seed=0)
    assert x.shape == (300, 2) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert sorted(y.unique().tolist()) == list(range(classes))
    assert torch.equal(make(n=300, seed=0)[0], x)
    assert not torch.equal(make(n=300, seed=1)[0], x)


def test_xor_labels_follow_the_nearest_corner():
    x, y = make_xor(n=500, noise=0.05, seed=0)
    corner = x.round().clamp(0, 1)
    assert torch.equal((corner[:, 0] != corner[:, 1]).long(), y)


def test_blobs_are_linearly_separable_with_default_centres():
    x, y = make_blobs(n=400, std=0.3, seed=0)
    assert torch.equal((x.sum(1) > 0).long(), y)
