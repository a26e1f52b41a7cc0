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
# # Assignment 03 — Activation functions
#
# Without a nonlinearity between them, stacked linear layers collapse into one linear map. The activation
# function is that nonlinearity, applied to every component separately, and its shape decides a lot: the
# range of a layer's outputs, how gradients flow back through a deep network, and whether units can "die".
# In this assignment you implement the common activations and their derivatives yourself, teach PyTorch's
# autograd three of them with backward passes you derive (one with a learned parameter, one that is not
# applied element-wise), and measure two failure modes of deep networks: dead ReLUs and vanishing gradients.
#
# | part | what you build | points |
# |---|---|---|
# | 1 | sigmoid, tanh, ReLU, Leaky ReLU, ELU, Softplus and their derivatives, numerically stable, no autograd | 3 |
# | 2 | ELU, PReLU (with its learned slope) and Maxout as `torch.autograd.Function`s with hand-written backward passes | 3 |
# | 3 | `dead_relu_fraction`: the share of ReLU units that never fire, measured with forward hooks | 2 |
# | 4 | `gradient_norms`: the gradient reaching each layer of a deep sigmoid, tanh or ReLU network, measured; and two numbers by hand | 2 |
#
# **How grading works.** Write your code in the cells marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part is followed by a locked test cell. The tests you can see
# now run on tiny, hand-checkable examples: run them as often as you like. At grading time the grader calls
# your code from outside your notebook on other, randomly generated inputs (other shapes, dtypes, values up
# to ±1000, other networks and seeds) and compares the results with a reference, so code that only works on
# the visible examples will not get the points. A test cell gives all of its points or none. The parts are
# graded independently: a missing Part 1 does not cost you Part 3.
#
# **Rules.**
#
# - Parts 1 and 2 are about implementing what PyTorch already has. Inside your functions, PyTorch's own
#   activations (`torch.sigmoid`, `torch.tanh`, `torch.relu`, `F.relu`, `F.leaky_relu`, `F.elu`, `F.prelu`,
#   `F.softplus`, `F.silu`, the `nn` modules that call them, `torch.special.expit`, `torch.logaddexp`, softmax,
#   max pooling, …), autograd (`.backward()`, `torch.autograd.grad`, `torch.func`) and detours through NumPy or
#   Python lists are **forbidden**; the grader records the operations your code runs and detects such calls. Elementary tensor operations are fine and all you need:
#   `torch.exp`, `torch.expm1`, `torch.log1p`, `torch.abs`, `torch.where`, `torch.clamp`, `torch.maximum`,
#   comparisons and arithmetic.
# - In Parts 3 and 4 you may use anything PyTorch offers.
# - Follow the specifications exactly (names, arguments, return types, dtypes): the tests check them. Do not
#   edit the test cells. Code that interferes with grading (rebinding library functions, importing
#   `course_grading`, reading other files) sends the submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook runs in well under a
#   minute on a laptop CPU; no GPU needed.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import matplotlib.pyplot as plt
import torch
from torch import nn
from torch.nn import functional as F

from course_utils import choose_device, make_moons, seed_everything

seed_everything(0)
choice = choose_device()
device = choice.device
print(choice.summary())

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — Six activations and their derivatives (3 points)
#
# Each activation $f$ is applied element-wise. For each one, write `f(x)` and its derivative `f_grad(x)`
# $= f'(x)$, both taking a tensor `x` of **any shape** and returning a new tensor of the same shape and the
# same dtype (`float32` in, `float32` out; `float64` in, `float64` out). Do not modify `x`.
#
# | activation | $f(x)$ | range | $f'(x)$ |
# |---|---|---|---|
# | sigmoid | $\sigma(x) = \dfrac{1}{1 + e^{-x}}$ | $(0, 1)$ | $\sigma(x)\,\bigl(1 - \sigma(x)\bigr)$ |
# | tanh | $\tanh x = \dfrac{e^{x} - e^{-x}}{e^{x} + e^{-x}} = 2\sigma(2x) - 1$ | $(-1, 1)$ | $1 - \tanh^2 x$ |
# | ReLU | $\max(0, x)$ | $[0, \infty)$ | $1$ if $x > 0$, else $0$ |
# | Leaky ReLU | $x$ if $x > 0$, else $\alpha x$ (default $\alpha = 0.01$) | $(-\infty, \infty)$ | $1$ if $x > 0$, else $\alpha$ |
# | ELU | $x$ if $x > 0$, else $\alpha\,(e^{x} - 1)$ (default $\alpha = 1$) | $(-\alpha, \infty)$ | $1$ if $x > 0$, else $\alpha e^{x}$ |
# | Softplus | $\log(1 + e^{x})$ | $(0, \infty)$ | $\sigma(x)$ |
#
# **The derivative at $x = 0$.** ReLU, Leaky ReLU and ELU (for $\alpha \ne 1$) have a kink at 0, where the
# derivative is not defined; a network still needs *some* number there. This assignment uses PyTorch's
# convention: **the "$x > 0$" formula is used only for $x > 0$; $x = 0$ takes the other branch.** So
# ReLU$'(0) = 0$, Leaky ReLU$'(0) = \alpha$ and ELU$'(0) = \alpha$. The tests include exact zeros.
#
# ### Numerical stability
#
# The formulas above are exact in mathematics but not in floating point. `torch.exp(x)` overflows to `inf` for
# $x > 88.7$ in `float32` ($x > 709.8$ in `float64`), and then `inf / inf = nan`, `inf - inf = nan`,
# `0 * inf = nan`. The tests feed values up to $\pm 1000$ in both dtypes, and a result may only be `inf` or
# `nan` where the true value is. The cure is always the same: **only ever exponentiate non-positive numbers**,
# so that $e^{(\cdot)} \in (0, 1]$.
#
# - **sigmoid**, two branches with $e = e^{-|x|}$: $\ \sigma(x) = \dfrac{1}{1 + e}$ for $x \ge 0$ and
#   $\sigma(x) = \dfrac{e}{1 + e}$ for $x < 0$ (multiply the top and bottom of the definition by $e^{x}$).
# - **tanh**, odd, so $\tanh x = \operatorname{sign}(x)\,\tanh|x|$, and with $e = e^{-2|x|}$:
#   $\ \tanh|x| = \dfrac{1 - e}{1 + e}$. (For tiny $|x|$, `torch.expm1`, which computes $e^{t} - 1$ without
#   cancellation, gives even more accurate digits: $\tanh|x| = -m / (2 + m)$ with $m = e^{-2|x|} - 1$.)
#   At $x = \pm 1000$ the result must be exactly $\pm 1$.
# - **Softplus**: $\log(1 + e^{x}) = \max(x, 0) + \log\bigl(1 + e^{-|x|}\bigr)$; use `torch.log1p(t)` $= \log(1 + t)$.
# - **ELU**: compute the negative branch from $\min(x, 0)$ (e.g. `torch.clamp(x, max=0)`), so that no
#   $e^{1000}$ is ever formed, not even in a branch that `torch.where` then discards.
#
# `torch.where(cond, a, b)` evaluates both `a` and `b` everywhere and then picks, so *both* must be free of
# `nan` wherever they are picked. Careful with dtypes: `torch.where(x > 0, 1.0, alpha)` with two Python numbers
# makes a `float32` tensor; build the branches from `x` (`torch.ones_like(x)`, `torch.full_like(x, alpha)`,
# `(x > 0).to(x.dtype)`) so that they keep its dtype.

