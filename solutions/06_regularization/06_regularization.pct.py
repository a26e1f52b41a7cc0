# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Assignment 06 — Regularization
#
# A big network trained on few examples learns its training set by heart: the training accuracy climbs to
# 100 % while the accuracy on new data stalls. The lecture's remedies are **batch normalisation** (it makes
# deep networks easier to train), **weight penalties** (L1, L2, elastic net), **dropout** and **data
# augmentation**. In this assignment you build the first three yourself, check them against PyTorch, and
# then use the lecture's remedies to shrink the gap between training and validation accuracy of an
# overfitting network.
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `BatchNorm`: batch normalisation for `(N, C)` and `(N, C, H, W)` inputs, train and eval mode | 4 |
# | 2 | `Dropout`: inverted dropout | 2 |
# | 3 | `weight_penalty`: the L1 / L2 / elastic-net penalty of a model's weights | 2 |
# | 4 | an experiment: regularisation that measurably closes a train/validation gap on Fashion-MNIST | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. What you see in it are the
# *visible tests*: small examples you can check by hand and one comparison with PyTorch. Run them as often as
# you like. When your notebook is graded, the same cells also run *hidden tests* on other inputs: random
# shapes, dtypes, momentum and `eps` values, `affine` on and off, several training steps followed by
# evaluation (Part 1); large random tensors with random drop probabilities, checked statistically (Part 2);
# random models (Part 3). Outputs, running statistics **and gradients** are compared with PyTorch or with a
# reference. A part scores its points only if all of its tests pass, so passing the visible tests is necessary
# but not sufficient: make your code right for every input the instructions allow.
#
# More rules:
#
# - Parts 1 and 2 are about implementing what PyTorch already has. Inside your `BatchNorm` and `Dropout`,
#   PyTorch's own normalisation and dropout (`F.batch_norm`, `nn.BatchNorm1d`, `torch.batch_norm`,
#   `F.layer_norm`, `F.instance_norm`, `F.group_norm`, `F.dropout`, `nn.Dropout`, `torch.dropout`, …) are
#   **forbidden**; the hidden tests detect such calls, also inside an `nn.Module`. Tensor arithmetic,
#   reductions (`mean`, `var`, `sum`, …), `torch.sqrt`, `torch.rand`, `torch.rand_like` and `torch.bernoulli`
#   are fine. In Part 4 you may use anything, PyTorch's layers included.
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the classes and functions or change their arguments, and do not edit the test cells.
# - Code that interferes with grading (rebinding library functions, importing `course_grading`, reading
#   other files) sends the submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook runs in well under a
#   minute on a laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from course_utils import (AugmentedLoader, TensorLoader, choose_device, evaluate, image_tensors, load_fashion_mnist,
                          seed_everything, train_epoch)

# The tensors here are small: on a CPU one thread is faster than splitting every operation (a GPU is used if found).
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — Batch normalisation (4 points)
#
# Normalising the *inputs* (subtract the mean, divide by the standard deviation) makes a linear model much
# easier to optimise. Inside a network, every layer is a linear model whose inputs are the previous layer's
# outputs, and those drift while the earlier layers learn. **Batch normalisation** (Ioffe & Szegedy, 2015)
# normalises them too, using the statistics of the current mini-batch.
#
# It works **per channel** $c$. For a batch of feature vectors `x` of shape `(N, C)` (after an `nn.Linear`)
# the statistics of channel $c$ are taken over the $m = N$ values `x[:, c]`; for a batch of feature maps of
# shape `(N, C, H, W)` (after an `nn.Conv2d`) over the $m = N \cdot H \cdot W$ values `x[:, c, :, :]`. In
# **training mode** (`self.training` is `True`):
#
# $$\mu_c = \frac{1}{m} \sum x, \qquad \sigma_c^2 = \frac{1}{m} \sum (x - \mu_c)^2, \qquad
#   \hat x = \frac{x - \mu_c}{\sqrt{\sigma_c^2 + \varepsilon}}, \qquad y = \gamma_c\, \hat x + \beta_c .$$
#
# The sums run over the $m$ values of channel $c$, and $\sigma_c^2$ is the *biased* variance (divided by $m$).
# $\varepsilon$ (`eps`) keeps the division safe, and the learnable scale $\gamma$ (`weight`) and shift $\beta$
# (`bias`) let the network undo the normalisation where the mean and spread carried information.
#
# At test time there may be a single image, so there are no batch statistics. The layer keeps **running
# averages** for that, updated at every training step with the momentum $\alpha$ (`momentum`, 0.1 by default):
#
# $$\hat\mu_c \leftarrow (1 - \alpha)\,\hat\mu_c + \alpha\,\mu_c, \qquad
#   \hat\sigma_c^2 \leftarrow (1 - \alpha)\,\hat\sigma_c^2 + \alpha\,\frac{m}{m - 1}\,\sigma_c^2 .$$
#
# Note the factor $\frac{m}{m-1}$: the running variance is updated with the **unbiased** variance of the
# batch, while the normalisation uses the biased one. PyTorch does exactly this. (Also note that this
# `momentum` is the weight of the *new* value, the opposite of an optimizer's momentum.) The running averages
# start at $\hat\mu = 0$ and $\hat\sigma^2 = 1$. In **eval mode** (`self.training` is `False`, after
# `model.eval()`) the layer uses them and changes nothing:
#
# $$y = \gamma_c\, \frac{x - \hat\mu_c}{\sqrt{\hat\sigma_c^2 + \varepsilon}} + \beta_c .$$
#
# Write the class `BatchNorm` so that it behaves exactly like `nn.BatchNorm1d` on `(N, C)` inputs and like
# `nn.BatchNorm2d` on `(N, C, H, W)` inputs, in both modes, gradients included:
#
# - `BatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True)` stores its arguments as attributes of the
#   same names.
# - With `affine=True`, `self.weight` ($\gamma$, ones) and `self.bias` ($\beta$, zeros) are `nn.Parameter`s
#   of shape `(C,)`. With `affine=False` the layer has no parameters ($\gamma = 1$, $\beta = 0$): set
#   `self.weight` and `self.bias` to `None`.
# - `running_mean` (zeros) and `running_var` (ones), shape `(C,)`, are **buffers**, created with
#   `self.register_buffer(name, tensor)`: state that is not learned but moves with the module (`.to(device)`,
#   `.double()`) and is saved in its `state_dict()`.
# - Update the buffers without recording the update for autograd (inside `with torch.no_grad():`, or from
#   `.detach()`ed statistics): a running average must not drag a computation graph along from step to step.
# - Write the forward pass with tensor operations only; autograd then computes the gradients with respect to
#   `x`, `weight` and `bias` for you. Do not modify `x` in place.
#
# Hints: `x.mean(dim=dims)` and `x.var(dim=dims, unbiased=False)` reduce over several dimensions at once
# (`dims = [0]` for `(N, C)`, `[0, 2, 3]` for `(N, C, H, W)`); a tensor of shape `(C,)` broadcasts against
# `x` after `.reshape(1, C)` or `.reshape(1, C, 1, 1)`.

