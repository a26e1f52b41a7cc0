"""The hidden-test helpers catch what they promise to catch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_grading import testing as T


def test_private_rngs_ignore_global_seeding():
    torch.manual_seed(0)
    first = torch.rand(3, generator=T.rng(5))
    torch.manual_seed(1)
    assert torch.equal(torch.rand(3, generator=T.rng(5)), first)
    assert T.py_rng(3).random() == T.py_rng(3).random()


def test_assert_type_is_exact():
    T.assert_type(torch.zeros(1), torch.Tensor)
    with pytest.raises(AssertionError, match="should be a torch.Tensor"):
        T.assert_type(np.zeros(1), torch.Tensor)
    with pytest.raises(AssertionError):
        T.assert_type(nn.Parameter(torch.zeros(1)), torch.Tensor)


def test_assert_close_within_and_beyond_tolerance():
    T.assert_close(torch.tensor([1.0, 2.0]), [1.0 + 1e-7, 2.0])
    T.assert_close(3.0, 3.0)
    with pytest.raises(AssertionError, match="element 1"):
        T.assert_close(torch.tensor([1.0, 2.1]), torch.tensor([1.0, 2.0]))
    with pytest.raises(AssertionError, match="shape"):
        T.assert_close(torch.zeros(2, 3), torch.zeros(3, 2))


def test_assert_close_handles_nan_and_infinity_strictly():
    T.assert_close(torch.tensor([float("inf")]), [float("inf")])
    for got, want in [([float("nan")], [0.0]), ([0.0], [float("nan")]), ([1e30], [float("inf")])]:
        with pytest.raises(AssertionError):
            T.assert_close(torch.tensor(got), torch.tensor(want))


def test_forbidden_catches_direct_calls_module_calls_and_autograd():
    x = torch.randn(1, 1, 5, 5, requires_grad=True)
    with pytest.raises(AssertionError, match="conv2d"), T.forbidden(F.conv2d, torch.conv2d):
        nn.Conv2d(1, 1, 3)(x)
    with pytest.raises(AssertionError, match="backward"), T.forbidden(torch.Tensor.backward, torch.autograd.grad):
        x.sum().backward()
    with pytest.raises(AssertionError), T.forbidden(torch.Tensor.backward, torch.autograd.grad):
        torch.autograd.grad(x.sum(), x)


def test_forbidden_allows_everything_else():
    with T.forbidden(F.conv2d):
        out = (torch.ones(2) * 3).relu().sum()
    assert out.item() == 6