# %% nbgrader={"grade": false, "grade_id": "activations", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x)) element-wise, without overflow for any x; same shape and dtype as x."""
    ### BEGIN SOLUTION
    e = torch.exp(-x.abs())  # in (0, 1]: never overflows
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    ### END SOLUTION


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative sigmoid(x) * (1 - sigmoid(x)), element-wise."""
    ### BEGIN SOLUTION
    s = sigmoid(x)
    return s * (1.0 - s)
    ### END SOLUTION


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) element-wise, without overflow; exactly ±1 at x = ±1000."""
    ### BEGIN SOLUTION
    m = torch.expm1(-2.0 * x.abs())  # exp(-2|x|) - 1, in (-1, 0]
    return torch.sign(x) * (-m / (2.0 + m))
    ### END SOLUTION


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative 1 - tanh(x)**2, element-wise."""
    ### BEGIN SOLUTION
    t = tanh(x)
    return 1.0 - t * t
    ### END SOLUTION


def relu(x: torch.Tensor) -> torch.Tensor:
    """max(0, x) element-wise."""
    ### BEGIN SOLUTION
    return torch.clamp(x, min=0)
    ### END SOLUTION


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """1 where x > 0, 0 elsewhere (also 0 at x = 0), in x's dtype."""
    ### BEGIN SOLUTION
    return (x > 0).to(x.dtype)
    ### END SOLUTION


def leaky_relu(x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """x where x > 0, alpha * x elsewhere."""
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, alpha * x)
    ### END SOLUTION


def leaky_relu_grad(x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """1 where x > 0, alpha elsewhere (also alpha at x = 0), in x's dtype."""
    ### BEGIN SOLUTION
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))
    ### END SOLUTION


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere; no overflow for large positive x."""
    ### BEGIN SOLUTION
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))
    ### END SOLUTION


def elu_grad(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """1 where x > 0, alpha * exp(x) elsewhere (alpha at x = 0)."""
    ### BEGIN SOLUTION
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0)))
    ### END SOLUTION


def softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(x)) element-wise, computed as max(x, 0) + log1p(exp(-|x|))."""
    ### BEGIN SOLUTION
    return torch.clamp(x, min=0) + torch.log1p(torch.exp(-x.abs()))
    ### END SOLUTION