# %% nbgrader={"grade": false, "grade_id": "batchnorm", "locked": false, "schema_version": 3, "solution": true, "task": false}
class BatchNorm(nn.Module):
    """Batch normalisation over dimension 1 of inputs (N, C) or (N, C, H, W), like nn.BatchNorm1d / nn.BatchNorm2d."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        """num_features: C. Parameters weight (ones) and bias (zeros) of shape (C,) if affine, else both None.
        Buffers running_mean (zeros) and running_var (ones) of shape (C,)."""
        super().__init__()
        ### BEGIN SOLUTION
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.weight = None
            self.bias = None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        ### END SOLUTION

    def forward(self, x):
        """Training mode: normalise with the batch statistics and update the running averages.
        Eval mode: normalise with the running averages. Returns a tensor of x's shape and dtype."""
        ### BEGIN SOLUTION
        dims = [0] + list(range(2, x.dim()))  # every dimension except the channels
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)  # (C,) -> broadcastable against x
        if self.training:
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            count = x.numel() // x.shape[1]
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * count / (count - 1))
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batchnorm", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

bn = BatchNorm(1)
assert isinstance(bn, nn.Module), "BatchNorm should subclass nn.Module"
assert (bn.eps, bn.momentum, bn.affine) == (1e-5, 0.1, True), "store eps, momentum and affine as attributes"
assert sorted(name for name, _ in bn.named_parameters()) == ["bias", "weight"], (
    "with affine=True the parameters should be `weight` and `bias` (nn.Parameter)")
buffers = dict(bn.named_buffers())
assert "running_mean" in buffers and "running_var" in buffers, (
    "create running_mean and running_var with self.register_buffer(...)")
assert bn.weight.tolist() == [1.0] and bn.bias.tolist() == [0.0], "γ (weight) starts at 1 and β (bias) at 0"
assert bn.running_mean.tolist() == [0.0] and bn.running_var.tolist() == [1.0], "the running mean starts at 0, the running variance at 1"
assert list(BatchNorm(3, affine=False).parameters()) == [], "with affine=False the layer has no parameters"

# One feature, a batch of two: mean 2, biased variance ((1-2)² + (3-2)²)/2 = 1, unbiased variance 2/1 = 2
x = torch.tensor([[1.0], [3.0]])
y = bn(x)
assert isinstance(y, torch.Tensor) and y.shape == (2, 1), f"the output should have the input's shape (2, 1), got {getattr(y, 'shape', y)}"
assert torch.allclose(y, torch.tensor([[-1.0], [1.0]]), atol=1e-4), (
    f"training mode normalises with the batch statistics: (x - 2)/sqrt(1 + eps) ≈ [-1, 1]; got {y.flatten().tolist()}")
assert torch.allclose(bn.running_mean, torch.tensor([0.2])), (
    f"running_mean = 0.9·0 + 0.1·2 = 0.2; got {bn.running_mean.tolist()}")
assert torch.allclose(bn.running_var, torch.tensor([1.1])), (
    f"running_var = 0.9·1 + 0.1·2 = 1.1 (the UNBIASED batch variance, 2); got {bn.running_var.tolist()}")
assert not bn.running_mean.requires_grad and not bn.running_var.requires_grad, (
    "the running statistics must not track gradients: update them inside torch.no_grad()")
bn.eval()
y = bn(torch.tensor([[2.2]]))
assert torch.allclose(y, torch.tensor([[2.0 / math.sqrt(1.1 + 1e-5)]])), (
    f"eval mode uses the running statistics: (2.2 - 0.2)/sqrt(1.1 + eps) ≈ 1.907; got {y.flatten().tolist()}")
assert torch.allclose(bn.running_mean, torch.tensor([0.2])), "eval mode must not change the running statistics"

# Against PyTorch: (N, C) and (N, C, H, W), two training steps and one in eval mode, with gradients
gen = torch.Generator().manual_seed(0)
for shape, Reference in [((6, 3), nn.BatchNorm1d), ((4, 3, 5, 5), nn.BatchNorm2d)]:
    mine, ref = BatchNorm(3, momentum=0.3), Reference(3, momentum=0.3)
    with torch.no_grad():
        for module in (mine, ref):
            module.weight.copy_(torch.tensor([0.5, 1.0, 2.0]))
            module.bias.copy_(torch.tensor([0.0, -1.0, 1.0]))
    for mode in ("train", "train", "eval"):
        mine.train(mode == "train")
        ref.train(mode == "train")
        x = torch.randn(*shape, generator=gen) * 2 + 1
        upstream = torch.randn(*shape, generator=gen)
        x_mine, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
        with T.forbidden(F.batch_norm, torch.batch_norm):
            y_mine = mine(x_mine)
            y_mine.backward(upstream)
        y_ref = ref(x_ref)
        y_ref.backward(upstream)
        where = f"input {shape}, {mode} mode"
        assert y_mine.shape == y_ref.shape, f"{where}: expected shape {tuple(y_ref.shape)}, got {tuple(y_mine.shape)}"
        assert torch.allclose(y_mine, y_ref, atol=1e-5), f"{where}: the output differs from PyTorch's by up to {(y_mine - y_ref).abs().max():.3g}"
        for name in ("running_mean", "running_var"):
            assert torch.allclose(getattr(mine, name), getattr(ref, name), atol=1e-5), (
                f"{where}: {name} is {getattr(mine, name).tolist()}, PyTorch has {getattr(ref, name).tolist()}")
        assert torch.allclose(x_mine.grad, x_ref.grad, atol=1e-5), f"{where}: the gradient w.r.t. x differs from PyTorch's"
        assert torch.allclose(mine.weight.grad, ref.weight.grad, atol=1e-4), f"{where}: the gradient w.r.t. weight (γ) differs"
        assert torch.allclose(mine.bias.grad, ref.bias.grad, atol=1e-4), f"{where}: the gradient w.r.t. bias (β) differs"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBIDDEN = T.pytorch_implementations("normalization")

