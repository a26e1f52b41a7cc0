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
# A big network trained on few examples learns its training set by heart: the training accuracy climbs
# towards perfect while the accuracy on new data stalls. The lecture's remedies are **batch normalisation** (it makes
# deep networks easier to train), **weight penalties** (L1, L2, elastic net), **dropout** and **data
# augmentation**. In this assignment you build the first three yourself, check them against PyTorch, and
# then design an experiment of your own: an overfitting network, and regularisation that shrinks the gap
# between its training and validation accuracy.
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `BatchNorm` for `(N, C)` and `(N, C, H, W)` inputs, train and eval mode, with its backward pass by hand | 4 |
# | 2 | `Dropout`: inverted dropout | 2 |
# | 3 | `weight_penalty`: the L1 / L2 / elastic-net penalty of a model's weights | 2 |
# | 4 | an experiment of your design: regularisation that measurably closes a train/validation gap on Fashion-MNIST | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. What you see in it are the
# *visible tests*: small examples you can check by hand, a gradient check and comparisons with PyTorch. Run
# them as often as you like. When your notebook is graded, a grader outside your notebook calls your classes
# and functions on many other inputs: random shapes, dtypes, momentum and `eps` values, `affine` on and off,
# several training steps followed by evaluation (Part 1); large random tensors with random drop
# probabilities, checked statistically, in every floating-point dtype (Part 2); random models (Part 3). It
# compares outputs, running statistics **and gradients** with PyTorch or with its own reference, and in
# Part 4 it runs your experiment again with a seed of its own and measures the models itself. A part scores
# its points only if all of its checks pass, so passing the visible tests is necessary but not sufficient:
# make your code right for every input the instructions allow.
#
# More rules:
#
# - Parts 1 and 2 are about implementing what PyTorch already has. Inside your `BatchNormFunction`,
#   `BatchNorm` and `Dropout`, PyTorch's own normalisation and dropout (`F.batch_norm`, `nn.BatchNorm1d`,
#   `torch.batch_norm`, `F.layer_norm`, `F.instance_norm`, `F.group_norm`, `F.dropout`, `nn.Dropout`,
#   `torch.dropout`, …) are **forbidden**; the grader detects such calls, also inside an `nn.Module` or during
#   the backward pass. Tensor arithmetic, reductions (`mean`, `var`, `sum`, …), `torch.sqrt`, `torch.rand`,
#   `torch.rand_like` and `torch.bernoulli` are fine. In Part 4 you may use anything, PyTorch's layers
#   included.
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the classes and functions or change their arguments, and do not edit the test cells.
# - Code that interferes with grading (rebinding library functions, reading other files) sends the
#   submission to manual review. Using what the notebook itself imports (`course_utils.testing` included) is
#   fine.
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
# averages** for that, updated at every training step with the momentum $\alpha$ (`momentum`, `0.1` by default):
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
# **The backward pass, by hand.** Autograd could differentiate these formulas for you, but deriving the
# gradient once shows why batch normalisation behaves so differently from a fixed normalisation: $\mu_c$ and
# $\sigma_c^2$ depend on *every* value of the batch, so the gradient of one output reaches every input of its
# channel. Write $\tilde\sigma_c = \sqrt{\sigma_c^2 + \varepsilon}$ and $g = \partial L/\partial y$ (the
# gradient arriving from above, shape of `x`). The parameters are easy,
#
# $$\frac{\partial L}{\partial \beta_c} = \sum g, \qquad \frac{\partial L}{\partial \gamma_c} = \sum g\,\hat x ,$$
#
# (sums over the $m$ values of channel $c$). For the input, follow the three paths from $x_i$ to the loss:
# directly through $\hat x_i$, through $\mu_c$ and through $\sigma_c^2$. With
# $\partial\mu_c/\partial x_i = 1/m$ and $\partial\sigma_c^2/\partial x_i = 2(x_i - \mu_c)/m$ you should
# arrive at
#
# $$\frac{\partial L}{\partial x_i} = \frac{\gamma_c}{\tilde\sigma_c}\left(g_i - \frac{1}{m}\sum_j g_j
#   - \hat x_i\,\frac{1}{m}\sum_j g_j\,\hat x_j\right).$$
#
# The two subtracted terms are what the batch statistics add: the gradient has no component that would
# shift or stretch the whole channel, because normalisation removes any such change again.
#
# **What to write.**
#
# 1. **`BatchNormFunction`**, a [`torch.autograd.Function`](https://pytorch.org/docs/stable/notes/extending.html)
#    for training mode. `forward(ctx, x, weight, bias, eps)` normalises `x` of shape `(N, C)` or
#    `(N, C, H, W)` with its batch statistics and returns $y = \gamma\hat x + \beta$; `weight` and `bias` are
#    tensors of shape `(C,)`, `eps` a float. Save what the backward needs (`ctx.save_for_backward(...)` for
#    tensors). `backward(ctx, grad_out)` returns one value per argument of `forward`:
#    `(grad_x, grad_weight, grad_bias, None)`, computed with the formulas above (no autograd inside it).
# 2. **`BatchNorm`**, a module that behaves exactly like `nn.BatchNorm1d` on `(N, C)` inputs and like
#    `nn.BatchNorm2d` on `(N, C, H, W)` inputs, in both modes, gradients included:
#    - `BatchNorm(num_features, eps=1e-5, momentum=0.1, affine=True)` stores its arguments as attributes of
#      the same names.
#    - With `affine=True`, `self.weight` ($\gamma$, ones) and `self.bias` ($\beta$, zeros) are `nn.Parameter`s
#      of shape `(C,)`. With `affine=False` the layer has no parameters ($\gamma = 1$, $\beta = 0$): set
#      `self.weight` and `self.bias` to `None` (not to tensors), and give `BatchNormFunction` ones and zeros.
#    - `running_mean` (zeros) and `running_var` (ones), shape `(C,)`, are **buffers**, created with
#      `self.register_buffer(name, tensor)`: state that is not learned but moves with the module
#      (`.to(device)`, `.double()`) and is saved in its `state_dict()`.
#    - Training mode: the output comes from `BatchNormFunction.apply(...)`; update the buffers without
#      recording the update for autograd (inside `with torch.no_grad():`, or from `.detach()`ed statistics): a
#      running average must not drag a computation graph along from step to step.
#    - Eval mode: the formula with the running averages, in ordinary tensor operations (autograd
#      differentiates it); the buffers do not change.
#    - The output has `x`'s shape and dtype; do not modify `x` in place.
#
# Hints: `x.mean(dim=dims)` and `x.var(dim=dims, unbiased=False)` reduce over several dimensions at once
# (`dims = [0]` for `(N, C)`, `[0, 2, 3]` for `(N, C, H, W)`); a tensor of shape `(C,)` broadcasts against
# `x` after `.reshape(1, C)` or `.reshape(1, C, 1, 1)`; `keepdim=True` keeps the reduced dimensions.