def softplus_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of softplus, which is sigmoid(x)."""
    ### BEGIN SOLUTION
    return sigmoid(x)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_activations", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

functions = [sigmoid, sigmoid_grad, tanh, tanh_grad, relu, relu_grad, leaky_relu, leaky_relu_grad, elu, elu_grad,
             softplus, softplus_grad]


def _run(f, *args):
    """Call f and turn a PyTorch error into a hint about what usually causes it."""
    try:
        return f(*args)
    except (RuntimeError, TypeError) as error:
        raise AssertionError(f"{f.__name__} on a {args[0].dtype} tensor of shape {tuple(args[0].shape)} raised "
                             f"{type(error).__name__}: {error}. Build every intermediate from x (torch.ones_like(x), "
                             "torch.full_like(x, alpha), (x > 0).to(x.dtype)) so that shapes and dtypes match.") from None


# 1. the basics: a new tensor of the same shape and dtype, x untouched (a 0-dim tensor, a 3-D tensor, both dtypes)
for dtype in (torch.float32, torch.float64):
    for x in (torch.tensor(0.5, dtype=dtype), torch.linspace(-3.0, 3.0, 24, dtype=dtype).reshape(2, 3, 4)):
        saved = x.clone()
        for f in functions:
            out = _run(f, x)
            assert isinstance(out, torch.Tensor), f"{f.__name__} should return a torch.Tensor, got {type(out).__name__}"
            assert out.shape == x.shape, f"{f.__name__} on a tensor of shape {tuple(x.shape)} returned shape {tuple(out.shape)}"
            assert out.dtype == dtype, f"{f.__name__} on a {dtype} tensor returned {out.dtype}: keep the input's dtype"
            assert torch.equal(x, saved), f"{f.__name__} modified its input x: compute a new tensor instead"

# 2. values at -2, 0, 2, including the convention at the kink: the "x > 0" formula only for x > 0
_e = math.exp(1.0)
x = torch.tensor([-2.0, 0.0, 2.0], dtype=torch.float64)
for name, got, expected in [
    ("relu([-2, 0, 2])", relu(x), [0.0, 0.0, 2.0]),
    ("relu_grad([-2, 0, 2]) (0 at x = 0)", relu_grad(x), [0.0, 0.0, 1.0]),
    ("leaky_relu([-2, 0, 2], alpha=0.1)", leaky_relu(x, 0.1), [-0.2, 0.0, 2.0]),
    ("leaky_relu_grad([-2, 0, 2], alpha=0.1) (alpha at x = 0)", leaky_relu_grad(x, 0.1), [0.1, 0.1, 1.0]),
    ("leaky_relu([-2, 0, 2]) with the default alpha = 0.01", leaky_relu(x), [-0.02, 0.0, 2.0]),
    ("leaky_relu_grad([-2, 0, 2]) with the default alpha = 0.01", leaky_relu_grad(x), [0.01, 0.01, 1.0]),
    ("sigmoid([-2, 0, 2])", sigmoid(x), [1 / (1 + _e ** 2), 0.5, 1 / (1 + _e ** -2)]),
    ("sigmoid_grad([-2, 0, 2])", sigmoid_grad(x), [_e ** 2 / (1 + _e ** 2) ** 2, 0.25, _e ** 2 / (1 + _e ** 2) ** 2]),
    ("tanh([-2, 0, 2])", tanh(x), [-math.tanh(2.0), 0.0, math.tanh(2.0)]),
    ("tanh_grad([-2, 0, 2])", tanh_grad(x), [1 - math.tanh(2.0) ** 2, 1.0, 1 - math.tanh(2.0) ** 2]),
    ("elu([-2, 0, 2], alpha=0.5)", elu(x, 0.5), [0.5 * (_e ** -2 - 1), 0.0, 2.0]),
    ("elu_grad([-2, 0, 2], alpha=0.5) (alpha at x = 0)", elu_grad(x, 0.5), [0.5 * _e ** -2, 0.5, 1.0]),
    ("elu([-2, 0, 2]) with the default alpha = 1", elu(x), [_e ** -2 - 1, 0.0, 2.0]),
    ("softplus([-2, 0, 2])", softplus(x), [math.log(1 + _e ** -2), math.log(2.0), math.log(1 + _e ** 2)]),
    ("softplus_grad([-2, 0, 2])", softplus_grad(x), [1 / (1 + _e ** 2), 0.5, 1 / (1 + _e ** -2)]),
]:
    T.assert_close(got, expected, atol=1e-12, rtol=1e-10, name=name)

# 3. large inputs in both dtypes: no overflow, no nan (try these with the textbook formulas to see why)
for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-12)):
    big = torch.tensor([-1000.0, -100.0, 100.0, 1000.0], dtype=dtype)
    for name, got, expected in [
        ("sigmoid", sigmoid(big), [0.0, math.exp(-100.0), 1.0, 1.0]),
        ("sigmoid_grad", sigmoid_grad(big), [0.0, math.exp(-100.0), math.exp(-100.0), 0.0]),
        ("tanh", tanh(big), [-1.0, -1.0, 1.0, 1.0]),
        ("tanh_grad", tanh_grad(big), [0.0, 0.0, 0.0, 0.0]),
        ("elu", elu(big), [-1.0, -1.0, 100.0, 1000.0]),
        ("elu_grad", elu_grad(big), [0.0, math.exp(-100.0), 1.0, 1.0]),
        ("softplus", softplus(big), [0.0, math.exp(-100.0), 100.0, 1000.0]),
        ("softplus_grad", softplus_grad(big), [0.0, math.exp(-100.0), 1.0, 1.0]),
    ]:
        assert not torch.isnan(got).any(), f"{name}([-1000, -100, 100, 1000]) in {dtype} contains nan: {got.tolist()} (see 'Numerical stability')"
        T.assert_close(got, expected, atol=tol, rtol=tol, name=f"{name}([-1000, -100, 100, 1000]) in {dtype}")
    assert tanh(torch.tensor([1000.0, -1000.0], dtype=dtype)).tolist() == [1.0, -1.0], f"tanh(±1000) must be exactly ±1 in {dtype}"

# 4. PyTorch's own activations, autograd and detours through NumPy are not allowed inside your functions
_banned = {"aten.sigmoid", "aten.tanh", "aten.relu", "aten.elu", "aten.leaky_relu", "aten.softplus", "aten.silu",
           "aten.logaddexp", "aten.log_sigmoid_forward", "aten.hardtanh", "aten.threshold", "aten._softmax",
           "torch.Tensor.numpy", "torch.Tensor.tolist", "torch.Tensor.item", "torch.Tensor.backward", "torch.autograd.grad"}
x = torch.linspace(-3.0, 3.0, 7)
for f in functions:
    with T.record_calls(python_level=False) as ran:
        f(x)
    assert not ran & _banned, f"{f.__name__} used {sorted(ran & _banned)}: write it with elementary operations"

print("✓ Part 1: the six activations and their derivatives pass the tests")


# %% [markdown]
# The six activations and their derivatives (ungraded). Note the **saturation** of sigmoid and tanh: for
# $|x| \gtrsim 4$ their derivatives are practically 0, and the sigmoid's derivative is never above $1/4$.
# ReLU's derivative is exactly 0 for every negative input, Leaky ReLU and ELU keep a small slope there.

# %%
try:
    grid = torch.linspace(-5.0, 5.0, 401, dtype=torch.float64)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    for label, f, f_grad in [("sigmoid", sigmoid, sigmoid_grad), ("tanh", tanh, tanh_grad), ("ReLU", relu, relu_grad),
                             ("Leaky ReLU, α = 0.1", lambda t: leaky_relu(t, 0.1), lambda t: leaky_relu_grad(t, 0.1)),
                             ("ELU, α = 1", elu, elu_grad), ("Softplus", softplus, softplus_grad)]:
        axes[0].plot(grid, f(grid), label=label)
        axes[1].plot(grid, f_grad(grid), label=label)
    axes[0].set_title("activation f(x)")
    axes[0].set_ylim(-1.5, 5.0)
    axes[1].set_title("derivative f'(x)")
    axes[1].axhline(0.25, color="gray", linestyle=":", linewidth=1)
    for ax in axes:
        ax.axhline(0.0, color="black", linewidth=0.5)
        ax.axvline(0.0, color="black", linewidth=0.5)
        ax.set_xlabel("x")
        ax.legend(fontsize=9)
    plt.show()

    # your hand-written derivatives against autograd on the same grid (autograd is allowed here, outside Part 1)
    grid = grid[grid.abs() > 1e-6].clone().requires_grad_()
    for label, f, f_grad in [("sigmoid", sigmoid, sigmoid_grad), ("tanh", tanh, tanh_grad), ("softplus", softplus, softplus_grad),
                             ("elu (α = 1.5)", lambda t: elu(t, 1.5), lambda t: elu_grad(t, 1.5))]:
        (auto,) = torch.autograd.grad(f(grid).sum(), grid)
        print(f"{label:14s} max |hand-written − autograd| = {(f_grad(grid.detach()) - auto).abs().max().item():.1e}")
except NotImplementedError:
    print("Implement Part 1 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — Hand-written backward passes: ELU, PReLU and Maxout as autograd functions (3 points)
#
# PyTorch's autograd knows the derivative of every built-in operation. For a new operation you can teach it
# yourself with a `torch.autograd.Function`: two static methods,
#
# - `forward(ctx, x, alpha)` computes the output from plain tensors (no graph is recorded inside) and stores
#   on `ctx` whatever the backward pass will need: tensors with `ctx.save_for_backward(x)`, other values as
#   attributes (`ctx.alpha = alpha`);
# - `backward(ctx, grad_out)` receives $\partial L/\partial y$ (same shape as the output) and returns one
#   gradient **per input of `forward`**, in the same order: $\partial L/\partial x = $ `grad_out` $\cdot f'(x)$
#   for `x`, and `None` for an input that is not differentiated (a Python number such as ELU's `alpha`). Read
#   saved tensors back with `x, = ctx.saved_tensors`.
#
# You call it as `ELUFunction.apply(x, alpha)`; autograd then uses your `backward` in `loss.backward()`.
#
# `torch.autograd.gradcheck(fn, inputs)` compares the gradients your `backward` produces with finite
# differences $\bigl(f(x + \varepsilon) - f(x - \varepsilon)\bigr) / 2\varepsilon$ of your `forward`, for every
# input that has `requires_grad=True`. It needs `float64` inputs (in `float32` finite differences are too
# inaccurate) and points not too close to a kink. The grader runs it on your functions too, on random shapes.
#
# Write each formula here again rather than calling your Part 1 functions, so that this part is graded on its
# own. PyTorch's own versions (`F.elu`, `F.prelu`, `nn.PReLU`, max pooling, …) and autograd calls
# (`.backward()`, `torch.autograd.grad`) are forbidden inside `forward` and `backward`: the grader also calls
# your two methods directly, with a stand-in for `ctx`, and records what they run. Keep the input's dtype.
#
# ### (a) ELU
#
# With the formulas (and the convention at 0, and the numerical care) of Part 1: $y = x$ for $x > 0$,
# $y = \alpha(e^{x} - 1)$ otherwise; $\ f'(x) = 1$ for $x > 0$, $\alpha e^{x}$ otherwise. `alpha` is a Python
# number: its gradient is `None`.
#
# ### (b) PReLU: a slope that is learned
#
# PReLU is Leaky ReLU whose slope $a$ is a **parameter**: $y = x$ for $x > 0$, $y = a\,x$ otherwise. Like
# `nn.PReLU`, `PReLUFunction.apply(x, alpha)` takes `alpha` as a 1-D tensor (same dtype as `x`) of either
#
# - **one** slope, shared by every entry of `x` (any shape), or
# - **$C$ slopes**, one per channel: `x` has at least 2 dimensions, the channels are on **dimension 1**
#   (`x` is $(N, C)$ or $(N, C, H, W)$, …) and `alpha[c]` is used for every entry `x[:, c, ...]`.
#
# `backward` returns two gradients. For `x` it is Leaky ReLU's: `grad_out` times $1$ where $x > 0$ and times
# the slope elsewhere (also at $x = 0$). For `alpha`: $\partial y/\partial a = x$ where $x \le 0$ and $0$ where
# $x > 0$; and since **one slope is used at many places**, its gradient is the **sum** of
# `grad_out` $\cdot\, \partial y / \partial a$ over all of them (over the batch, the positions and, for a shared
# slope, the channels): the "add over uses" rule of backpropagation. It has the shape of `alpha`.
#
# ### (c) Maxout: the gradient goes to the winner
#
# A Maxout unit keeps the largest of $k$ numbers (in a network, $k$ linear pieces $w_j^\top x + b_j$ computed
# by one linear layer with $k$ times as many outputs, as in the lecture). `MaxoutFunction.apply(z, k)`
# takes `z` of shape $(\dots, C k)$ and groups the **last** dimension into $C$ groups of $k$ consecutive entries:
# `y[..., j] = max(z[..., j*k:(j+1)*k])`, shape $(\dots, C)$. `k` is a Python `int` (its gradient is `None`).
# The maximum is locally just one of its inputs, so $\partial y_j/\partial z_i$ is $1$ for the winning entry of
# group $j$ and $0$ for the others: `backward` puts `grad_out[..., j]` at the position of group $j$'s
# maximum and zeros everywhere else. On a **tie**, the **first** maximal entry of the group (the lowest index)
# wins, as `torch.max(dim=...)` reports it. `unflatten(-1, (-1, k))`, `max(dim=-1)` and `scatter` are useful.

# %% nbgrader={"grade": false, "grade_id": "elu_function", "locked": false, "schema_version": 3, "solution": true, "task": false}
class ELUFunction(torch.autograd.Function):
    """ELU with a hand-written backward: ELUFunction.apply(x, alpha)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: float) -> torch.Tensor:
        """x where x > 0, alpha * (exp(x) - 1) elsewhere; save what backward needs on ctx."""
        ### BEGIN SOLUTION
        ctx.save_for_backward(x)
        ctx.alpha = alpha
        return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        """(dL/dx, None): grad_out times ELU's derivative (1 where x > 0, alpha * exp(x) elsewhere)."""
        ### BEGIN SOLUTION
        (x,) = ctx.saved_tensors
        slope = torch.where(x > 0, torch.ones_like(x), ctx.alpha * torch.exp(torch.clamp(x, max=0)))
        return grad_out * slope, None
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "prelu_function", "locked": false, "schema_version": 3, "solution": true, "task": false}
class PReLUFunction(torch.autograd.Function):
    """PReLU with a hand-written backward: PReLUFunction.apply(x, alpha), alpha of 1 or C = x.shape[1] slopes."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """x where x > 0, alpha * x elsewhere (alpha[c] for channel c on dimension 1, or one shared slope)."""
        ### BEGIN SOLUTION
        slope = alpha if alpha.numel() == 1 else alpha.reshape([1, -1] + [1] * (x.dim() - 2))
        ctx.save_for_backward(x, alpha)
        return torch.where(x > 0, x, slope * x)
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        """(dL/dx, dL/dalpha); dL/dalpha sums grad_out * x (where x <= 0) over every place a slope is used."""
        ### BEGIN SOLUTION
        x, alpha = ctx.saved_tensors
        slope = alpha if alpha.numel() == 1 else alpha.reshape([1, -1] + [1] * (x.dim() - 2))
        grad_x = torch.where(x > 0, grad_out, grad_out * slope)
        per_use = torch.where(x > 0, torch.zeros_like(x), grad_out * x)
        if alpha.numel() == 1:
            grad_alpha = per_use.sum().reshape(alpha.shape)
        else:
            grad_alpha = per_use.sum(dim=[d for d in range(x.dim()) if d != 1])
        return grad_x, grad_alpha
        ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "maxout_function", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MaxoutFunction(torch.autograd.Function):
    """Maxout with a hand-written backward: MaxoutFunction.apply(z, k), (..., C*k) -> (..., C)."""

    @staticmethod
    def forward(ctx, z: torch.Tensor, k: int) -> torch.Tensor:
        """The maximum of each group of k consecutive entries along the last dimension."""
        ### BEGIN SOLUTION
        values, winners = z.unflatten(-1, (-1, k)).max(dim=-1)  # the first maximum of each group on a tie
        ctx.save_for_backward(winners)
        ctx.k = k
        return values
        ### END SOLUTION

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        """(dL/dz, None): grad_out[..., j] at the position of group j's (first) maximum, zeros elsewhere."""
        ### BEGIN SOLUTION
        (winners,) = ctx.saved_tensors
        grad = torch.zeros(*winners.shape, ctx.k, dtype=grad_out.dtype, device=grad_out.device)
        grad.scatter_(-1, winners.unsqueeze(-1), grad_out.unsqueeze(-1))
        return grad.flatten(-2), None
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_elu_function", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