_py, _gen = T.py_rng(6101), T.rng(6102)
for _case in range(24):
    _dtype = torch.float64 if _case % 3 else torch.float32
    _four_d = _case % 2 == 1
    _c = _py.randint(1, 6)
    if _four_d:
        _shape = (_py.randint(1, 5), _c, _py.randint(1, 5), _py.randint(1, 5))
        if _shape[0] * _shape[2] * _shape[3] < 2:
            _shape = (2, _c, _shape[2], _shape[3])
        _bshape = (1, _c, 1, 1)
    else:
        _shape = (_py.randint(2, 9), _c)
        _bshape = (1, _c)
    _eps = _py.choice((1e-5, 1e-3, 0.1, 1.0))
    _momentum = _py.choice((0.1, 0.0, 1.0, round(_py.uniform(0.01, 0.9), 3), round(_py.uniform(0.01, 0.9), 3)))
    _affine = _case % 4 != 3
    _what = (f"BatchNorm({_c}, eps={_eps}, momentum={_momentum}, affine={_affine}) on {_dtype} input of "
             f"shape {_shape}")
    if _case % 5 == 0:
        _mine = BatchNorm(_c, _eps, _momentum, _affine)
    else:
        _mine = BatchNorm(num_features=_c, momentum=_momentum, affine=_affine, eps=_eps)
    _mine = _mine.to(_dtype)
    _ref = (nn.BatchNorm2d if _four_d else nn.BatchNorm1d)(_c, eps=_eps, momentum=_momentum, affine=_affine).to(_dtype)
    _names = sorted(_n for _n, _ in _mine.named_parameters())
    assert _names == (["bias", "weight"] if _affine else []), f"{_what}: the parameters are {_names}"
    _buffers = dict(_mine.named_buffers())
    assert "running_mean" in _buffers and "running_var" in _buffers, f"{_what}: running_mean/running_var are not buffers"
    if _affine:
        _gamma = torch.rand(_c, generator=_gen, dtype=_dtype) * 2 + 0.25
        _beta = torch.randn(_c, generator=_gen, dtype=_dtype)
        with torch.no_grad():
            for _m in (_mine, _ref):
                _m.weight.copy_(_gamma)
                _m.bias.copy_(_beta)
    _scale = torch.rand(_bshape, generator=_gen, dtype=_dtype) * 3 + 0.1
    _shift = torch.randn(_bshape, generator=_gen, dtype=_dtype) * 2
    _tol = 1e-9 if _dtype == torch.float64 else 2e-4
    for _step, _mode in enumerate(("train", "train", "train", "eval", "eval", "train")):
        _where = f"{_what}, step {_step + 1} ({_mode} mode)"
        _mine.train(_mode == "train")
        _ref.train(_mode == "train")
        _x = torch.randn(*_shape, generator=_gen, dtype=_dtype) * _scale + _shift
        _upstream = torch.randn(*_shape, generator=_gen, dtype=_dtype)
        _x_mine, _x_ref = _x.clone().requires_grad_(True), _x.clone().requires_grad_(True)
        with T.forbidden(*_FORBIDDEN):
            _y_mine = _mine(_x_mine)
            _y_mine.backward(_upstream)
        _y_ref = _ref(_x_ref)
        _y_ref.backward(_upstream)
        T.assert_type(_y_mine, torch.Tensor, name=f"the output of {_where}")
        assert _y_mine.dtype == _dtype, f"{_where}: the output should be {_dtype}, got {_y_mine.dtype}"
        T.assert_close(_x_mine.detach(), _x, atol=0, rtol=0, name=f"the input after {_where} (it must not change)")
        T.assert_close(_y_mine, _y_ref, atol=_tol, rtol=_tol, name=f"the output of {_where}")
        for _buffer in ("running_mean", "running_var"):
            _value = getattr(_mine, _buffer)
            T.assert_type(_value, torch.Tensor, name=f"{_buffer} after {_where}")
            assert not _value.requires_grad, f"{_where}: {_buffer} tracks gradients; update it under torch.no_grad()"
            T.assert_close(_value, getattr(_ref, _buffer), atol=_tol, rtol=_tol, name=f"{_buffer} after {_where}")
        T.assert_close(_x_mine.grad, _x_ref.grad, atol=_tol, rtol=_tol, name=f"the gradient w.r.t. x in {_where}")
        if _affine:
            for _param in ("weight", "bias"):
                _grad = getattr(_mine, _param).grad
                assert _grad is not None, f"{_where}: {_param} received no gradient"
                T.assert_close(_grad, getattr(_ref, _param).grad, atol=_tol, rtol=_tol,
                               name=f"the gradient w.r.t. {_param} in {_where}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — Inverted dropout (2 points)
#
# **Dropout** switches off a random part of a layer's outputs at every training step, so no unit can count on
# any other one being there: the network has to spread what it knows over many units, the way a kitchen
# keeps working when one cook is ill. Each element $x_i$ is kept with probability $1 - p$ and set to zero
# with probability $p$, independently of all the others and afresh at every call:
#
# $$r_i \sim \text{Bernoulli}(1 - p), \qquad y_i = \frac{r_i\, x_i}{1 - p} \quad\text{(training)}, \qquad
#   y_i = x_i \quad\text{(eval)} .$$
#
# Dividing the survivors by $1 - p$ is the *inverted* part: it keeps every output's expectation unchanged,
# $\mathbb{E}[y_i] = (1 - p)\cdot\frac{x_i}{1 - p} + p \cdot 0 = x_i$, so the next layer sees inputs of the same
# size in training and at test time, and eval mode has nothing left to do. (The original paper instead
# multiplied by $1 - p$ at test time; PyTorch, and everybody since, uses the inverted form.) The gradient is
# the same mask, scaled: $\partial y_i / \partial x_i = r_i / (1 - p)$; autograd gives it to you if you
# multiply by the mask.
#
# Write `Dropout(p=0.5)`:
#
# - store `p` as `self.p`; raise `ValueError` if `p` is not in $[0, 1]$;
# - training mode: a fresh random mask at every call, with `torch.rand_like(x)` (an element is kept when its
#   uniform number is $\ge p$) or `torch.bernoulli`. Use PyTorch's global random generator (do not create
#   your own), so that `torch.manual_seed` makes the masks reproducible;
# - `p = 0` and eval mode: the identity; `p = 1`: all zeros (careful with $1/(1-p)$);
# - the output has `x`'s shape and dtype; do not modify `x` in place.

# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Dropout(nn.Module):
    """Inverted dropout: in training, zero each element with probability p and scale the rest by 1/(1 - p)."""

    def __init__(self, p=0.5):
        """p: the probability of dropping an element, in [0, 1] (ValueError otherwise)."""
        super().__init__()
        ### BEGIN SOLUTION
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"the dropout probability must be between 0 and 1, got {p}")
        self.p = p
        ### END SOLUTION

    def forward(self, x):
        """Training mode: a new random mask at every call. Eval mode (or p = 0): x unchanged. p = 1: zeros."""
        ### BEGIN SOLUTION
        if not self.training or self.p == 0.0:
            return x
        if self.p == 1.0:
            return x * 0.0
        keep = torch.rand_like(x) >= self.p  # True with probability 1 - p
        return x * keep / (1.0 - self.p)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dropout", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