# %% nbgrader={"grade": false, "grade_id": "batchnorm", "locked": false, "schema_version": 3, "solution": true, "task": false}
class BatchNormFunction(torch.autograd.Function):
    """Training-mode batch normalisation with the batch statistics, and its backward pass written by hand."""

    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        """x: (N, C) or (N, C, H, W); weight, bias: (C,); eps: float. Returns weight * x_hat + bias (x's shape)."""
        ### BEGIN SOLUTION
        dims = [0] + list(range(2, x.dim()))  # every dimension except the channels
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)  # (C,) -> broadcastable against x
        mean = x.mean(dim=dims, keepdim=True)
        inv_std = 1.0 / torch.sqrt(x.var(dim=dims, unbiased=False, keepdim=True) + eps)
        x_hat = (x - mean) * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        return x_hat * weight.reshape(shape) + bias.reshape(shape)
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_out):
        """Returns (grad_x, grad_weight, grad_bias, None)."""
        ### BEGIN SOLUTION
        x_hat, inv_std, weight = ctx.saved_tensors
        dims = [0] + list(range(2, grad_out.dim()))
        shape = [1, grad_out.shape[1]] + [1] * (grad_out.dim() - 2)
        grad_bias = grad_out.sum(dim=dims)
        grad_weight = (grad_out * x_hat).sum(dim=dims)
        mean_grad = grad_out.mean(dim=dims, keepdim=True)
        mean_grad_x_hat = (grad_out * x_hat).mean(dim=dims, keepdim=True)
        grad_x = weight.reshape(shape) * inv_std * (grad_out - mean_grad - x_hat * mean_grad_x_hat)
        return grad_x, grad_weight, grad_bias, None
        ### END SOLUTION


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
        """Training mode: BatchNormFunction with the batch statistics, and update the running averages.
        Eval mode: normalise with the running averages. Returns a tensor of x's shape and dtype."""
        ### BEGIN SOLUTION
        dims = [0] + list(range(2, x.dim()))  # every dimension except the channels
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)  # (C,) -> broadcastable against x
        weight = self.weight if self.affine else x.new_ones(x.shape[1])
        bias = self.bias if self.affine else x.new_zeros(x.shape[1])
        if self.training:
            with torch.no_grad():
                count = x.numel() // x.shape[1]
                mean, var = x.mean(dim=dims), x.var(dim=dims, unbiased=False)
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * count / (count - 1))
            return BatchNormFunction.apply(x, weight, bias, self.eps)
        x_hat = (x - self.running_mean.reshape(shape)) / torch.sqrt(self.running_var.reshape(shape) + self.eps)
        return x_hat * weight.reshape(shape) + bias.reshape(shape)
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_batchnorm", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# 1. The constructor
bn = BatchNorm(1)
assert isinstance(bn, nn.Module), "BatchNorm should subclass nn.Module"
assert (bn.num_features, bn.eps, bn.momentum, bn.affine) == (1, 1e-5, 0.1, True), (
    "store num_features, eps, momentum and affine as attributes")
assert sorted(name for name, _ in bn.named_parameters()) == ["bias", "weight"], (
    "with affine=True the parameters should be `weight` and `bias` (nn.Parameter)")