class _Ctx:
    """A stand-in for autograd's ctx, to call forward and backward directly (as the grader does)."""

    def __init__(self, inputs):
        self.needs_input_grad = tuple(isinstance(i, torch.Tensor) for i in inputs)

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        pass


_autograd_or_builtin = {"torch.Tensor.backward", "torch.autograd.grad", "aten.elu", "aten.elu_backward", "aten.prelu",
                        "aten._prelu_kernel", "aten._prelu_kernel_backward", "aten.leaky_relu",
                        "aten.max_pool1d_with_indices", "aten.max_pool2d_with_indices"}


def _direct(function, inputs, grad_out):
    """forward(ctx, *inputs) then backward(ctx, grad_out), called directly; nothing forbidden may run."""
    ctx = _Ctx(inputs)
    with T.record_calls(python_level=False) as ran:
        y = function.forward(ctx, *inputs)
        grads = function.backward(ctx, grad_out)
    assert not ran & _autograd_or_builtin, f"{function.__name__} used {sorted(ran & _autograd_or_builtin)}"
    assert isinstance(grads, tuple) and len(grads) == len(inputs), (
        f"{function.__name__}.backward must return one gradient per input of forward ({len(inputs)}), got {grads!r}")
    return y, grads


# (a) ELU, called directly: values, then the gradient for x (alpha at x = 0) and None for alpha
y, (dx, d_alpha) = _direct(ELUFunction, (torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64), 0.5),
                           torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
