"""The assignment-test helpers catch what they promise to catch."""
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
    with pytest.raises(AssertionError, match=r"expected \[1.0, 2.0\], got \[1.0, 2.1\]"):
        T.assert_close(torch.tensor([1.0, 2.1]), torch.tensor([1.0, 2.0]))
    long = torch.zeros(20)
    with pytest.raises(AssertionError, match="element 11 is 0.5"):
        T.assert_close(long.index_fill(0, torch.tensor([11]), 0.5), torch.zeros(20))
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


def test_torch_callables_skips_missing_names_and_expands_aten_overloads():
    found = T.torch_callables((F, "relu no_such_function"), aten="relu no_such_op")
    assert F.relu in found and torch.ops.aten.relu in found and torch.ops.aten.relu.default in found
    assert len(found) == 2 + len(torch.ops.aten.relu.overloads())


@pytest.mark.parametrize("family, call", [
    ("normalization", lambda x: nn.BatchNorm1d(3)(x)),
    ("normalization", lambda x: torch.ops.aten.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)),
    ("dropout", lambda x: nn.Dropout(0.5)(x)),
    ("dropout", lambda x: torch.ops.aten.native_dropout.default(x, 0.5, True)),
    ("pooling", lambda x: F.max_pool1d(x.unsqueeze(0), 2)),
    ("convolution", lambda x: F.conv1d(x.unsqueeze(0), torch.ones(1, 4, 1))),
])
def test_pytorch_implementations_are_caught_in_every_spelling(family, call):
    x = torch.randn(4, 3)
    with pytest.raises(AssertionError, match="must be implemented without"), \
            T.forbidden(*T.pytorch_implementations(family)):
        call(x)


def test_pytorch_implementations_allow_plain_arithmetic_and_reject_unknown_families():
    with T.forbidden(*T.pytorch_implementations("normalization", "dropout")):
        x = torch.randn(8, 3)
        (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + 1e-5) * (torch.rand_like(x) >= 0.5)
    with pytest.raises(ValueError, match="unknown families"):
        T.pytorch_implementations("attention")


def test_accuracy_counts_in_eval_mode_and_checks_the_logits_shape():
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[2].weight.copy_(torch.eye(2))
    images, labels = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[2.0, 1.0]], [[0.0, 3.0]]]), torch.tensor([0, 1, 1, 1])
    assert T.accuracy(model, images, labels, classes=2, batch_size=3) == 0.75  # dropout is off in eval mode
    with pytest.raises(AssertionError, match=r"shape \(3, 2\), expected \(3, 10\)"):
        T.accuracy(model, images, labels, batch_size=3)