buffers = dict(bn.named_buffers())
assert "running_mean" in buffers and "running_var" in buffers, (
    "create running_mean and running_var with self.register_buffer(...)")
assert bn.weight.tolist() == [1.0] and bn.bias.tolist() == [0.0], "γ (weight) starts at 1 and β (bias) at 0"
assert bn.running_mean.tolist() == [0.0] and bn.running_var.tolist() == [1.0], "the running mean starts at 0, the running variance at 1"
plain = BatchNorm(3, affine=False)
assert list(plain.parameters()) == [], "with affine=False the layer has no parameters"
assert plain.weight is None and plain.bias is None, (
    f"with affine=False set self.weight and self.bias to None, got {type(plain.weight).__name__} and {type(plain.bias).__name__}")

# 2. BatchNormFunction: one feature, a batch of two: mean 2, biased variance 1, so x_hat = (x - 2)/sqrt(1 + eps)
x = torch.tensor([[1.0], [3.0]], dtype=torch.float64, requires_grad=True)
gamma = torch.tensor([2.0], dtype=torch.float64, requires_grad=True)
beta = torch.tensor([0.5], dtype=torch.float64, requires_grad=True)
with T.forbidden("normalization"):
    y = BatchNormFunction.apply(x, gamma, beta, 1e-5)
T.assert_type(y, torch.Tensor, name="BatchNormFunction.apply(...)")
T.assert_close(y, [[0.5 - 2 / math.sqrt(1 + 1e-5)], [0.5 + 2 / math.sqrt(1 + 1e-5)]], name="γ·x_hat + β with γ = 2, β = 0.5")
assert y.grad_fn is not None and "BatchNormFunction" in type(y.grad_fn).__name__, (
    "the output of BatchNormFunction.apply should come from your BatchNormFunction")
try:
    y.backward(torch.tensor([[1.0], [0.0]], dtype=torch.float64))
except RuntimeError as error:
    if "incorrect number of gradients" in str(error):
        raise AssertionError("backward must return one value per argument of forward: "
                             f"(grad_x, grad_weight, grad_bias, None) (PyTorch says: {error})") from None
    raise
# g = (1, 0): dβ = 1, dγ = x_hat_1 ≈ -1; dx = γ/σ̃ (g - mean(g) - x_hat·mean(g·x_hat)) = 2·((1, 0) - 0.5 - (-1, 1)·0.5) ≈ (0, 0)
T.assert_close(beta.grad, [1.0], name="dL/dβ = Σ g")
T.assert_close(gamma.grad, [-1 / math.sqrt(1 + 1e-5)], name="dL/dγ = Σ g·x_hat")
T.assert_close(x.grad, [[0.0], [0.0]], atol=1e-4, name="dL/dx (with two values, x_hat is ±1 whatever x is: no gradient)")

# gradcheck: your backward against finite differences, for (N, C) and (N, C, H, W) inputs
gen = torch.Generator().manual_seed(0)
for shape in [(6, 3), (4, 3, 2, 5)]:
    x = torch.randn(*shape, generator=gen, dtype=torch.float64, requires_grad=True)
    gamma = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    beta = torch.randn(3, generator=gen, dtype=torch.float64, requires_grad=True)
    try:
        y = BatchNormFunction.apply(x, gamma, beta, 1e-5)
    except RuntimeError as error:
        raise AssertionError(f"BatchNormFunction failed on an input of shape {shape} ({error}). For (N, C, H, W) "
                             "inputs the statistics are per channel, over dims 0, 2 and 3") from None
    assert y.shape == x.shape, f"the output should have x's shape {shape}, got {tuple(y.shape)}"
    T.assert_close(y, F.batch_norm(x, None, None, gamma, beta, training=True, eps=1e-5), atol=1e-10,
                   name=f"BatchNormFunction on {shape} (statistics per channel, over every dimension except 1)")
    assert torch.autograd.gradcheck(lambda x, g, b: BatchNormFunction.apply(x, g, b, 1e-5), (x, gamma, beta)), (
        f"gradcheck failed for shape {shape}")

# 3. The module: running statistics, eval mode
bn = BatchNorm(1)
y = bn(torch.tensor([[1.0], [3.0]], requires_grad=True))
assert isinstance(y, torch.Tensor) and y.shape == (2, 1), f"the output should have the input's shape (2, 1), got {getattr(y, 'shape', y)}"
T.assert_close(y, [[-1.0], [1.0]], atol=1e-4, name="training mode normalises with the batch statistics: (x - 2)/sqrt(1 + eps)")
assert y.grad_fn is not None and "BatchNormFunction" in type(y.grad_fn).__name__, (
    "in training mode the output should come from BatchNormFunction.apply")
T.assert_close(bn.running_mean, [0.2], name="running_mean = 0.9·0 + 0.1·2 = 0.2")
T.assert_close(bn.running_var, [1.1], name="running_var = 0.9·1 + 0.1·2 = 1.1 (the UNBIASED batch variance, 2)")
assert not bn.running_mean.requires_grad and not bn.running_var.requires_grad, (
    "the running statistics must not track gradients (here x requires grad): update them inside torch.no_grad()")