T.assert_close(y, [0.5 * math.expm1(-1.0), 0.0, 2.0], atol=1e-12, name="ELUFunction.forward(ctx, [-1, 0, 2], 0.5)")
T.assert_close(dx, [0.5 * math.exp(-1.0), 2.0 * 0.5, 3.0], atol=1e-12,
               name="ELUFunction.backward for grad_out = [1, 2, 3] (grad_out times the derivative; alpha at x = 0)")
assert d_alpha is None, "the gradient for alpha (a Python number) must be None"
# through autograd, also at ±1000 in float32 (no inf, no nan)
x = torch.tensor([-1000.0, -2.0, 0.0, 3.0, 1000.0], requires_grad=True)
y = ELUFunction.apply(x, 1.0)
assert y.grad_fn is not None, "the output has no grad_fn: call ELUFunction.apply(x, alpha), not forward() directly"
assert y.dtype == torch.float32, f"a float32 input should give a float32 output, got {y.dtype}"
y.sum().backward()
T.assert_close(y, [-1.0, math.expm1(-2.0), 0.0, 3.0, 1000.0], atol=1e-6, name="ELUFunction.apply(x, 1.0) in float32")
T.assert_close(x.grad, [0.0, math.exp(-2.0), 1.0, 1.0, 1.0], atol=1e-6, name="x.grad after ELUFunction.apply(x, 1.0).sum().backward()")

# (b) PReLU with one slope per channel, called directly: x is (N, C) = (2, 2), alpha = [0.1, 0.5]
x = torch.tensor([[-2.0, 3.0], [1.0, -1.0]], dtype=torch.float64)
y, (dx, d_alpha) = _direct(PReLUFunction, (x, torch.tensor([0.1, 0.5], dtype=torch.float64)), torch.ones(2, 2, dtype=torch.float64))
T.assert_close(y, [[-0.2, 3.0], [1.0, -0.5]], atol=1e-12, name="PReLU forward with alpha = [0.1, 0.5] per channel")
T.assert_close(dx, [[0.1, 1.0], [1.0, 0.5]], atol=1e-12, name="PReLU's gradient for x (the slope of each entry's channel)")
T.assert_close(d_alpha, [-2.0, -1.0], atol=1e-12,
               name="PReLU's gradient for alpha: per channel, the sum of grad_out * x over the entries with x <= 0")
# one shared slope, on an image batch (N, C, H, W) = (1, 2, 1, 2), through autograd
x = torch.tensor([[[[-1.0, 2.0]], [[0.0, -3.0]]]], dtype=torch.float64, requires_grad=True)
alpha = torch.tensor([0.25], dtype=torch.float64, requires_grad=True)
y = PReLUFunction.apply(x, alpha)
y.backward(torch.tensor([[[[1.0, 1.0]], [[1.0, 2.0]]]], dtype=torch.float64))
T.assert_close(y, [[[[-0.25, 2.0]], [[0.0, -0.75]]]], atol=1e-12, name="PReLU with one shared slope 0.25")
T.assert_close(x.grad, [[[[0.25, 1.0]], [[0.25, 0.5]]]], atol=1e-12, name="x.grad (grad_out times 1 or the slope; the slope at x = 0)")
assert alpha.grad is not None and tuple(alpha.grad.shape) == (1,), "alpha.grad must have alpha's shape (1,)"
T.assert_close(alpha.grad, [-1.0 + 0.0 - 6.0], atol=1e-12,
               name="alpha.grad for a shared slope (summed over every entry with x <= 0: -1*1 + 0*1 + -3*2)")
# per-channel slopes on an image batch: the sum runs over the batch and the positions
x = torch.tensor([[[[-1.0, 2.0]], [[-2.0, -3.0]]], [[[-4.0, 1.0]], [[5.0, 0.0]]]], dtype=torch.float64)
_, (_, d_alpha) = _direct(PReLUFunction, (x, torch.tensor([0.2, 0.3], dtype=torch.float64)), torch.ones_like(x))
T.assert_close(d_alpha, [-5.0, -5.0], atol=1e-12, name="alpha's gradient for (N, C, H, W) = (2, 2, 1, 2): per channel, "
               "summed over the batch and the positions")

# (c) Maxout with k = 2, called directly: [1, 3 | 2, -1] -> [3, 2], and the gradient goes to the winners
y, (dz, dk) = _direct(MaxoutFunction, (torch.tensor([[1.0, 3.0, 2.0, -1.0]]), 2), torch.tensor([[10.0, 20.0]]))
T.assert_close(y, [[3.0, 2.0]], name="MaxoutFunction.forward(ctx, [[1, 3, 2, -1]], k=2)")
T.assert_close(dz, [[0.0, 10.0, 20.0, 0.0]], name="Maxout's gradient for z (grad_out at each group's maximum, 0 elsewhere)")
assert dk is None, "the gradient for k (a Python int) must be None"
# a tie: the first maximal entry of the group wins; k = 3 on a 1-D z
y, (dz, _) = _direct(MaxoutFunction, (torch.tensor([2.0, 5.0, 5.0, 7.0, 7.0, 1.0]), 3), torch.tensor([1.0, 2.0]))
T.assert_close(y, [5.0, 7.0], name="MaxoutFunction.forward(ctx, [2, 5, 5, 7, 7, 1], k=3)")
T.assert_close(dz, [0.0, 1.0, 0.0, 2.0, 0.0, 0.0], name="Maxout's gradient with ties (only the first maximum of a group gets it)")

