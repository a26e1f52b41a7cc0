"""The visible-test helpers (course_utils.testing) catch what they promise to catch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_utils import testing as T


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
    with pytest.raises(AssertionError, match="element 11 is 0.5"):
        T.assert_close(torch.zeros(20).index_fill(0, torch.tensor([11]), 0.5), torch.zeros(20))
    with pytest.raises(AssertionError, match="shape"):
        T.assert_close(torch.zeros(2, 3), torch.zeros(3, 2))


def test_assert_close_handles_nan_and_infinity_strictly():
    T.assert_close(torch.tensor([float("inf")]), [float("inf")])
    for got, want in [([float("nan")], [0.0]), ([0.0], [float("nan")]), ([1e30], [float("inf")])]:
        with pytest.raises(AssertionError):
            T.assert_close(torch.tensor(got), torch.tensor(want))


@pytest.mark.parametrize("family, call", [
    ("convolution", lambda x: nn.Conv1d(3, 1, 1)(x.T.unsqueeze(0))),
    ("convolution", lambda x: torch.ops.aten.convolution(x.T.unsqueeze(0), torch.ones(1, 3, 1), None, [1], [0],
                                                         [1], False, [0], 1)),
    ("pooling", lambda x: F.max_pool1d(x.unsqueeze(0), 2)),
    ("normalization", lambda x: nn.BatchNorm1d(3)(x)),
    ("normalization", lambda x: torch.ops.aten.native_batch_norm(x, None, None, None, None, True, 0.1, 1e-5)),
    ("dropout", lambda x: nn.Dropout(0.5)(x)),
    ("dropout", lambda x: torch.dropout(x, 0.5, True)),
    ("upsampling", lambda x: F.interpolate(x[None, None], scale_factor=2)),
    ("autograd", lambda x: x.requires_grad_().sum().backward()),
    ("autograd", lambda x: torch.autograd.grad(x.requires_grad_().sum(), x)),
])
def test_pytorch_implementations_are_caught_in_every_spelling(family, call):
    with pytest.raises(AssertionError, match="must be implemented without"), T.forbidden(family):
        call(torch.randn(4, 3))


def test_forbidden_sees_calls_made_during_backward():
    class Sneaky(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return F.conv1d(grad[None, None], torch.ones(1, 1, 1))[0, 0]

    x = torch.randn(5, requires_grad=True)
    with pytest.raises(AssertionError, match="convolution"), T.forbidden("convolution"):
        Sneaky.apply(x).sum().backward()


def test_forbidden_allows_everything_else_and_rejects_unknown_families():
    with T.forbidden("convolution", "normalization", "dropout"):
        x = torch.randn(8, 3)
        normalised = (x - x.mean(0)) / x.std(0)
        patches = F.unfold(torch.randn(1, 1, 4, 4), 2)  # im2col is not a convolution
    assert normalised.shape == (8, 3) and patches.shape == (1, 4, 9)
    with pytest.raises(ValueError, match="unknown family"):
        T.implementations("attention")
    assert T.implementations("aten.mm") == {"aten.mm"}


def test_accuracy_counts_in_eval_mode_and_checks_the_logits_shape():
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.9), nn.Linear(2, 2, bias=False))
    with torch.no_grad():
        model[2].weight.copy_(torch.eye(2))
    images, labels = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[2.0, 1.0]], [[0.0, 3.0]]]), torch.tensor([0, 1, 1, 1])
    assert T.accuracy(model, images, labels, classes=2, batch_size=3) == 0.75  # dropout is off in eval mode
    with pytest.raises(AssertionError, match=r"shape \(3, 2\), expected \(3, 10\)"):
        T.accuracy(model, images, labels, batch_size=3)


def test_trace_and_check_closure_on_plain_sgd():
    p = torch.tensor(1.0, requires_grad=True)
    assert T.trace(torch.optim.SGD([p], lr=0.1), p, [1.0, 1.0]) == pytest.approx([0.9, 0.8])
    w = torch.tensor([3.0], requires_grad=True)
    T.check_closure(torch.optim.SGD([w], lr=0.1), w)


def test_timed_training_returns_the_model_and_holds_the_graders_limits(capsys):
    def train_fast(seed):
        return nn.Linear(seed + 1, 1)

    model, seconds = T.timed_training(train_fast, seed=2, aim_s=0.0, limit_s=60)
    assert isinstance(model, nn.Linear) and model.in_features == 3 and seconds >= 0
    out = capsys.readouterr().out
    assert "train_fast(2) trained in" in out and "warning: training took" in out
    def train_nothing(seed):
        return "not a model"

    with pytest.raises(AssertionError, match="train_nothing\\(seed\\) should return the trained nn.Module, got str"):
        T.timed_training(train_nothing)
    with pytest.raises(AssertionError, match="the grader fails more than 0 s"):
        T.timed_training(lambda seed: [sum(range(10**5)), nn.Linear(1, 1)][1], limit_s=0.0)