bn.eval()
y = bn(torch.tensor([[2.2]]))
T.assert_close(y, [[2.0 / math.sqrt(1.1 + 1e-5)]], name="eval mode uses the running statistics: (2.2 - 0.2)/sqrt(1.1 + eps)")
T.assert_close(bn.running_mean, [0.2], name="eval mode must not change the running statistics: running_mean")

# 4. Against PyTorch: (N, C) and (N, C, H, W), affine on and off, two training steps and one in eval mode,
#    outputs, running statistics and gradients
for shape, Reference, affine in [((6, 3), nn.BatchNorm1d, True), ((4, 3, 5, 5), nn.BatchNorm2d, True),
                                 ((4, 3, 2, 3), nn.BatchNorm2d, False)]:
    mine, ref = BatchNorm(3, momentum=0.3, affine=affine), Reference(3, momentum=0.3, affine=affine)
    if affine:
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
        where = f"input {shape}, affine={affine}, {mode} mode"
        try:
            with T.forbidden("normalization"):
                y_mine = mine(x_mine)
                y_mine.backward(upstream)
        except RuntimeError as error:
            if "second time" in str(error) or "modified by an inplace operation" in str(error):
                raise AssertionError(f"{where}: backward ran into an earlier step's graph. The running statistics "
                                     "were updated with gradient tracking: update them inside torch.no_grad()") from None
            if "invalid for input of size" in str(error) or "must match the size" in str(error):
                raise AssertionError(f"{where}: {error}. For (N, C, H, W) inputs the statistics are per channel: "
                                     "reduce over dims 0, 2 and 3") from None
            raise
        y_ref = ref(x_ref)
        y_ref.backward(upstream)
        assert y_mine.shape == y_ref.shape, f"{where}: expected shape {tuple(y_ref.shape)}, got {tuple(y_mine.shape)}"
        assert y_mine.dtype == x.dtype, f"{where}: the output should have x's dtype {x.dtype}, got {y_mine.dtype}"
        T.assert_close(y_mine, y_ref, atol=1e-5, name=f"{where}: the output")
        for name in ("running_mean", "running_var"):
            T.assert_close(getattr(mine, name), getattr(ref, name), atol=1e-5, name=f"{where}: {name}")
            assert not getattr(mine, name).requires_grad, f"{where}: {name} tracks gradients; update it under torch.no_grad()"
        T.assert_close(x_mine.grad, x_ref.grad, atol=1e-5, name=f"{where}: the gradient w.r.t. x")
        if affine:
            T.assert_close(mine.weight.grad, ref.weight.grad, atol=1e-4, name=f"{where}: the gradient w.r.t. weight (γ)")
            T.assert_close(mine.bias.grad, ref.bias.grad, atol=1e-4, name=f"{where}: the gradient w.r.t. bias (β)")
assert torch.equal(x_mine.detach(), x), "BatchNorm must not modify its input"
y = BatchNorm(3).double()(torch.randn(5, 3, dtype=torch.float64))
assert y.dtype == torch.float64, f"a float64 layer on a float64 input gives float64, got {y.dtype}"

print("✓ Part 1: BatchNormFunction (gradcheck included) and BatchNorm pass the visible tests")

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
# - the output has `x`'s shape and dtype, also for half-precision inputs (`float16`, `bfloat16`): a mask
#   made of `float32` numbers would turn them into `float32`, so keep the mask boolean (or in `x`'s dtype);
# - do not modify `x` in place.

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
from course_utils import testing as T

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
with T.forbidden("dropout"):
    y = drop(x)
T.assert_type(y, torch.Tensor, name="Dropout's output")
assert y.shape == x.shape and y.dtype == x.dtype, f"the output should have x's shape and dtype, got {tuple(y.shape)} {y.dtype}"
assert x.eq(1).all(), "Dropout must not change its input in place"
dropped = (y == 0).float().mean().item()
assert abs(dropped - 0.25) < 0.005, f"with p = 0.25 about 25% of the elements should be zero; got {dropped:.2%}"
kept = y[y != 0]
T.assert_close(kept.unique(), [1 / 0.75], name="the surviving values, scaled by 1/(1 - p)")
assert abs(y.mean().item() - 1.0) < 0.005, f"inverted dropout keeps the mean (1.0 here); got {y.mean().item():.4f}"
assert not torch.equal(y[0] == 0, y[1] == 0), "every element needs its own random draw: rows 0 and 1 got the same mask"
with T.forbidden("dropout"):
    y_again = drop(x)
assert not torch.equal(y_again, y), "each call should draw a new random mask"
torch.manual_seed(0)
assert torch.equal(drop(x), y), "with the same torch.manual_seed the mask should be the same (use the global generator)"

small = torch.tensor([[1.0, -2.0, 3.0, 4.0]], requires_grad=True)
out = drop(small)
out.backward(torch.ones_like(out))
T.assert_close(small.grad, (out != 0).float() / 0.75, name="the gradient (the mask divided by 1 - p)")