# gradcheck, the way the grader does it (float64, away from kinks and ties)
gen = torch.Generator().manual_seed(0)
x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
x = (x + 0.1 * torch.sign(x)).requires_grad_()
for alpha in (1.0, 0.3):
    assert torch.autograd.gradcheck(lambda t: ELUFunction.apply(t, alpha), (x,)), f"ELU: gradcheck failed for alpha={alpha}"  # noqa: B023 (called at once)
for slopes in (torch.tensor([0.2]), torch.tensor([0.1, 0.2, 0.3])):
    alpha = slopes.double().requires_grad_()
    assert torch.autograd.gradcheck(PReLUFunction.apply, (x, alpha)), f"PReLU: gradcheck failed for alpha of shape {tuple(alpha.shape)}"
z = torch.randn(2, 3, 6, generator=gen, dtype=torch.float64, requires_grad=True)
assert torch.autograd.gradcheck(lambda t: MaxoutFunction.apply(t, 3), (z,)), "Maxout: gradcheck failed for k=3"

print("✓ Part 2: ELUFunction, PReLUFunction and MaxoutFunction pass the tests")


# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — Dead ReLUs (2 points)
#
# A ReLU unit whose pre-activation is negative for every input outputs 0 everywhere, and its derivative is 0
# everywhere too: no gradient reaches the weights in front of it, so gradient descent can never bring it back.
# It is **dead**. A too-large learning rate or an unlucky update that pushes a bias far negative kills units,
# and in a badly trained network a large share of them can be dead. Let us measure that share.
#
# **What counts.** The model is an `nn.Module` (usually an `nn.Sequential`, possibly with nested containers);
# count **every `nn.ReLU` submodule** (`model.modules()` walks them all; other activations such as
# `nn.LeakyReLU` do not count). Each ReLU is called once per forward pass. Its output has the batch on
# dimension 0 and the **units on dimension 1**: shape $(N, F)$ after a linear layer, where the units are the
# $F$ features, or $(N, C, H, W)$ after a convolution, where the units are the $C$ channels. A unit is dead on
# the batch `x` if its output is exactly 0 for **every sample** (and, for a channel, at **every position**).
# Return
#
# $$\text{dead fraction} = \frac{\text{number of dead units, over all ReLU layers}}{\text{number of units, over all ReLU layers}}$$
#
# as a Python `float` (pool the units of all layers; do not average the per-layer fractions), and `0.0` if
# the model contains no `nn.ReLU`.
#
# **Forward hooks** let you look at a layer's output without changing the model's code:
# `handle = module.register_forward_hook(hook)` makes PyTorch call `hook(module, inputs, output)` right after
# every `module(...)` call, and `handle.remove()` unregisters it. Register one on each ReLU, run the model once
# on `x`, and remove them all, also when the forward pass raises (`try: ... finally: ...`).
#
# The function is a measurement and must leave the model exactly as it found it:
#
# - run the forward pass under `torch.no_grad()` (no graph is needed);
# - put the model into eval mode for the measurement (`model.eval()`: Dropout off, BatchNorm uses and does not
#   update its running statistics), then restore **every submodule's** own previous `training` flag — they can
#   differ from one submodule to the next, so remember them all before;
# - leave no hook of yours behind, and do not touch hooks that were there before.

# %% nbgrader={"grade": false, "grade_id": "dead_relu", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dead_relu_fraction(model: nn.Module, x: torch.Tensor) -> float:
    """The fraction of dead units over all nn.ReLU submodules of `model` on the batch x (a Python float).

    A unit (a feature of an (N, F) output, a channel of an (N, C, ...) output) is dead if its ReLU output is 0
    for every sample and position. Measured in eval mode under torch.no_grad() with forward hooks; the model's
    training flags and hooks are left as they were. 0.0 if there is no nn.ReLU.
    """
    ### BEGIN SOLUTION
    alive = []  # per ReLU call: a bool tensor over its units, True where the unit was non-zero somewhere

    def record(module, inputs, output):
        nonzero = (output != 0).reshape(output.shape[0], output.shape[1], -1)
        alive.append(nonzero.any(dim=2).any(dim=0))

    modes = [(m, m.training) for m in model.modules()]
    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, nn.ReLU)]
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes:
            module.training = mode
    total = sum(a.numel() for a in alive)
    dead = sum(int((~a).sum()) for a in alive)
    return dead / total if total else 0.0
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dead_relu", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def _set(layer, weight, bias):
    with torch.no_grad():
        layer.weight.copy_(torch.tensor(weight).reshape(layer.weight.shape))
        layer.bias.copy_(torch.tensor(bias))


# Layer 1: unit 1 has bias -100 (dead); unit 2 = relu(x0 + x1) fires only for the first sample (alive).
# Layer 2: unit 1 has zero weights and bias (always 0), unit 2 has bias -100, unit 3 = relu(-h0 - h2) <= 0.
model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
_set(model[0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, -100.0, 0.0])
_set(model[2], [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [-1.0, 0.0, -1.0]], [0.0, 0.0, -100.0, 0.0])
x = torch.tensor([[1.0, 2.0], [-1.0, 0.5], [0.5, -3.0]])
result = dead_relu_fraction(model, x)
assert type(result) is float, f"dead_relu_fraction should return a Python float, got {type(result).__name__}"
assert abs(result - 4 / 7) < 1e-6, (
    f"1 of 3 units is dead in the first ReLU layer and 3 of 4 in the second: expected 4/7 = {4 / 7:.4f}, got {result:.4f}"
    + (" (that is the mean of the per-layer fractions; pool the units instead)" if abs(result - 13 / 24) < 1e-6 else ""))

# the model is left as it was: modes, hooks (including someone else's), gradient mode
grad_modes = []
other = model[0].register_forward_hook(lambda module, inputs, output: grad_modes.append(torch.is_grad_enabled()))
model.train()
model[4].eval()
dead_relu_fraction(model, x)
assert grad_modes == [False], "run the forward pass once, inside torch.no_grad()"
assert [m.training for m in model.modules()] == [True, True, True, True, True, False], (
    "restore every submodule's training flag (model[4] was in eval mode, the others in train mode)")