drop = Dropout(0.25)
assert isinstance(drop, nn.Module), "Dropout should subclass nn.Module"
assert drop.p == 0.25, "store the probability as self.p"
assert Dropout().p == 0.5, "the default p is 0.5"
for bad_p in (-0.1, 1.5):
    try:
        Dropout(bad_p)
    except ValueError:
        pass
    else:
        raise AssertionError(f"Dropout({bad_p}) should raise ValueError: p must be between 0 and 1")

x = torch.ones(1000, 1000)
torch.manual_seed(0)
with T.forbidden(F.dropout, torch.dropout):
    y = drop(x)
assert isinstance(y, torch.Tensor) and y.shape == x.shape and y.dtype == x.dtype, "the output should have x's shape and dtype"
assert x.eq(1).all(), "Dropout must not change its input in place"
dropped = (y == 0).float().mean().item()
assert abs(dropped - 0.25) < 0.005, f"with p = 0.25 about 25% of the elements should be zero; got {dropped:.2%}"
kept = y[y != 0]
assert torch.allclose(kept, torch.full_like(kept, 1 / 0.75)), (
    f"the survivors should be scaled by 1/(1 - p) = 1.333...; found values {kept.unique()[:5].tolist()}")
assert abs(y.mean().item() - 1.0) < 0.005, f"inverted dropout keeps the mean (1.0 here); got {y.mean().item():.4f}"
assert not torch.equal(y[0] == 0, y[1] == 0), "every element needs its own random draw: rows 0 and 1 got the same mask"
with T.forbidden(F.dropout, torch.dropout):
    y_again = drop(x)
assert not torch.equal(y_again, y), "each call should draw a new random mask"
torch.manual_seed(0)
assert torch.equal(drop(x), y), "with the same torch.manual_seed the mask should be the same (use the global generator)"

small = torch.tensor([[1.0, -2.0, 3.0, 4.0]], requires_grad=True)
out = drop(small)
out.backward(torch.ones_like(out))
assert torch.allclose(small.grad, (out != 0).float() / 0.75), (
    f"the gradient should be the mask divided by 1 - p; got {small.grad.tolist()} for output {out.tolist()}")

drop.eval()
assert torch.equal(drop(x), x), "in eval mode Dropout is the identity"
drop.train()
assert torch.equal(Dropout(0.0)(x), x), "p = 0 drops nothing"
zeros = Dropout(1.0)(x)
assert zeros.shape == x.shape and (zeros == 0).all(), "p = 1 drops everything: the output is all zeros (and no NaN)"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBIDDEN = T.pytorch_implementations("dropout")

for _bad in (-0.01, 1.01, 2):
    try:
        Dropout(_bad)
    except ValueError:
        continue
    raise AssertionError(f"Dropout({_bad}) should raise ValueError")

_py, _gen = T.py_rng(6201), T.rng(6202)
_SLICE = 4000  # elementwise comparisons on the first elements; the statistics use all of them
for _case in range(8):
    _p = round(_py.uniform(0.05, 0.95), 3)
    _dtype = (torch.float32, torch.float64)[_case % 2]
    _shape = (250, 400) if _case % 3 else (10, 4, 50, 50)
    _signs = torch.where(torch.rand(*_shape, generator=_gen) < 0.5, -1.0, 1.0).to(_dtype)
    _x = (torch.rand(*_shape, generator=_gen, dtype=_dtype) + 0.5) * _signs
    _upstream = torch.randn(*_shape, generator=_gen, dtype=_dtype)
    _what = f"Dropout(p={_p}) on a {_dtype} input of shape {_shape}"
    _drop = Dropout(_p) if _case % 2 else Dropout(p=_p)
    _drop.train()
    _x_in = _x.clone().requires_grad_(True)
    _seed = _py.randint(0, 10 ** 6)
    torch.manual_seed(_seed)
    with T.forbidden(*_FORBIDDEN):
        _y = _drop(_x_in)
        _y.backward(_upstream)
    T.assert_type(_y, torch.Tensor, name=f"the output of {_what}")
    assert tuple(_y.shape) == _shape and _y.dtype == _dtype, f"{_what}: the output has shape {tuple(_y.shape)}, dtype {_y.dtype}"
    assert _x_in.grad is not None, f"{_what}: the input received no gradient"
    _y = _y.detach()
    _n = _x.numel()
    _is_zero = _y == 0
    _fraction = _is_zero.sum().item() / _n
    _sd = math.sqrt(_p * (1 - _p) / _n)
    assert abs(_fraction - _p) <= 6 * _sd, f"{_what}: {_fraction:.4f} of the elements are zero, expected about {_p}"
    _mean_sd = math.sqrt((_x.double() ** 2).sum().item() * _p / (1 - _p)) / _n
    _mean_error = abs(_y.double().mean().item() - _x.double().mean().item())
    assert _mean_error <= 6 * _mean_sd, f"{_what}: the mean moved by {_mean_error:.4g} (expected at most {6 * _mean_sd:.4g})"
    _flat_x, _flat_y = _x.reshape(-1)[:_SLICE], _y.reshape(-1)[:_SLICE]
    _flat_kept = _flat_y != 0
    T.assert_close(_x_in.detach().reshape(-1)[:_SLICE], _flat_x, atol=0, rtol=0,
                   name=f"the input after {_what} (it must not change)")
    T.assert_close(_flat_y[_flat_kept], (_flat_x / (1 - _p))[_flat_kept], atol=0,
                   rtol=1e-6 if _dtype == torch.float32 else 1e-12, name=f"the surviving elements of {_what} (x / (1 - p))")
    T.assert_close(_x_in.grad.reshape(-1)[:_SLICE], _upstream.reshape(-1)[:_SLICE] * _flat_kept / (1 - _p),
                   atol=1e-12, rtol=1e-6, name=f"the gradient of {_what} (the mask divided by 1 - p)")
    _rows = _is_zero.reshape(_shape[0], -1)
    assert (_rows[0] != _rows[1]).any().item(), f"{_what}: every element needs its own random draw (rows 0 and 1 got the same mask)"
    with T.forbidden(*_FORBIDDEN):
        _y_next = _drop(_x)
    assert ((_y_next == 0) != _is_zero).any().item(), f"{_what}: a second call should draw a new mask"
    torch.manual_seed(_seed)
    with T.forbidden(*_FORBIDDEN):
        _y_again = _drop(_x)
    T.assert_close(_y_again.reshape(-1)[:_SLICE], _flat_y, atol=0, rtol=0,
                   name=f"{_what} after the same torch.manual_seed (reproducibility)")
    assert (_y_again == 0).eq(_is_zero).all().item(), f"{_what}: the same torch.manual_seed should give the same mask"
    _drop.eval()
    _x_eval = _x.clone().requires_grad_(True)
    with T.forbidden(*_FORBIDDEN):
        _y_eval = _drop(_x_eval)
        _y_eval.backward(_upstream)
    assert _x_eval.grad is not None, f"{_what} in eval mode: the input received no gradient"
    T.assert_close(_y_eval.reshape(-1)[:_SLICE], _flat_x, atol=0, rtol=0, name=f"{_what} in eval mode (the identity)")
    assert _y_eval.detach().eq(_x).all().item(), f"{_what}: in eval mode the output should equal the input"
    T.assert_close(_x_eval.grad.reshape(-1)[:_SLICE], _upstream.reshape(-1)[:_SLICE], atol=0, rtol=0,
                   name=f"the gradient of {_what} in eval mode")