for dtype in (torch.float64, torch.float16, torch.bfloat16):  # the mask must not change the dtype
    y = drop(torch.ones(100, 100, dtype=dtype))
    assert y.dtype == dtype, (f"Dropout on a {dtype} input returned {y.dtype}: a float32 mask promotes it; use a "
                              "boolean mask (x * keep) or convert the mask to x.dtype")
    assert abs((y == 0).float().mean().item() - 0.25) < 0.05, f"about 25% zeros also in {dtype}"

drop.eval()
assert torch.equal(drop(x), x), "in eval mode Dropout is the identity"
drop.train()
assert torch.equal(Dropout(0.0)(x), x), "p = 0 drops nothing"
zeros = Dropout(1.0)(x)
assert zeros.shape == x.shape and (zeros == 0).all(), "p = 1 drops everything: the output is all zeros (and no NaN)"

print("✓ Part 2: Dropout passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — L1, L2 and elastic-net penalties (2 points)
#
# A weight penalty adds a term $R$ to the loss that grows with the size of the weights, so the optimizer
# trades fitting the training data against keeping the weights small. With the lecture's convention,
#
# $$L_{\text{total}} = L_{\text{data}} + \lambda_1 \sum_{w \in \mathcal W} |w| + \frac{\lambda_2}{2} \sum_{w \in \mathcal W} w^2 .$$
#
# $\lambda_1 > 0, \lambda_2 = 0$ is the **L1** penalty ($\lVert W \rVert_1$), $\lambda_1 = 0, \lambda_2 > 0$ the
# **L2** penalty ($\tfrac12\lVert W \rVert_2^2$), both together the **elastic net**. Their gradients show what
# they do:
#
# $$\frac{\partial R}{\partial w} = \lambda_1 \operatorname{sign}(w) + \lambda_2\, w .$$
#
# The factor $\tfrac12$ is there so that the L2 gradient is simply $\lambda_2 w$: a gradient step becomes
# $w \leftarrow (1 - \eta\lambda_2)\,w - \eta\, g$, the weight *decays* a little at every step, which is why the
# L2 penalty is also called **weight decay**. `torch.optim.SGD(..., weight_decay=wd)` adds $wd \cdot w$ to the
# gradient of every parameter it optimises, so `weight_penalty(model, l2=λ₂)` with SGD is the same as
# `weight_decay=λ₂` on the counted parameters (and no decay on the others). For Adam this equivalence does
# not hold, because Adam rescales the gradient per weight; `AdamW` decays the weights directly (Lecture 05).
# L1 pulls with the same force $\lambda_1$ whatever the size, so small, useless weights end up at exactly zero:
# a sparse model.
#
# **Which parameters count** ($\mathcal W$). Penalties are meant for the weights that mix inputs: the weight
# matrices of `nn.Linear`, the kernels of `nn.Conv2d`. Biases, and BatchNorm's $\gamma$ and $\beta$, have one
# number per unit; penalising them does not prevent memorisation, and shrinking BatchNorm's $\gamma$ works
# against the normalisation. Hence the rule in this assignment:
#
# - by default, exactly the parameters with **at least two dimensions** count (`p.dim() >= 2`), whatever their
#   name and whatever module holds them: Linear and Conv weights, but just as well `nn.Embedding` tables,
#   `nn.Bilinear` weights or a matrix-shaped `nn.Parameter` that your own module creates. (Visiting only
#   `nn.Linear` and `nn.Conv2d` modules misses those.)
# - with `include_bias=True`, **every** parameter counts: biases, BatchNorm's weight and bias, and any other
#   one-dimensional or scalar parameter as well.
#
# Write `weight_penalty(model, l1=0.0, l2=0.0, include_bias=False)`. Go through `model.parameters()` (every
# parameter of every submodule, each once) and return
# $\lambda_1 \sum |w| + \frac{\lambda_2}{2} \sum w^2$ over the counted ones as a **0-dimensional tensor** (also
# when it is 0). It must be differentiable: `weight_penalty(model, l2=0.01).backward()` gives every counted
# parameter the gradient above (and the others none), so you can add it to a loss. Do not use `.item()`,
# `float(...)`, `.data` or `.detach()` on the way (they cut the graph), and do not change the parameters.

# %% nbgrader={"grade": false, "grade_id": "weight_penalty", "locked": false, "schema_version": 3, "solution": true, "task": false}
def weight_penalty(model, l1=0.0, l2=0.0, include_bias=False):
    """l1·Σ|w| + (l2/2)·Σw² as a 0-dim tensor, over the parameters of `model` with p.dim() >= 2
    (over all parameters if include_bias). Differentiable with respect to the parameters."""
    ### BEGIN SOLUTION
    total = torch.zeros(())
    for parameter in model.parameters():
        if include_bias or parameter.dim() >= 2:
            total = total + l1 * parameter.abs().sum() + 0.5 * l2 * parameter.pow(2).sum()
    return total
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_weight_penalty", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

layer = nn.Linear(2, 1)
with torch.no_grad():
    layer.weight.copy_(torch.tensor([[1.0, -2.0]]))
    layer.bias.copy_(torch.tensor([3.0]))
model = nn.Sequential(layer, nn.BatchNorm1d(1))  # BatchNorm: γ = 1, β = 0

penalty = weight_penalty(model, l1=0.1)
assert isinstance(penalty, torch.Tensor), (
    f"weight_penalty should return a tensor, got a {type(penalty).__name__}: do not use .item() or float(...)")
assert penalty.dim() == 0, f"weight_penalty should return a 0-dim tensor, got shape {tuple(penalty.shape)}"
T.assert_close(penalty, 0.3, name="L1: 0.1·(|1| + |-2|) = 0.3 (the bias and BatchNorm's γ, β do not count)")
T.assert_close(weight_penalty(model, l2=0.01), 0.025, name="L2: 0.01/2·(1² + (-2)²) = 0.025 (mind the 1/2)")
T.assert_close(weight_penalty(model, l1=0.1, l2=0.01), 0.325, name="elastic net: 0.3 + 0.025 = 0.325")
T.assert_close(weight_penalty(model, l1=0.1, include_bias=True), 0.7,
               name="include_bias=True: 0.1·(1 + 2 + 3 (bias) + 1 (BatchNorm γ) + 0 (β)) = 0.7")
penalty = weight_penalty(model)
assert isinstance(penalty, torch.Tensor) and penalty.dim() == 0 and penalty.item() == 0, "with l1 = l2 = 0 the penalty is a tensor 0"
penalty = weight_penalty(nn.BatchNorm1d(4), l1=1.0)
assert isinstance(penalty, torch.Tensor) and penalty.item() == 0, (
    "a model without ≥2-D parameters has nothing to penalise: return a tensor 0 (start from torch.zeros(()))")


class Gated(nn.Module):
    """A module of one's own: a matrix-shaped parameter (counts) and a vector (only with include_bias)."""

    def __init__(self):
        super().__init__()
        self.mixing = nn.Parameter(torch.tensor([[1.0, -1.0], [2.0, 0.0]]))
        self.gain = nn.Parameter(torch.tensor([4.0, 4.0]))

    def forward(self, x):
        return (x @ self.mixing) * self.gain


embedding = nn.Embedding(3, 2)
with torch.no_grad():
    embedding.weight.fill_(0.5)
wide = nn.Sequential(Gated(), nn.Sequential(embedding, nn.LayerNorm(2)))
T.assert_close(weight_penalty(wide, l1=1.0), 4.0 + 3.0,
               name="every parameter with p.dim() >= 2 counts, whatever module holds it: Gated.mixing (|1|+|-1|+|2|+|0| "
                    "= 4) and the nested Embedding's table (6 · 0.5 = 3); visiting only Linear/Conv modules misses them")
T.assert_close(weight_penalty(wide, l1=1.0, include_bias=True), 4.0 + 3.0 + 8.0 + 2.0,
               name="include_bias=True adds Gated.gain (8) and LayerNorm's weight (2 · 1) and bias (0)")

model.zero_grad()
penalty = weight_penalty(model, l1=0.1, l2=0.01)
assert penalty.requires_grad, (
    "the penalty is not connected to the parameters (no .item(), float(...), .data or .detach()): autograd cannot "
    "differentiate it")
penalty.backward()
assert layer.weight.grad is not None, "the penalty must be differentiable: no .item(), .data or .detach()"
T.assert_close(layer.weight.grad, [[0.11, -0.12]], name="gradient: 0.1·sign(w) + 0.01·w = [0.11, -0.12]")
assert layer.bias.grad is None or layer.bias.grad.abs().max() == 0, "the bias is not penalised by default: no gradient"
assert layer.weight.tolist() == [[1.0, -2.0]], "weight_penalty must not change the parameters"
double = nn.Linear(3, 2).double()
T.assert_close(weight_penalty(double, l2=2.0), double.weight.pow(2).sum(), atol=1e-12,
               name="a float64 model: the penalty in float64")

print("✓ Part 3: weight_penalty passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Closing a measured train/validation gap (2 points)
#
# Time to see overfitting and fix it. The set-up below is built to overfit: only the first **1,000** images of
# Fashion-MNIST's training set. The 10,000 images of Fashion-MNIST's test set are our *validation set* here.
# We measure overfitting by the **gap**
#
# $$\text{gap} = \text{train accuracy} - \text{validation accuracy},$$
#
# both measured in eval mode, the training accuracy on the 1,000 un-augmented training images.
#
# The locked cell below provides `train_model(model, optimizer, augment=None, penalty=None, epochs=EPOCHS)`,
# which trains a model on `x_small, y_small` (mini-batches of `BATCH_SIZE`, cross-entropy) and returns its
# learning curves, and `accuracy_gap(model)`, which returns `{"train_acc", "val_acc", "gap"}`. You write two
# functions; each starts with `seed_everything(seed)`, trains with `train_model` and returns
# `(model, history)` (the trained model and what `train_model` returned).
#
# 1. **`train_baseline(seed)`**: an MLP of your choice, trained without any regularisation, that
#    **overfits**. Rules: an `nn.Sequential` of `nn.Flatten`, `nn.Linear` layers and activation layers
#    (`nn.ReLU`, `nn.LeakyReLU`, `nn.GELU`, `nn.ELU`, `nn.SiLU`, `nn.Tanh`, `nn.Sigmoid`) and nothing else;
#    any optimizer from `torch.optim` without `weight_decay`; no `augment`, no `penalty`. How wide, how deep,
#    which optimizer, learning rate and number of epochs is up to you. A network with far more weights than
#    there are training images learns them by heart within a few epochs.
# 2. **`train_regularised(seed)`**: the **same `nn.Linear` layers** (same sizes, same order) as your
#    baseline, no convolutions, with the regularisation of your choice, for example:
#    - dropout layers (`nn.Dropout`, or your `Dropout`) before the linear layers, also on the input pixels;
#    - batch normalisation (`nn.BatchNorm1d`, or your `BatchNorm`) after the hidden linear layers;
#    - weight decay: `weight_decay=...` in the optimizer (`torch.optim.AdamW` decouples it from Adam's
#      scaling), or `penalty=lambda m: weight_penalty(m, l2=...)`;
#    - data augmentation, `augment=...`: a function from a batch of images `(B, 1, 28, 28)` to a batch of
#      changed images *with the same labels*: random horizontal flips (`torch.where` with a random per-image
#      condition and `images.flip(-1)`), small shifts (`torch.roll`), Gaussian noise (`torch.randn_like`).
#
# Train only on the 1,000 images `x_small, y_small` (augmented copies of them are fine), never on `x_val`.
#
# **What is graded.** The grader calls `train_baseline` and `train_regularised` itself, with a seed of its
# own, and evaluates the returned models in eval mode on the 1,000 training images and the 10,000 validation
# images. It requires
#
# - the baseline to follow the rules above and to overfit: a gap of at least `0.12`;
# - the regularised model to keep the baseline's `nn.Linear` layers and reach a validation accuracy of at
#   least `0.76`;
# - the regularised model's gap to be at least `0.04` smaller than the baseline's.
#
# Making the network worse on both sets is not the point, which is why the validation accuracy has a floor.
# Since the grader uses other seeds, leave some margin. Keep each function to about 15 seconds on a laptop
# CPU (the grader allows `60` s each); the test cell runs both once, with `SEED`.

# %% nbgrader={"grade": false, "grade_id": "experiment_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
SEED = 0
EPOCHS = 20
BATCH_SIZE = 50

x_train_all, y_train_all = image_tensors(load_fashion_mnist(train=True))
x_small, y_small = x_train_all[:1000], y_train_all[:1000]
x_val, y_val = image_tensors(load_fashion_mnist(train=False))
print(f"training images {tuple(x_small.shape)}, per class {torch.bincount(y_small).tolist()}; "
      f"validation images {tuple(x_val.shape)}")


def accuracy(model, images, labels):
    """The fraction of `images` that `model`, switched to eval mode, classifies correctly."""
    return evaluate(model, TensorLoader(images, labels, batch_size=2000))["acc"]


def accuracy_gap(model):
    """{"train_acc": on x_small, "val_acc": on x_val, "gap": train_acc - val_acc}, all in eval mode."""
    train_acc, val_acc = accuracy(model, x_small, y_small), accuracy(model, x_val, y_val)
    return {"train_acc": train_acc, "val_acc": val_acc, "gap": train_acc - val_acc}


def train_model(model, optimizer, augment=None, penalty=None, epochs=EPOCHS):
    """Train `model` (moved to `device`) on x_small, y_small with cross-entropy for `epochs` epochs of shuffled
    mini-batches of BATCH_SIZE (the order follows the global seed: call seed_everything first).

    augment: None or a function images -> images applied to every training batch.
    penalty: None or a function model -> 0-dim tensor added to every batch's loss.
    Returns learning curves {"train_acc": [...], "val_acc": [...]}, one value per epoch, measured in eval mode on
    x_small and on the first 1,000 validation images (a quick estimate; accuracy_gap uses all 10,000).
    """
    model.to(device)
    loader = TensorLoader(x_small, y_small, batch_size=BATCH_SIZE, shuffle=True, device=device,
                          seed=int(torch.randint(2**31 - 1, ())))
    if augment is not None:
        loader = AugmentedLoader(loader, augment)  # augment(images) on every whole batch
    history = {"train_acc": [], "val_acc": []}
    for _ in range(epochs):
        train_epoch(model, loader, optimizer, penalty=penalty, device=device, progress=False)  # cross-entropy
        history["train_acc"].append(accuracy(model, x_small, y_small))
        history["val_acc"].append(accuracy(model, x_val[:1000], y_val[:1000]))
    return history


def plot_curves(histories):
    """Training (solid) and validation (dashed) accuracy per epoch for {name: history}."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for (name, history), colour in zip(histories.items(), ["tab:red", "tab:blue", "tab:green"]):
        epochs = range(1, len(history["train_acc"]) + 1)
        ax.plot(epochs, history["train_acc"], color=colour, label=f"{name}: train")
        ax.plot(epochs, history["val_acc"], color=colour, linestyle="--", label=f"{name}: validation")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy (eval mode)")
    ax.set_title("1,000 training images: the gap is the distance from solid to dashed")
    ax.legend()
    ax.grid(alpha=0.3)
    plt.show()


# %% nbgrader={"grade": false, "grade_id": "baseline", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_baseline(seed):
    """seed_everything(seed); an unregularised MLP trained with train_model; returns (model, history)."""
    ### BEGIN SOLUTION
    seed_everything(seed)
    model = nn.Sequential(nn.Flatten(),
                          nn.Linear(784, 512), nn.ReLU(),
                          nn.Linear(512, 512), nn.ReLU(),
                          nn.Linear(512, 10))
    history = train_model(model, torch.optim.Adam(model.parameters(), lr=1e-3))
    return model, history
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "regularised", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_regularised(seed):
    """seed_everything(seed); the baseline's linear layers with regularisation, trained with train_model;
    returns (model, history)."""
    ### BEGIN SOLUTION
    seed_everything(seed)
    # Dropout on the pixels and on both hidden layers ...
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.2),
                          nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(512, 10))

    def flip_and_noise(images):
        """... and augmentation: a random half of the images mirrored left to right, and Gaussian noise on the
        (standardised) pixels. A mirrored, noisy shirt is still a shirt."""
        mirrored = torch.rand(len(images), 1, 1, 1, device=images.device) < 0.5
        return torch.where(mirrored, images.flip(-1), images) + torch.randn_like(images)

    # Both make every epoch harder to memorise, so the network gets a few more of them.
    history = train_model(model, torch.optim.Adam(model.parameters(), lr=1e-3), augment=flip_and_noise, epochs=30)
    return model, history
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_experiment", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
PLAIN_LAYERS = (nn.Sequential, nn.Flatten, nn.Linear, nn.ReLU, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU, nn.Tanh, nn.Sigmoid)


def linear_sizes(model):
    return [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]


results = {}
for name, train in (("baseline", train_baseline), ("regularised", train_regularised)):
    returned = train(SEED)
    assert type(returned) is tuple and len(returned) == 2, f"train_{name}(seed) should return (model, history)"
    model, history = returned
    assert isinstance(model, nn.Module), f"train_{name} should return your trained nn.Module first, got {type(model).__name__}"
    assert set(history) == {"train_acc", "val_acc"}, f"train_{name} should return the history that train_model returned"
    results[name] = (model, history, accuracy_gap(model))

baseline_model, regularised_model = results["baseline"][0], results["regularised"][0]
assert type(baseline_model) is nn.Sequential, "the baseline should be an nn.Sequential"
extra = sorted({type(m).__name__ for m in baseline_model.modules() if type(m) not in PLAIN_LAYERS})
assert not extra, f"the baseline is made of Flatten, Linear and activation layers only; it contains {extra}"
assert linear_sizes(baseline_model), "the baseline has no nn.Linear layers"
assert linear_sizes(regularised_model) == linear_sizes(baseline_model), (
    f"the regularised model should keep the baseline's linear layers {linear_sizes(baseline_model)}; "
    f"it has {linear_sizes(regularised_model)}")
assert not any(isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) for m in regularised_model.modules()), "no convolutions"

for name, (_, _, measured) in results.items():
    print(f"{name:>12}: train {measured['train_acc']:.3f}, validation {measured['val_acc']:.3f}, gap {measured['gap']:.3f}")
plot_curves({name: history for name, (_, history, _) in results.items()})

baseline, regularised = results["baseline"][2], results["regularised"][2]
assert baseline["gap"] >= 0.12, (
    f"the baseline's gap is only {baseline['gap']:.3f}: it should overfit (a bigger network, more epochs, no regularisation)")
assert regularised["val_acc"] >= 0.76, f"the regularised model's validation accuracy {regularised['val_acc']:.3f} is below 0.76"
assert regularised["gap"] <= baseline["gap"] - 0.04, (
    f"the gap went from {baseline['gap']:.3f} to {regularised['gap']:.3f}; it should shrink by at least 0.04")

print(f"✓ Part 4: the gap shrank from {baseline['gap']:.3f} to {regularised['gap']:.3f} "
      f"(the grader repeats the experiment with another seed)")

# %% [markdown] nbgrader={"grade": false, "grade_id": "experiment_discussion", "locked": true, "schema_version": 3, "solution": false, "task": false}
# **Reading the curves.** The baseline's training accuracy (solid) climbs towards 1 while its validation
# accuracy (dashed; the curves use the first 1,000 validation images, the printed numbers all 10,000) levels
# off after a few epochs: from then on the network memorises its 1,000 images. Regularisation mostly changes
# the solid line: the network can no longer memorise, so its training accuracy stays close to what it achieves
# on new images. Do not expect a big rise of the dashed line. With 1,000 images there is only so much to
# learn, and an MLP sees a shirt shifted by one pixel as a new pattern. More data, or an architecture with the
# right assumptions built in (the convolutions of Lecture 04), raise the validation accuracy itself.