assert all(len(m._forward_hooks) == 0 for m in model.modules() if m is not model[0]), "remove your hooks afterwards"
assert len(model[0]._forward_hooks) == 1, "leave hooks that were already registered alone"
other.remove()
assert torch.is_grad_enabled(), "gradient mode should be on again after dead_relu_fraction"

# a convolution: units are channels; channel 0 fires at a single position of a single image, so it is alive
conv_model = nn.Sequential(nn.Conv2d(1, 3, kernel_size=1), nn.ReLU(), nn.Flatten())
_set(conv_model[0], [1.0, -1.0, 0.0], [0.0, -100.0, 0.0])
images = -torch.ones(2, 1, 3, 3)
images[1, 0, 2, 1] = 0.5
result = dead_relu_fraction(conv_model, images)
assert abs(result - 2 / 3) < 1e-6, f"channels 1 and 2 are dead, channel 0 is not: expected 2/3, got {result:.4f}"
assert dead_relu_fraction(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), x) == 0.0, "no nn.ReLU in the model: expected 0.0"

# a ReLU inside a nested container counts too, and eval mode leaves BatchNorm's running statistics alone
nested = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3), nn.ReLU(inplace=True)), nn.Linear(3, 1))
_set(nested[0][0], [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], [0.0, -100.0, 0.0])
nested.train()
result = dead_relu_fraction(nested, x)
assert abs(result - 1 / 3) < 1e-6, f"the ReLU inside the nested nn.Sequential has 1 dead unit of 3: expected 1/3, got {result:.4f}"
assert nested[0][1].running_mean.tolist() == [0.0, 0.0, 0.0], \
    "BatchNorm's running_mean changed: measure in eval mode (model.eval()) and restore the flags afterwards"
assert nested.training and nested[0][1].training, "restore the training flags afterwards"

print("✓ Part 3: dead_relu_fraction passes the tests")

# %% [markdown]
# Dead ReLUs in action (ungraded). The same small ReLU network learns the two moons with plain gradient
# descent at two learning rates. Some units are dead from the start (on 2-D inputs, a unit whose half-plane
# misses all the data never fires). With a moderate step their share stays put; with a very large step, the
# first few updates push many units into the negative for every input, and they never come back. The network
# still fits the moons (it has units to spare), but a good part of its capacity is now wasted.

# %%
try:
    x_moons, y_moons = make_moons(256, noise=0.1, seed=0)
    x_moons, y_moons = x_moons.to(device), y_moons.to(device)
    fig, ax = plt.subplots(figsize=(7, 4))
    for lr in (0.1, 2.0):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                            nn.Linear(32, 2)).to(device)
        optimizer = torch.optim.SGD(net.parameters(), lr=lr)
        steps, fractions = [], []
        for step in range(61):
            if step % 5 == 0:
                steps.append(step)
                fractions.append(dead_relu_fraction(net, x_moons))
            loss = F.cross_entropy(net(x_moons), y_moons)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        ax.plot(steps, fractions, marker="o", markersize=3, label=f"lr = {lr}: final loss {loss.item():.3f}")
        print(f"lr = {lr}: dead fraction {fractions[0]:.2f} at the start, {fractions[-1]:.2f} after 60 steps")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("fraction of dead ReLU units")
    ax.set_ylim(0, 1)
    ax.set_title("A 3×32 ReLU network on two moons")
    ax.legend()
    plt.show()
except NotImplementedError:
    print("Implement Part 3 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Vanishing gradients, measured layer by layer (2 points)
#
# In a deep network $h_l = f(h_{l-1} W_l)$, backpropagation multiplies the gradient, once per layer, by the
# layer's weights and by the activation's derivative $f'(z_l)$. The gradient reaching the first layer has
# gone through all of these factors. The sigmoid's derivative is at most $1/4$ (Part 1's figure), so with
# weights of moderate size the gradient shrinks geometrically with depth, and the first layers barely learn:
# the **vanishing gradient** problem. tanh's derivative reaches 1 at 0, ReLU's is exactly 1 for every active
# unit, so they lose much less. Rather than take this on trust, you measure it: the size of the gradient that
# reaches **each** layer.
#
# ### (a) Measure it
#
# Write `gradient_norms(activation, depth, width, seed, batch=64)` that builds exactly this network and
# returns the list $\bigl[\lVert \partial L / \partial W_1 \rVert, \dots, \lVert \partial L / \partial
# W_{\text{depth}} \rVert\bigr]$ of the hidden layers' gradient norms (Frobenius norms, `tensor.norm()`), the
# **first** layer (next to the input) first, as Python `float`s:
#
# 1. `gen = torch.Generator().manual_seed(seed)`; draw everything from `gen`, in `float64`, in this order:
# 2. inputs `x = torch.randn(batch, width, generator=gen, dtype=torch.float64)`,
# 3. targets `y = torch.randn(batch, 1, generator=gen, dtype=torch.float64)`,
# 4. the `depth` hidden weight matrices $W_1, \dots, W_{\text{depth}}$, each
#    `torch.randn(width, width, generator=gen, dtype=torch.float64) / math.sqrt(width)` (no biases),
# 5. the output weights `w_out = torch.randn(width, 1, generator=gen, dtype=torch.float64) / math.sqrt(width)`.
# 6. Forward: $h_0 = x$, $\ h_l = f(h_{l-1} W_l)$ for $l = 1, \dots, \text{depth}$ (the matrix product
#    `h @ W`, in this orientation), $\ \hat y = h_{\text{depth}}\, w_{\text{out}}$,
#    loss $L = \operatorname{mean}\bigl((\hat y - y)^2\bigr)$ over the batch.
# 7. One `L.backward()` (autograd is fine here), then return the `depth` gradient norms.
#
# `activation` is `"sigmoid"`, `"tanh"` or `"relu"` (use `torch.sigmoid`, `torch.tanh`, `torch.relu`); raise
# `ValueError` for any other name. The result must not depend on PyTorch's global random state.

# %% nbgrader={"grade": false, "grade_id": "gradient_ratio", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient_norms(activation: str, depth: int, width: int, seed: int, batch: int = 64) -> list[float]:
    """[||dL/dW_1||, ..., ||dL/dW_depth||] for the deep network described above (Python floats)."""
    ### BEGIN SOLUTION
    functions = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}
    if activation not in functions:
        raise ValueError(f"unknown activation {activation!r}; use one of {sorted(functions)}")
    f = functions[activation]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=gen, dtype=torch.float64)
    y = torch.randn(batch, 1, generator=gen, dtype=torch.float64)
    weights = [(torch.randn(width, width, generator=gen, dtype=torch.float64) / math.sqrt(width)).requires_grad_()
               for _ in range(depth)]
    w_out = torch.randn(width, 1, generator=gen, dtype=torch.float64) / math.sqrt(width)
    h = x
    for w in weights:
        h = f(h @ w)
    loss = ((h @ w_out - y) ** 2).mean()
    loss.backward()
    return [float(w.grad.norm()) for w in weights]
    ### END SOLUTION