_x = torch.randn(30, 20, generator=_gen, dtype=torch.float64)
for _p, _expected in ((0.0, _x), (1.0, torch.zeros_like(_x))):
    with T.forbidden(*_FORBIDDEN):
        _y = Dropout(_p)(_x.clone())
    T.assert_type(_y, torch.Tensor, name=f"the output of Dropout({_p})")
    T.assert_close(_y, _expected, atol=0, rtol=0, name=f"Dropout({_p}) in training mode")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — L1, L2 and elastic-net penalties (2 points)
#
# A weight penalty adds a term $R$ to the loss that grows with the size of the weights, so the optimizer
# trades fitting the training data against keeping the weights small:
#
# $$L_{\text{total}} = L_{\text{data}} + \lambda_1 \sum_{w \in \mathcal W} |w| + \lambda_2 \sum_{w \in \mathcal W} w^2$$
#
# $\lambda_1 > 0, \lambda_2 = 0$ is the **L1** penalty ($\lVert W \rVert_1$), $\lambda_1 = 0, \lambda_2 > 0$ the
# **L2** penalty ($\lVert W \rVert_2^2$), both together the **elastic net**. Their gradients show what they do:
#
# $$\frac{\partial R}{\partial w} = \lambda_1 \operatorname{sign}(w) + 2 \lambda_2\, w .$$
#
# L2 pulls every weight towards zero in proportion to its size: a gradient step becomes
# $w \leftarrow (1 - 2\eta\lambda_2)\,w - \eta\, g$, the weight *decays* a little at every step, which is why
# the L2 penalty is also called **weight decay** (`torch.optim.SGD(..., weight_decay=wd)` adds $wd \cdot w$ to
# the gradient, i.e. $\lambda_2 = wd / 2$). L1 pulls with the same force $\lambda_1$ whatever the size, so
# small, useless weights end up at exactly zero: a sparse model.
#
# **Which parameters count** ($\mathcal W$). Penalties are meant for the weights that mix inputs: the weight
# matrices of `nn.Linear`, the kernels of `nn.Conv2d`. Biases, and BatchNorm's $\gamma$ and $\beta$, have one
# number per unit; penalising them does not prevent memorisation, and shrinking BatchNorm's $\gamma$ works
# against the normalisation. Hence the rule in this assignment:
#
# - by default, exactly the parameters with **at least two dimensions** count (`p.dim() >= 2`), whatever their
#   name: Linear and Conv weights, embedding tables, any matrix-shaped `nn.Parameter`;
# - with `include_bias=True`, **every** parameter counts: biases, BatchNorm's weight and bias, and any other
#   one-dimensional or scalar parameter as well.
#
# Write `weight_penalty(model, l1=0.0, l2=0.0, include_bias=False)`. Go through `model.parameters()` (every
# parameter of every submodule, each once) and return
# $\lambda_1 \sum |w| + \lambda_2 \sum w^2$ over the counted ones as a **0-dimensional tensor** (also when it is
# 0). It must be differentiable: `weight_penalty(model, l2=0.01).backward()` gives every counted parameter the
# gradient above (and the others none), so you can add it to a loss. Do not use `.item()`, `.data` or
# `.detach()` on the way, and do not change the parameters.

# %% nbgrader={"grade": false, "grade_id": "weight_penalty", "locked": false, "schema_version": 3, "solution": true, "task": false}
def weight_penalty(model, l1=0.0, l2=0.0, include_bias=False):
    """l1·Σ|w| + l2·Σw² as a 0-dim tensor, over the parameters of `model` with p.dim() >= 2
    (over all parameters if include_bias). Differentiable with respect to the parameters."""
    ### BEGIN SOLUTION
    total = torch.zeros(())
    for parameter in model.parameters():
        if include_bias or parameter.dim() >= 2:
            total = total + l1 * parameter.abs().sum() + l2 * parameter.pow(2).sum()
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_weight_penalty", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
layer = nn.Linear(2, 1)
with torch.no_grad():
    layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    layer.bias.copy_(torch.tensor([3.0]))
model = nn.Sequential(layer, nn.BatchNorm1d(1))  # BatchNorm: γ = 1, β = 0

penalty = weight_penalty(model, l1=0.1)
assert isinstance(penalty, torch.Tensor) and penalty.dim() == 0, (
    f"weight_penalty should return a 0-dim tensor, got {type(penalty).__name__} {getattr(penalty, 'shape', '')}")
assert abs(penalty.item() - 0.3) < 1e-6, (
    f"L1: 0.1·(|1| + |-2|) = 0.3 (the bias and BatchNorm's γ, β do not count); got {penalty.item()}")
penalty = weight_penalty(model, l2=0.01)
assert abs(penalty.item() - 0.05) < 1e-6, f"L2: 0.01·(1² + (-2)²) = 0.05; got {penalty.item()}"
penalty = weight_penalty(model, l1=0.1, l2=0.01)
assert abs(penalty.item() - 0.35) < 1e-6, f"elastic net: 0.3 + 0.05 = 0.35; got {penalty.item()}"
penalty = weight_penalty(model, l1=0.1, include_bias=True)
assert abs(penalty.item() - 0.7) < 1e-6, (
    f"include_bias=True: 0.1·(1 + 2 + 3 (bias) + 1 (BatchNorm γ) + 0 (β)) = 0.7; got {penalty.item()}")
penalty = weight_penalty(model)
assert isinstance(penalty, torch.Tensor) and penalty.item() == 0, "with l1 = l2 = 0 the penalty is a tensor 0"
penalty = weight_penalty(nn.BatchNorm1d(4), l1=1.0)
assert isinstance(penalty, torch.Tensor) and penalty.item() == 0, (
    "a model without ≥2-D parameters has nothing to penalise: return a tensor 0 (start from torch.zeros(()))")

model.zero_grad()
weight_penalty(model, l1=0.1, l2=0.01).backward()
assert layer.weight.grad is not None, "the penalty must be differentiable: no .item(), .data or .detach()"
assert torch.allclose(layer.weight.grad, torch.tensor([[0.12, -0.14]])), (
    f"gradient: 0.1·sign(w) + 2·0.01·w = [0.12, -0.14]; got {layer.weight.grad.tolist()}")
assert layer.bias.grad is None or layer.bias.grad.abs().max() == 0, "the bias is not penalised by default: no gradient"
assert layer.weight.tolist() == [[1.0, -2.0]], "weight_penalty must not change the parameters"
### BEGIN HIDDEN TESTS
from course_grading import testing as T


class _Gated(nn.Module):
    """Parameters named neither weight nor bias: a matrix (counts), a vector and a scalar (only with include_bias)."""

    def __init__(self, _size):
        super(_Gated, self).__init__()
        self.mixing = nn.Parameter(torch.zeros(_size, _size))
        self.gain = nn.Parameter(torch.zeros(_size))
        self.temperature = nn.Parameter(torch.zeros(()))


def _random_model(_rng):
    _makers = [lambda: nn.Linear(_rng.randint(1, 6), _rng.randint(1, 6)),
               lambda: nn.Linear(_rng.randint(1, 6), _rng.randint(1, 6), bias=False),
               lambda: nn.Conv2d(_rng.randint(1, 3), _rng.randint(1, 4), _rng.randint(1, 3)),
               lambda: nn.Conv2d(_rng.randint(1, 3), _rng.randint(1, 4), 2, bias=False),
               lambda: nn.BatchNorm1d(_rng.randint(1, 6)),
               lambda: nn.BatchNorm2d(_rng.randint(1, 6)),
               lambda: nn.LayerNorm(_rng.randint(1, 6)),
               lambda: nn.Embedding(_rng.randint(2, 6), _rng.randint(1, 4)),
               lambda: _Gated(_rng.randint(1, 4)),
               lambda: nn.ReLU()]
    _parts = [_rng.choice(_makers)() for _ in range(_rng.randint(1, 5))]
    if len(_parts) > 2 and _rng.random() < 0.5:
        _parts = [_parts[0], nn.Sequential(*_parts[1:])]
    return nn.Sequential(*_parts)


def _ref_penalty(_model_in, _l1_in, _l2_in, _include_in):
    """(value, {name: gradient}) computed from the detached parameters in float64."""
    _value, _grads = 0.0, {}
    for _name, _p in _model_in.named_parameters():
        _w = _p.detach().double()
        if _include_in or _w.dim() >= 2:
            _value += _l1_in * _w.abs().sum().item() + _l2_in * (_w * _w).sum().item()
            _grads[_name] = _l1_in * torch.sign(_w) + 2 * _l2_in * _w
        else:
            _grads[_name] = torch.zeros_like(_w)
    return _value, _grads