# %% [markdown] nbgrader={"grade": false, "grade_id": "part4b_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ### (b) Bound it by hand
#
# Along one path from the loss back to the first layer of a network with 10 sigmoid layers, the gradient is
# multiplied by ten sigmoid derivatives $\sigma'(z_1)\,\sigma'(z_2)\cdots\sigma'(z_{10})$ (and by weights).
#
# - `sigmoid_bound_depth10`: the largest value this product of ten derivatives can take, over all possible
#   $z_1, \dots, z_{10}$ (a Python number).
# - `sigmoid_depth_below_1e6`: the smallest number of sigmoid layers $d$ for which this bound, the largest
#   possible product of $d$ sigmoid derivatives, is below $10^{-6}$ (a Python `int`).

# %% nbgrader={"grade": false, "grade_id": "vanishing_numbers", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
sigmoid_bound_depth10 = 0.25 ** 10  # sigma'(z) = sigma(1 - sigma) <= 1/4, with equality at z = 0
sigmoid_depth_below_1e6 = 10  # 0.25**9 = 3.8e-6, 0.25**10 = 9.5e-7
### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "test_vanishing", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# 1. the result's form: one Python float per layer; depth 1 gives one norm
norms = gradient_norms("sigmoid", depth=1, width=8, seed=0)
assert type(norms) is type([]), f"gradient_norms should return a list, got {type(norms).__name__}"
assert len(norms) == 1 and type(norms[0]) is float, f"with depth = 1 the result is a list of one Python float, got {norms!r}"
norms = gradient_norms("relu", depth=5, width=8, seed=0)
assert len(norms) == 5 and all(type(v) is float and v >= 0.0 for v in norms), f"depth 5: five non-negative floats, got {norms!r}"

# 2. the draws, in the stated order: with depth = width = batch = 1, dL/dW1 = 2 (ŷ - y) w_out σ'(x W1) x
gen = torch.Generator().manual_seed(0)
x, y, W1, w_out = (torch.randn(1, 1, generator=gen, dtype=torch.float64) for _ in range(4))
s = torch.sigmoid(x * W1)
expected = abs(float(2 * (s * w_out - y) * w_out * s * (1 - s) * x))
T.assert_close(gradient_norms("sigmoid", 1, 1, seed=0, batch=1), [expected], rtol=1e-9,
               name="gradient_norms('sigmoid', 1, 1, seed=0, batch=1) (x, y, W1, w_out drawn in this order from gen)")

# 3. the same arguments give the same result, another seed another network, whatever the global random state
torch.manual_seed(1)
first = gradient_norms("tanh", 6, 16, seed=3)
torch.manual_seed(2)
assert gradient_norms("tanh", 6, 16, seed=3) == first, "the same arguments must give the same norms (draw everything from gen)"
assert gradient_norms("tanh", 6, 16, seed=4) != first, "another seed must give another network"
try:
    gradient_norms("softmax", 3, 8, seed=0)
except ValueError:
    pass
else:
    raise AssertionError("an unknown activation name should raise ValueError")

# 4. the measurement: 10 sigmoid layers lose orders of magnitude, 10 ReLU layers do not
deep_sigmoid, deep_relu = gradient_norms("sigmoid", 10, 32, seed=0), gradient_norms("relu", 10, 32, seed=0)
ratio = deep_sigmoid[0] / deep_sigmoid[-1]
assert 0.0 < ratio < 1e-3, (f"10 sigmoid layers: the first layer's gradient should be tiny next to the last one's, got a ratio "
                            f"{ratio:.3g}" + (" (is the list reversed? It starts with W_1, next to the input)" if ratio > 1e3 else ""))
assert 0.05 < deep_relu[0] / deep_relu[-1] < 20.0, f"10 ReLU layers: the ratio should be of order 1, got {deep_relu[0] / deep_relu[-1]:.3g}"

# 5. the numbers by hand
assert type(sigmoid_bound_depth10) in (int, float), "sigmoid_bound_depth10 should be a Python number"
assert 0.0 < sigmoid_bound_depth10 < 1.0, "a product of sigmoid derivatives lies between 0 and 1"
assert type(sigmoid_depth_below_1e6) is int and sigmoid_depth_below_1e6 >= 1, "sigmoid_depth_below_1e6 should be a positive int"

print("✓ Part 4: gradient_norms and the bounds pass the tests")

# %% [markdown]
# The gradient norm of every layer of a 12-layer network, for the three activations (ungraded, one seed, so
# the curves are a bit noisy). Read each curve from the right (the layer next to the output) to the left (the
# layer next to the input): that is the direction in which backpropagation travels. With sigmoid the norm
# falls geometrically, layer after layer; the dotted line falls by the bound $1/4$ per layer, for comparison
# (the weights and the sizes of the activations contribute too, so it is a guide, not a bound). With tanh and
# ReLU the norms stay of the same order through the whole network: the first layers learn about as fast as
# the last. The printed numbers are measured in your run.

# %%
try:
    depth = 12
    layers = list(range(1, depth + 1))
    fig, ax = plt.subplots(figsize=(7, 4))
    measured = {name: gradient_norms(name, depth, 32, seed=0) for name in ("sigmoid", "tanh", "relu")}
    for name, norms in measured.items():
        ax.semilogy(layers, norms, marker="o", markersize=4, label=name)
        per_layer = (norms[0] / norms[-1]) ** (1 / (depth - 1))
        print(f"{name:8s} first layer / last layer = {norms[0] / norms[-1]:.2e}: "
              f"on its way down the gradient norm is multiplied by {per_layer:.2f} per layer on average")
    top = measured["sigmoid"][-1]
    ax.semilogy(layers, [top * 0.25 ** (depth - layer) for layer in layers], "k:", label="0.25 per layer, from sigmoid's last")
    ax.set_xlabel("hidden layer l (1 = next to the input)")
    ax.set_ylabel("‖∂L/∂W_l‖")
    ax.set_title(f"Gradient norm per layer: {depth} layers of width 32, weights N(0, 1/width), seed 0")
    ax.legend()
    plt.show()
except NotImplementedError:
    print("Implement Part 4 first.")