_py, _gen = T.py_rng(6301), T.rng(6302)
_settings = [(0.0, 0.0), (0.0, 0.0)] + [None] * 28
for _case, _setting in enumerate(_settings):
    _dtype = torch.float64 if _case % 4 else torch.float32
    _model = _random_model(_py).to(_dtype)
    with torch.no_grad():
        for _p in _model.parameters():
            _p.copy_(torch.randn(_p.shape, generator=_gen, dtype=_dtype))
    _l1, _l2 = _setting or _py.choice([(round(_py.uniform(0.001, 1), 4), 0.0), (0.0, round(_py.uniform(0.001, 1), 4)),
                                       (round(_py.uniform(0.001, 1), 4), round(_py.uniform(0.001, 1), 4))])
    _include = _case % 3 == 1
    _before = [_p.detach().clone() for _p in _model.parameters()]
    _what = f"weight_penalty(model, l1={_l1}, l2={_l2}, include_bias={_include}) for the {_dtype} model {' '.join(str(_model).split())}"
    _model.zero_grad(set_to_none=True)
    if _case % 2:
        _out = weight_penalty(_model, l1=_l1, l2=_l2, include_bias=_include)
    else:
        _out = weight_penalty(_model, _l1, _l2, _include)
    T.assert_type(_out, torch.Tensor, name=_what)
    assert _out.dim() == 0, f"{_what} should be a 0-dim tensor, got shape {tuple(_out.shape)}"
    _value, _grads = _ref_penalty(_model, _l1, _l2, _include)
    _tol = 1e-10 if _dtype == torch.float64 else 1e-5
    T.assert_close(_out, _value, atol=_tol, rtol=_tol, name=_what)
    if any(_g.abs().max().item() > 0 for _g in _grads.values()):
        assert _out.requires_grad, f"{_what} is not differentiable: do not use .item(), .data or .detach()"
        _out.backward()
    for (_name, _p), _old in zip(_model.named_parameters(), _before):
        T.assert_close(_p.detach(), _old, atol=0, rtol=0, name=f"parameter {_name} after {_what} (must not change)")
        _grad = _p.grad if _p.grad is not None else torch.zeros_like(_p)
        T.assert_close(_grad, _grads[_name], atol=_tol, rtol=_tol, name=f"the gradient w.r.t. {_name} of {_what}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Closing a measured train/validation gap (2 points)
#
# Time to see overfitting and fix it. The set-up below is built to overfit: only the first **1,000** images of
# Fashion-MNIST's training set, and a **big MLP** (784 → 512 → 512 → 10, about 670,000 weights, 670 per
# training image), trained with Adam (learning rate $10^{-3}$) for 20 epochs of mini-batches of 50. It
# reaches almost 100 % on its 1,000 training images and only about 80 % on the 10,000 held-out images
# (Fashion-MNIST's test set, our *validation set* here). We measure overfitting by the **gap**
#
# $$\text{gap} = \text{train accuracy} - \text{validation accuracy},$$
#
# both measured in eval mode, the training accuracy on the 1,000 un-augmented training images.
#
# The locked cell below provides `build_big_mlp()`, `train_model(model, optimizer, augment=None,
# penalty=None)`, which trains on `x_small, y_small` and returns learning curves, and `accuracy_gap(model)`,
# which returns `{"train_acc", "val_acc", "gap"}`. Then:
#
# 1. **Baseline** (cell `baseline`): call `seed_everything(SEED)`, build `baseline_model = build_big_mlp()`, train
#    it with `train_model` and `torch.optim.Adam(baseline_model.parameters(), lr=LR)`, nothing else, and store
#    `baseline_history` (what `train_model` returns) and `baseline_gap = accuracy_gap(baseline_model)["gap"]`.
# 2. **Regularised** (cell `regularised`): call `seed_everything(SEED)` again and train `regularised_model`
#    for the same `EPOCHS` with the regularisation of your choice, for example:
#    - dropout layers (`nn.Dropout`, or your `Dropout`) before the linear layers, also on the input pixels;
#    - batch normalisation (`nn.BatchNorm1d`, or your `BatchNorm`) after the hidden linear layers;
#    - weight decay: `weight_decay=...` in the optimizer (`torch.optim.AdamW` decouples it from Adam's
#      scaling), or `penalty=lambda m: weight_penalty(m, l2=...)`;
#    - data augmentation, `augment=...`: a function from a batch of images `(B, 1, 28, 28)` to a batch of
#      changed images *with the same labels*: random horizontal flips (`torch.where` with a random per-image
#      condition and `images.flip(-1)`), small shifts (`torch.roll`), Gaussian noise (`torch.randn_like`).
#
#    Store `regularised_history` and `regularised_gap = accuracy_gap(regularised_model)["gap"]`.
#
# Rules: `regularised_model` keeps the big MLP's three `nn.Linear` layers with their sizes (784 → 512,
# 512 → 512, 512 → 10) and has no convolutions; you may add dropout, normalisation and activation layers.
# Train only on the 1,000 images `x_small, y_small` (augmented copies of them are fine), never on `x_val`.
#
# **What is graded.** The test evaluates both models itself, in eval mode, on the 1,000 training images and
# the 10,000 validation images, and requires
#
# - the baseline to be the unregularised set-up: its gap is at least **0.12** (it is about 0.19);
# - the regularised model's validation accuracy to be at least **0.76**;
# - the regularised model's gap to be at least **0.04** smaller than the baseline's;
# - `baseline_gap` and `regularised_gap` to be the gaps you measured with `accuracy_gap` (within 0.01).
#
# Making the network worse on both sets is not the point, which is why validation accuracy has a floor. Each
# training run takes a few seconds on a laptop CPU; the notebook is graded again from scratch, so aim for
# some margin.

# %% nbgrader={"grade": false, "grade_id": "experiment_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
SEED = 0
EPOCHS = 20
BATCH_SIZE = 50
LR = 1e-3

x_train_all, y_train_all = image_tensors(load_fashion_mnist(train=True))
x_small, y_small = x_train_all[:1000], y_train_all[:1000]
x_val, y_val = image_tensors(load_fashion_mnist(train=False))
print(f"training images {tuple(x_small.shape)}, per class {torch.bincount(y_small).tolist()}; "
      f"validation images {tuple(x_val.shape)}")


def build_big_mlp():
    """The over-sized MLP of the experiment: 784 → 512 → 512 → 10 with ReLUs, no regularisation."""
    return nn.Sequential(nn.Flatten(),
                         nn.Linear(784, 512), nn.ReLU(),
                         nn.Linear(512, 512), nn.ReLU(),
                         nn.Linear(512, 10))


def accuracy(model, images, labels):
    """The fraction of `images` that `model`, switched to eval mode, classifies correctly."""
    return evaluate(model, TensorLoader(images, labels, batch_size=2000))["acc"]


def accuracy_gap(model):
    """{"train_acc": on x_small, "val_acc": on x_val, "gap": train_acc - val_acc}, all in eval mode."""
    train_acc, val_acc = accuracy(model, x_small, y_small), accuracy(model, x_val, y_val)
    return {"train_acc": train_acc, "val_acc": val_acc, "gap": train_acc - val_acc}


def train_model(model, optimizer, augment=None, penalty=None, epochs=EPOCHS):
    """Train `model` (moved to `device`) on x_small, y_small with cross-entropy for `epochs` epochs of shuffled
    mini-batches of BATCH_SIZE (the same order for every model).

    augment: None or a function images -> images applied to every training batch.
    penalty: None or a function model -> 0-dim tensor added to every batch's loss.
    Returns learning curves {"train_acc": [...], "val_acc": [...]}, one value per epoch, measured in eval mode on
    x_small and on the first 1,000 validation images (a quick estimate; accuracy_gap uses all 10,000).
    """
    model.to(device)
    loader = TensorLoader(x_small, y_small, batch_size=BATCH_SIZE, shuffle=True, device=device, seed=SEED)
    if augment is not None:
        loader = AugmentedLoader(loader, augment)  # augment(images) on every whole batch
    history = {"train_acc": [], "val_acc": []}
    for _ in range(epochs):
        train_epoch(model, loader, optimizer, penalty=penalty, device=device, progress=False)  # cross-entropy
        history["train_acc"].append(accuracy(model, x_small, y_small))
        history["val_acc"].append(accuracy(model, x_val[:1000], y_val[:1000]))
    return history


# %% nbgrader={"grade": false, "grade_id": "baseline", "locked": false, "schema_version": 3, "solution": true, "task": false}
# The baseline: build_big_mlp() trained with train_model and Adam(lr=LR), after seed_everything(SEED).
# Store baseline_model, baseline_history and baseline_gap.
### BEGIN SOLUTION
seed_everything(SEED)
baseline_model = build_big_mlp()
baseline_history = train_model(baseline_model, torch.optim.Adam(baseline_model.parameters(), lr=LR))
baseline_gap = accuracy_gap(baseline_model)["gap"]
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "regularised", "locked": false, "schema_version": 3, "solution": true, "task": false}
# Your regularised version, after seed_everything(SEED). Store regularised_model, regularised_history and
# regularised_gap.
### BEGIN SOLUTION
seed_everything(SEED)
# Dropout on the pixels and on both hidden layers ...
regularised_model = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                                  nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.5),
                                  nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.5),
                                  nn.Linear(512, 10))


def add_noise(images):
    """... and augmentation: Gaussian noise on the (standardised) pixels. A noisy shirt is still a shirt."""
    return images + torch.randn_like(images)


regularised_history = train_model(regularised_model, torch.optim.Adam(regularised_model.parameters(), lr=LR),
                                  augment=add_noise)
regularised_gap = accuracy_gap(regularised_model)["gap"]
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "experiment_results", "locked": true, "schema_version": 3, "solution": false, "task": false}
results = {"baseline": accuracy_gap(baseline_model), "regularised": accuracy_gap(regularised_model)}
for name, result in results.items():
    print(f"{name:>12}: train {result['train_acc']:.3f}, validation {result['val_acc']:.3f}, gap {result['gap']:.3f}")

fig, ax = plt.subplots(figsize=(7, 4))
for (name, history), colour in zip([("baseline", baseline_history), ("regularised", regularised_history)],
                                   ["tab:red", "tab:blue"]):
    epochs = range(1, len(history["train_acc"]) + 1)
    ax.plot(epochs, history["train_acc"], color=colour, label=f"{name}: train")
    ax.plot(epochs, history["val_acc"], color=colour, linestyle="--", label=f"{name}: validation")
ax.set_xticks(range(0, len(baseline_history["train_acc"]) + 1, 5))
ax.set_xlabel("epoch")
ax.set_ylabel("accuracy (eval mode)")
ax.set_title("1,000 training images: the gap is the distance from solid to dashed")
ax.legend()
ax.grid(alpha=0.3)
plt.show()

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_discussion", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Reading the curves.** The baseline's training accuracy (solid) climbs towards 100 % while its validation
# accuracy (dashed; the curves use the first 1,000 validation images, the printed numbers all 10,000) stops
# near 80 % after a few epochs: from then on the network memorises its 1,000 images. Regularisation mostly
# changes the solid line: the network can no longer memorise, so its training accuracy stays close to what it
# achieves on new images. Do not expect a big rise of the dashed line. With 1,000 images there is only so much
# to learn, and an MLP sees a shirt shifted by one pixel as a new pattern. More data, or an architecture with
# the right assumptions built in (the convolutions of Lecture 04), raise the validation accuracy itself.

# %% nbgrader={"grade": true, "grade_id": "test_experiment", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
BIG_MLP_LINEARS = [(784, 512), (512, 512), (512, 10)]


def linear_sizes(model):
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


for name, model in (("baseline_model", baseline_model), ("regularised_model", regularised_model)):
    assert isinstance(model, nn.Module), f"{name} should be your trained nn.Module, got {type(model).__name__}"
    assert linear_sizes(model) == BIG_MLP_LINEARS, (
        f"{name} should keep the big MLP's linear layers {BIG_MLP_LINEARS}; it has {linear_sizes(model)}")
    assert not any(isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) for m in model.modules()), f"{name}: no convolutions"
for name, value in (("baseline_gap", baseline_gap), ("regularised_gap", regularised_gap)):
    assert isinstance(value, float), f"{name} should be the float accuracy_gap(...)['gap'], got {type(value).__name__}"
baseline, regularised = accuracy_gap(baseline_model), accuracy_gap(regularised_model)
assert abs(baseline_gap - baseline["gap"]) <= 0.01, f"baseline_gap is {baseline_gap:.3f}, but accuracy_gap(baseline_model) gives {baseline['gap']:.3f}"
assert abs(regularised_gap - regularised["gap"]) <= 0.01, (
    f"regularised_gap is {regularised_gap:.3f}, but accuracy_gap(regularised_model) gives {regularised['gap']:.3f}")
assert baseline["gap"] >= 0.12, (
    f"the baseline's gap is only {baseline['gap']:.3f}: train the plain build_big_mlp() with Adam(lr=LR) for EPOCHS epochs")
assert regularised["val_acc"] >= 0.76, f"the regularised model's validation accuracy {regularised['val_acc']:.3f} is below 0.76"
assert regularised["gap"] <= baseline["gap"] - 0.04, (
    f"the gap went from {baseline['gap']:.3f} to {regularised['gap']:.3f}; it should shrink by at least 0.04")
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_train_images, _train_labels = image_tensors(load_fashion_mnist(train=True), limit=1000)
_val_images, _val_labels = image_tensors(load_fashion_mnist(train=False))
assert len(_train_labels) == 1000 and len(_val_labels) == 10_000, "Fashion-MNIST should give 1,000 + 10,000 images"
_measured = {}
for _name, _model in (("baseline_model", baseline_model), ("regularised_model", regularised_model)):
    assert isinstance(_model, nn.Module), f"{_name} should be an nn.Module"
    _sizes = [(_m.in_features, _m.out_features) for _m in _model.modules() if isinstance(_m, nn.Linear)]
    assert _sizes == [(784, 512), (512, 512), (512, 10)], f"{_name} has the linear layers {_sizes}"
    assert not any(isinstance(_m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)) for _m in _model.modules()), (
        f"{_name} must not contain convolutions")
    _train_acc = T.accuracy(_model, _train_images, _train_labels)
    _val_acc = T.accuracy(_model, _val_images, _val_labels)
    _measured[_name] = (_train_acc, _val_acc, _train_acc - _val_acc)
_plain = {nn.Sequential, nn.Flatten, nn.Linear, nn.ReLU}
_extra = sorted({type(_m).__name__ for _m in baseline_model.modules()} - {_t.__name__ for _t in _plain})
assert not _extra, f"the baseline must be the plain big MLP, without {_extra}"
for _name, _reported in (("baseline_gap", baseline_gap), ("regularised_gap", regularised_gap)):
    T.assert_type(_reported, float, name=_name)
_b_train, _b_val, _b_gap = _measured["baseline_model"]
_r_train, _r_val, _r_gap = _measured["regularised_model"]
assert abs(baseline_gap - _b_gap) <= 0.01, f"baseline_gap = {baseline_gap:.3f}, but the baseline's gap is {_b_gap:.3f}"
assert abs(regularised_gap - _r_gap) <= 0.01, f"regularised_gap = {regularised_gap:.3f}, but the model's gap is {_r_gap:.3f}"
assert _b_gap >= 0.12, f"the baseline's gap is {_b_gap:.3f}; the unregularised set-up overfits by about 0.19"
assert _r_val >= 0.76, f"the regularised model's validation accuracy is {_r_val:.3f}, below 0.76"
assert _r_gap <= _b_gap - 0.04, f"the gap shrank from {_b_gap:.3f} to {_r_gap:.3f}, by less than 0.04"
print(f"✓ gap {_b_gap:.3f} → {_r_gap:.3f}, validation accuracy {_b_val:.3f} → {_r_val:.3f}")
### END HIDDEN TESTS
