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
# In this assignment you implement the common activations and their derivatives yourself, plug one into
# PyTorch's autograd, and measure two failure modes of deep networks: dead ReLUs and vanishing gradients.
#
# | part | what you build | points |
# |---|---|---|
# | 1 | sigmoid, tanh, ReLU, Leaky ReLU, ELU, Softplus and their derivatives, numerically stable, no autograd | 4 |
# | 2 | ELU as a custom `torch.autograd.Function` with a hand-written backward | 2 |
# | 3 | `dead_relu_fraction`: the share of ReLU units that never fire, measured with forward hooks | 2 |
# | 4 | `gradient_norm_ratio`: vanishing gradients in a deep network, measured; and two numbers by hand | 2 |
#
# **How grading works.** Write your code in the cells marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part is followed by a locked test cell. The tests you can see
# now run on tiny, hand-checkable examples: run them as often as you like. At grading time the same cells
# also run **hidden tests** on other, randomly generated inputs (other shapes, dtypes, values up to ±1000,
# other networks and seeds) and compare your results with a reference, so code that only works on the
# visible examples will not get the points. A test cell gives all of its points or none. The parts are
# graded independently: a missing Part 1 does not cost you Part 3.
#
# **Rules.**
#
# - Parts 1 and 2 are about implementing what PyTorch already has. Inside your functions, PyTorch's own
#   activations (`torch.sigmoid`, `torch.tanh`, `torch.relu`, `F.relu`, `F.leaky_relu`, `F.elu`, `F.softplus`,
#   `F.silu`, the `nn` modules that call them, `torch.special.expit`, `torch.logaddexp`, softmax, …), autograd
#   (`.backward()`, `torch.autograd.grad`, `torch.func`) and detours through NumPy or Python lists are
#   **forbidden**; the hidden tests detect such calls. Elementary tensor operations are fine and all you need:
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
# ## Part 1 — Six activations and their derivatives (4 points)
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
# ReLU$'(0) = 0$, Leaky ReLU$'(0) = \alpha$ and ELU$'(0) = \alpha$. The hidden tests include exact zeros.
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


# %% nbgrader={"grade": true, "grade_id": "test_activations", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

_e = math.exp(1.0)
x = torch.tensor([-2.0, 0.0, 2.0], dtype=torch.float64)
for name, got, expected in [
    ("sigmoid([-2, 0, 2])", sigmoid(x), [1 / (1 + _e ** 2), 0.5, 1 / (1 + _e ** -2)]),
    ("sigmoid_grad([-2, 0, 2])", sigmoid_grad(x), [_e ** 2 / (1 + _e ** 2) ** 2, 0.25, _e ** 2 / (1 + _e ** 2) ** 2]),
    ("tanh([-2, 0, 2])", tanh(x), [-math.tanh(2.0), 0.0, math.tanh(2.0)]),
    ("tanh_grad([-2, 0, 2])", tanh_grad(x), [1 - math.tanh(2.0) ** 2, 1.0, 1 - math.tanh(2.0) ** 2]),
    ("relu([-2, 0, 2])", relu(x), [0.0, 0.0, 2.0]),
    ("relu_grad([-2, 0, 2]) (0 at x = 0)", relu_grad(x), [0.0, 0.0, 1.0]),
    ("leaky_relu([-2, 0, 2], alpha=0.1)", leaky_relu(x, 0.1), [-0.2, 0.0, 2.0]),
    ("leaky_relu_grad([-2, 0, 2], alpha=0.1) (alpha at x = 0)", leaky_relu_grad(x, 0.1), [0.1, 0.1, 1.0]),
    ("leaky_relu([-2, 0, 2]) with the default alpha = 0.01", leaky_relu(x), [-0.02, 0.0, 2.0]),
    ("elu([-2, 0, 2], alpha=0.5)", elu(x, 0.5), [0.5 * (_e ** -2 - 1), 0.0, 2.0]),
    ("elu_grad([-2, 0, 2], alpha=0.5) (alpha at x = 0)", elu_grad(x, 0.5), [0.5 * _e ** -2, 0.5, 1.0]),
    ("elu([-2, 0, 2]) with the default alpha = 1", elu(x), [_e ** -2 - 1, 0.0, 2.0]),
    ("softplus([-2, 0, 2])", softplus(x), [math.log(1 + _e ** -2), math.log(2.0), math.log(1 + _e ** 2)]),
    ("softplus_grad([-2, 0, 2])", softplus_grad(x), [1 / (1 + _e ** 2), 0.5, 1 / (1 + _e ** -2)]),
]:
    assert isinstance(got, torch.Tensor), f"{name} should return a torch.Tensor, got {type(got).__name__}"
    T.assert_close(got, expected, atol=1e-12, rtol=1e-10, name=name)

# large inputs: no overflow, no nan (try these with the textbook formulas to see why)
big = torch.tensor([-1000.0, -100.0, 100.0, 1000.0])
for name, got, expected in [
    ("sigmoid", sigmoid(big), [0.0, 0.0, 1.0, 1.0]),
    ("sigmoid_grad", sigmoid_grad(big), [0.0, 0.0, 0.0, 0.0]),
    ("tanh", tanh(big), [-1.0, -1.0, 1.0, 1.0]),
    ("tanh_grad", tanh_grad(big), [0.0, 0.0, 0.0, 0.0]),
    ("elu", elu(big), [-1.0, -1.0, 100.0, 1000.0]),
    ("elu_grad", elu_grad(big), [0.0, 0.0, 1.0, 1.0]),
    ("softplus", softplus(big), [0.0, 0.0, 100.0, 1000.0]),
    ("softplus_grad", softplus_grad(big), [0.0, 0.0, 1.0, 1.0]),
]:
    assert not torch.isnan(got).any(), f"{name}([-1000, -100, 100, 1000]) contains nan: {got.tolist()} (see 'Numerical stability')"
    T.assert_close(got, expected, atol=1e-6, rtol=1e-6, name=f"{name}([-1000, -100, 100, 1000]) in float32")
assert tanh(torch.tensor([1000.0], dtype=torch.float64)).item() == 1.0, "tanh(1000) must be exactly 1.0"

# dtypes and shapes
functions = [sigmoid, sigmoid_grad, tanh, tanh_grad, relu, relu_grad, leaky_relu, leaky_relu_grad, elu, elu_grad,
             softplus, softplus_grad]
for dtype in (torch.float32, torch.float64):
    x = torch.linspace(-3.0, 3.0, 24, dtype=dtype).reshape(2, 3, 4)
    saved = x.clone()
    for f in functions:
        out = f(x)
        assert out.shape == x.shape, f"{f.__name__} on a (2, 3, 4) tensor returned shape {tuple(out.shape)}"
        assert out.dtype == dtype, f"{f.__name__} on a {dtype} tensor returned {out.dtype}: keep the input's dtype"
        assert torch.equal(x, saved), f"{f.__name__} modified its input x: compute a new tensor instead"

# PyTorch's own activations are not allowed inside your functions
_banned = (torch.sigmoid, torch.Tensor.sigmoid, torch.tanh, torch.Tensor.tanh, torch.relu, torch.Tensor.relu, F.relu,
           F.leaky_relu, F.elu, F.softplus, torch.special.expit, torch.Tensor.backward, torch.autograd.grad)
x = torch.linspace(-3.0, 3.0, 7)
for f in functions:
    with T.forbidden(*_banned):
        f(x)
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBID = [torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward] + T.torch_callables(
        (torch, "sigmoid sigmoid_ tanh tanh_ relu relu_ celu celu_ selu selu_ rrelu rrelu_ prelu threshold threshold_ "
                "logaddexp logaddexp2 logsumexp softmax log_softmax hardtanh"),
        (torch.Tensor, "sigmoid sigmoid_ tanh tanh_ relu relu_ prelu logaddexp logaddexp2 logsumexp softmax log_softmax "
                       "numpy __array__ tolist item __float__"),
        (torch.special, "expit logsumexp softmax log_softmax log_ndtr"),
        (F, "relu relu_ relu6 leaky_relu leaky_relu_ elu elu_ celu celu_ selu selu_ softplus silu mish hardtanh "
            "hardtanh_ threshold threshold_ rrelu rrelu_ prelu logsigmoid tanhshrink softmax log_softmax glu "
            "binary_cross_entropy_with_logits soft_margin_loss"),
        (torch._C._nn, "elu elu_ leaky_relu leaky_relu_ softplus log_sigmoid hardtanh hardtanh_"),
        aten="sigmoid sigmoid_ tanh tanh_ relu relu_ elu elu_ leaky_relu leaky_relu_ softplus silu logaddexp "
             "log_sigmoid_forward hardtanh threshold sigmoid_backward tanh_backward elu_backward "
             "leaky_relu_backward softplus_backward threshold_backward")


def _ref_sigmoid(t):
    small = torch.exp(-t.abs())
    return torch.where(t >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def _ref_activation(name, x, alpha):
    """The value and the derivative in float64, from stable formulas."""
    x = x.double()
    if name == "sigmoid":
        s = _ref_sigmoid(x)
        return s, s * (1.0 - s)
    if name == "tanh":
        em1 = torch.expm1(-2.0 * torch.abs(x))
        th = torch.sign(x) * (-em1 / (2.0 + em1))
        return th, 1.0 - th * th
    if name == "relu":
        return torch.where(x > 0, x, torch.zeros_like(x)), (x > 0).double()
    if name == "leaky_relu":
        return torch.where(x > 0, x, alpha * x), torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))
    if name == "elu":
        neg = torch.clamp(x, max=0.0)
        return (torch.where(x > 0, x, alpha * torch.expm1(neg)),
                torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(neg)))
    if name == "softplus":
        return torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs())), _ref_sigmoid(x)
    raise ValueError(name)


_PAIRS = {"sigmoid": (sigmoid, sigmoid_grad), "tanh": (tanh, tanh_grad), "relu": (relu, relu_grad),
          "leaky_relu": (leaky_relu, leaky_relu_grad), "elu": (elu, elu_grad), "softplus": (softplus, softplus_grad)}
_SPECIAL = [1000.0, -1000.0, 1e-8, -1e-8, 0.0, 0.0, 88.0, -88.0, 90.0, -90.0, 710.0, -710.0, 30.0, -30.0, 1e-30]


def _random_input(gen, py, dtype):
    shape = tuple(py.randint(1, 6) for _ in range(py.randint(0, 4)))
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * py.choice([1e-8, 0.5, 3.0, 20.0, 300.0])
    flat = x.reshape(-1)
    for _ in range(min(flat.numel(), py.randint(0, 8))):
        flat[py.randrange(flat.numel())] = py.choice(_SPECIAL)
    x = flat.reshape(shape).to(dtype)
    if x.dim() >= 2 and py.random() < 0.4:
        x = x.transpose(0, -1)  # a non-contiguous view
    return x


_gen, _py = T.rng(3101), T.py_rng(3102)
for _name, (_f, _f_grad) in _PAIRS.items():
    for _case in range(12):
        _dtype = (torch.float32, torch.float64)[_case % 2]
        if _case < 2:  # every special value at least once in each dtype, then random tensors
            _x = torch.tensor(_SPECIAL + [-3.0, -1.0, -0.5, 0.5, 1.0, 3.0], dtype=_dtype).reshape(3, 7)
        else:
            _x = _random_input(_gen, _py, _dtype)
        _saved = _x.clone()
        _alpha = None
        if _name == "leaky_relu" and _case % 4:
            _alpha = _py.choice([0.001, 0.1, 0.2, 0.3, 0.5])
        elif _name == "elu" and _case % 4:
            _alpha = _py.choice([0.1, 0.5, 1.5, 2.0])
        _args = (_x,) if _alpha is None else (_x, _alpha)
        _ref_alpha = _alpha if _alpha is not None else (0.01 if _name == "leaky_relu" else 1.0)  # the defaults
        _ref_value, _ref_grad = _ref_activation(_name, _x, _ref_alpha)
        _tol = dict(atol=1e-6, rtol=1e-5) if _dtype == torch.float32 else dict(atol=1e-12, rtol=1e-9)
        for _fn, _expected in ((_f, _ref_value), (_f_grad, _ref_grad)):
            _what = (f"{_fn.__name__} on a {_dtype} tensor of shape {tuple(_x.shape)}"
                     + ("" if _alpha is None else f" with alpha={_alpha}"))
            with T.forbidden(*_FORBID):
                _out = _fn(*_args)
            T.assert_type(_out, torch.Tensor, name=_what)
            assert _out.dtype == _dtype, f"{_what}: returned {_out.dtype}, expected {_dtype} (keep the input's dtype)"
            T.assert_close(_out, _expected, name=_what, **_tol)
            assert torch.equal(_x, _saved), f"{_what}: the input was modified"
### END HIDDEN TESTS
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
# ## Part 2 — ELU as a custom autograd function (2 points)
#
# PyTorch's autograd knows the derivative of every built-in operation. For a new operation you can teach it
# yourself with a `torch.autograd.Function`: two static methods,
#
# - `forward(ctx, x, alpha)` computes the output from plain tensors (no graph is recorded inside) and stores
#   on `ctx` whatever the backward pass will need: tensors with `ctx.save_for_backward(x)`, other values as
#   attributes (`ctx.alpha = alpha`);
# - `backward(ctx, grad_out)` receives $\partial L/\partial y$ (same shape as the output) and returns one
#   gradient **per input of `forward`**, in the same order: $\partial L/\partial x = $ `grad_out` $\cdot f'(x)$
#   for `x`, and `None` for `alpha` (a Python number, not differentiated). Read saved tensors back with
#   `x, = ctx.saved_tensors`.
#
# You call it as `ELUFunction.apply(x, alpha)`; autograd then uses your `backward` in `loss.backward()`.
#
# Implement ELU this way, with the formulas (and the convention at 0, and the numerical care) of Part 1:
# $y = x$ for $x > 0$, $y = \alpha(e^{x} - 1)$ otherwise; $\ f'(x) = 1$ for $x > 0$, $\alpha e^{x}$ otherwise.
# Write the formulas here again rather than calling your Part 1 functions, so that this part is graded on its
# own. `F.elu`, `nn.ELU` and autograd calls are forbidden inside `forward` and `backward`; the hidden tests
# also call your two methods directly.
#
# `torch.autograd.gradcheck(fn, (x,))` compares the gradients your `backward` produces with finite
# differences $\bigl(f(x + \varepsilon) - f(x - \varepsilon)\bigr) / 2\varepsilon$ of your `forward`. It needs
# `float64` inputs with `requires_grad=True` (in `float32` finite differences are too inaccurate), and points
# not too close to the kink at 0.

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


# %% nbgrader={"grade": true, "grade_id": "test_elu_function", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 3.0], dtype=torch.float64, requires_grad=True)
with T.forbidden(F.elu, torch.Tensor.backward, torch.autograd.grad):
    y = ELUFunction.apply(x, 1.0)
assert isinstance(y, torch.Tensor), f"ELUFunction.apply should return a tensor, got {type(y).__name__}"
T.assert_close(y, [math.expm1(-2.0), math.expm1(-0.5), 0.0, 0.5, 3.0], atol=1e-12, name="ELUFunction.apply(x, 1.0)")
assert y.grad_fn is not None, "the output has no grad_fn: call ELUFunction.apply(x, alpha), not forward() directly"
y.sum().backward()
T.assert_close(x.grad, [math.exp(-2.0), math.exp(-0.5), 1.0, 1.0, 1.0], atol=1e-12,
               name="x.grad after ELUFunction.apply(x, 1.0).sum().backward()")

x = torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64, requires_grad=True)
y = ELUFunction.apply(x, 0.5)
y.backward(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
T.assert_close(y, [0.5 * math.expm1(-1.0), 0.0, 2.0], atol=1e-12, name="ELUFunction.apply(x, 0.5)")
T.assert_close(x.grad, [0.5 * math.exp(-1.0), 2.0 * 0.5, 3.0], atol=1e-12,
               name="x.grad for alpha = 0.5 and grad_out = [1, 2, 3] (grad_out times the derivative; alpha at x = 0)")

gen = torch.Generator().manual_seed(0)
for alpha in (1.0, 0.3):
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    x = (x + 0.1 * torch.sign(x)).requires_grad_()  # keep away from the kink at 0
    assert torch.autograd.gradcheck(lambda t: ELUFunction.apply(t, alpha), (x,)), f"gradcheck failed for alpha={alpha}"

x = torch.tensor([-1000.0, 1000.0], requires_grad=True)
y = ELUFunction.apply(x, 1.0)
y.sum().backward()
assert torch.isfinite(y).all() and torch.isfinite(x.grad).all(), (
    f"at x = ±1000: output {y.tolist()}, gradient {x.grad.tolist()}; expected [-1, 1000] and [0, 1], no inf or nan")
assert y.dtype == torch.float32, f"a float32 input should give a float32 output, got {y.dtype}"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBID = [torch.Tensor.backward, torch.autograd.grad, torch.nn.functional.elu] + T.torch_callables(
    (torch, "celu celu_ selu selu_"), (F, "elu elu_ celu celu_ selu selu_"), (torch._C._nn, "elu elu_"),
    (torch.Tensor, "numpy __array__ tolist"), aten="elu elu_ elu_backward celu selu")


def _ref_elu(x, alpha):
    """Value and derivative in float64."""
    x = x.double()
    neg = torch.clamp(x, max=0.0)
    return (torch.where(x > 0, x, alpha * torch.expm1(neg)),
            torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(neg)))


class _Ctx:
    """A stand-in for autograd's ctx, to call forward and backward directly."""

    def __init__(self):
        self._saved = ()
        self.needs_input_grad = (True, False)

    def save_for_backward(self, *tensors):
        self._saved = tensors

    @property
    def saved_tensors(self):
        return self._saved

    def mark_non_differentiable(self, *args):
        pass

    def mark_dirty(self, *args):
        pass

    def set_materialize_grads(self, value):
        pass


_gen, _py = T.rng(3201), T.py_rng(3202)


def _random_x(dtype, extremes=True):
    shape = tuple(_py.randint(1, 5) for _ in range(_py.randint(1, 4)))
    x = torch.randn(shape, generator=_gen, dtype=torch.float64) * _py.choice([0.5, 2.0, 10.0])
    flat = x.reshape(-1)
    if extremes:
        for _ in range(min(flat.numel(), 4)):
            flat[_py.randrange(flat.numel())] = _py.choice([1000.0, -1000.0, 0.0, 1e-8, -1e-8, 100.0, -100.0])
    return flat.reshape(shape).to(dtype)


# forward and backward called directly (with autograd's engine out of the way, F.elu & co. are caught here too)
for _case in range(8):
    _dtype = (torch.float32, torch.float64)[_case % 2]
    _x, _alpha = _random_x(_dtype), _py.choice([0.2, 0.5, 1.0, 1.7])
    _g = torch.randn(_x.shape, generator=_gen, dtype=torch.float64).to(_dtype)
    _what = f"ELUFunction on a {_dtype} tensor of shape {tuple(_x.shape)}, alpha={_alpha}"
    _ref_y, _ref_d = _ref_elu(_x, _alpha)
    _ctx = _Ctx()
    with T.forbidden(*_FORBID):
        _y = ELUFunction.forward(_ctx, _x.clone(), _alpha)
        _grads = ELUFunction.backward(_ctx, _g.clone())
    T.assert_type(_y, torch.Tensor, name=f"{_what}: forward's output")
    assert _y.dtype == _dtype, f"{_what}: forward returned {_y.dtype}"
    _tol = dict(atol=1e-6, rtol=1e-5) if _dtype == torch.float32 else dict(atol=1e-12, rtol=1e-9)
    T.assert_close(_y, _ref_y, name=f"{_what}: forward", **_tol)
    assert isinstance(_grads, (tuple, list)) and len(_grads) == 2, (
        f"{_what}: backward must return two gradients (for x and for alpha), got {_grads!r}")
    assert _grads[1] is None, f"{_what}: the gradient for alpha must be None"
    T.assert_type(_grads[0], torch.Tensor, name=f"{_what}: backward's gradient for x")
    assert _grads[0].dtype == _dtype, f"{_what}: backward returned {_grads[0].dtype}"
    T.assert_close(_grads[0], _g.double() * _ref_d, name=f"{_what}: backward (grad_out times the derivative)", **_tol)

# through autograd: the gradient of a random weighted sum, including ±1000 and exact zeros
for _case in range(6):
    _dtype = (torch.float64, torch.float32)[_case % 2]
    _x, _alpha = _random_x(_dtype), _py.choice([0.1, 0.6, 1.0, 2.0])
    _w = torch.randn(_x.shape, generator=_gen, dtype=torch.float64).to(_dtype)
    _xr = _x.clone().requires_grad_()
    with T.forbidden(*_FORBID):
        _y = ELUFunction.apply(_xr, _alpha)
    (_y * _w).sum().backward()
    _ref_y, _ref_d = _ref_elu(_x, _alpha)
    _what = f"ELUFunction.apply on a {_dtype} tensor of shape {tuple(_x.shape)}, alpha={_alpha}"
    _tol = dict(atol=1e-6, rtol=1e-5) if _dtype == torch.float32 else dict(atol=1e-12, rtol=1e-9)
    T.assert_close(_y, _ref_y, name=f"{_what}: output", **_tol)
    assert _xr.grad is not None, f"{_what}: x.grad is None after backward()"
    T.assert_close(_xr.grad, _w.double() * _ref_d, name=f"{_what}: x.grad", **_tol)

# gradcheck on random shapes and alphas, away from the kink
for _case in range(4):
    _x = _random_x(torch.float64, extremes=False)
    _x = (_x + 0.05 * torch.sign(_x) + 0.05 * (_x == 0)).requires_grad_()
    _alpha = _py.choice([0.25, 0.8, 1.0, 1.5])
    assert torch.autograd.gradcheck(lambda t: ELUFunction.apply(t, _alpha), (_x,), fast_mode=True,
                                    raise_exception=False), (
        f"gradcheck failed on a tensor of shape {tuple(_x.shape)} with alpha={_alpha}")


# inside a small network: one SGD step must match the same network with a reference ELU
class _Net(nn.Module):
    def __init__(self, d_in, hidden, alpha, reference):
        super().__init__()
        self.lin1, self.lin2 = nn.Linear(d_in, hidden), nn.Linear(hidden, 1)
        self.alpha, self.reference = alpha, reference

    def forward(self, x):
        h = self.lin1(x)
        h = F.elu(h, self.alpha) if self.reference else ELUFunction.apply(h, self.alpha)
        return self.lin2(h)


for _case in range(2):
    _d, _h, _alpha = _py.randint(2, 5), _py.randint(3, 8), _py.choice([0.5, 1.0, 1.3])
    with torch.random.fork_rng(devices=[]):  # module construction must not disturb the global RNG
        _nets = [_Net(_d, _h, _alpha, reference).double() for reference in (False, True)]
    with torch.no_grad():
        for _p in _nets[0].parameters():
            _p.copy_(torch.randn(_p.shape, generator=_gen, dtype=torch.float64))
    _nets[1].load_state_dict(_nets[0].state_dict())
    _xb = torch.randn(16, _d, generator=_gen, dtype=torch.float64)
    _yb = torch.randn(16, 1, generator=_gen, dtype=torch.float64)
    for _net in _nets:
        _opt = torch.optim.SGD(_net.parameters(), lr=0.1)
        if _net.reference:
            _loss = F.mse_loss(_net(_xb), _yb)
        else:
            with T.forbidden(*_FORBID):
                _out = _net(_xb)
            _loss = F.mse_loss(_out, _yb)
        _loss.backward()
        _opt.step()
    for (_name, _p), _q in zip(_nets[0].named_parameters(), _nets[1].parameters()):
        T.assert_close(_p, _q, atol=1e-10, rtol=1e-8, name=f"{_name} after one SGD step of a network using ELUFunction")
### END HIDDEN TESTS
print("✓ Part 2: ELUFunction passes the tests")

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
assert abs(result - 4 / 7) < 1e-12, (
    f"1 of 3 units is dead in the first ReLU layer and 3 of 4 in the second: expected 4/7 = {4 / 7:.4f}, got {result:.4f}"
    + (" (that is the mean of the per-layer fractions; pool the units instead)" if abs(result - 13 / 24) < 1e-9 else ""))

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
assert abs(result - 2 / 3) < 1e-12, f"channels 1 and 2 are dead, channel 0 is not: expected 2/3, got {result:.4f}"
assert dead_relu_fraction(nn.Sequential(nn.Linear(2, 2), nn.Tanh()), x) == 0.0, "no nn.ReLU in the model: expected 0.0"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_gen, _py = T.rng(3301), T.py_rng(3302)


def _ref_dead(model, x):
    """Reference: run the model in eval mode and count the units that stay at 0 (the model is restored)."""
    alive = []
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    handles = [m.register_forward_hook(lambda mod, inp, out: alive.append(
        (out != 0).reshape(out.shape[0], out.shape[1], -1).any(dim=2).any(dim=0))) for m in relus]
    modes = [m.training for m in model.modules()]
    model.eval()
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    for m, mode in zip(model.modules(), modes):
        m.training = mode
    total = sum(a.numel() for a in alive)
    return (total - sum(int(a.sum()) for a in alive)) / total if total else 0.0


def _fill(layer, fan_in, dead_units):
    """Random weights from the private generator; units in dead_units get a hopeless bias of -1000."""
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=_gen) / math.sqrt(fan_in))
        bias = torch.randn(layer.bias.shape, generator=_gen) * 0.5
        bias[dead_units] = -1000.0
        layer.bias.copy_(bias)


def _dead_set(n):
    return [k for k in range(n) if _py.random() < _py.choice([0.0, 0.2, 0.5, 0.9])]


def _random_mlp():
    d_in = _py.randint(2, 6)
    layers, width = [], d_in
    for _ in range(_py.randint(1, 4)):
        out = _py.randint(2, 12)
        lin = nn.Linear(width, out)
        block = [lin]
        kind = _py.choice(["relu", "relu", "relu", "relu_inplace", "leaky", "tanh"])
        if _py.random() < 0.3:  # a BatchNorm in front of the ReLU: its beta decides which units die
            bn = nn.BatchNorm1d(out)
            _fill(lin, width, [])
            with torch.no_grad():
                bn.running_mean.copy_(torch.randn(out, generator=_gen))
                bn.running_var.copy_(torch.rand(out, generator=_gen) + 0.5)
                bn.weight.copy_(torch.rand(out, generator=_gen) + 0.5)
                beta = torch.randn(out, generator=_gen) * 0.3
                beta[_dead_set(out)] = -1000.0
                bn.bias.copy_(beta)
            block.append(bn)
        else:
            _fill(lin, width, _dead_set(out))
        block.append({"relu": nn.ReLU(), "relu_inplace": nn.ReLU(inplace=True),
                      "leaky": nn.LeakyReLU(0.1), "tanh": nn.Tanh()}[kind])
        if _py.random() < 0.3:
            block.append(nn.Dropout(0.5))
        layers.append(nn.Sequential(*block) if _py.random() < 0.4 else block)
        width = out
    head = nn.Linear(width, 1)
    _fill(head, width, [])
    flat = []
    for item in layers:
        flat += [item] if isinstance(item, nn.Module) else item
    return nn.Sequential(*flat, head), torch.randn(_py.randint(1, 40), d_in, generator=_gen) * _py.choice([0.5, 1.0, 3.0])


def _random_cnn():
    c_in, c1, c2 = _py.randint(1, 3), _py.randint(2, 6), _py.randint(2, 6)
    size = _py.randint(4, 7)
    conv1, conv2 = nn.Conv2d(c_in, c1, 3, padding=1), nn.Conv2d(c1, c2, 3)
    lin = nn.Linear(c2 * (size - 2) ** 2, 5)
    _fill(conv1, c_in * 9, _dead_set(c1))
    _fill(conv2, c1 * 9, _dead_set(c2))
    _fill(lin, c2 * (size - 2) ** 2, _dead_set(5))
    head = nn.Linear(5, 2)
    _fill(head, 5, [])
    model = nn.Sequential(conv1, nn.ReLU(), nn.Sequential(conv2, nn.ReLU()), nn.Flatten(), lin, nn.ReLU(), head)
    return model, torch.randn(_py.randint(1, 6), c_in, size, size, generator=_gen)


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


_n_relu_models = 0
for _case in range(14):
    with torch.random.fork_rng(devices=[]):  # module construction must not disturb the global RNG
        _model, _x = _random_cnn() if _case % 3 == 2 else _random_mlp()
    for _m in _model.modules():
        _m.training = _py.random() < 0.5
    _expected = _ref_dead(_model, _x)
    _n_relu_models += any(isinstance(_m, nn.ReLU) for _m in _model.modules())
    _modes = [_m.training for _m in _model.modules()]
    _before = _state(_model)
    _seen = []
    _sentinel = _model.register_forward_pre_hook(lambda mod, inp: _seen.append(torch.is_grad_enabled()))
    _sentinel2 = _model[-1].register_forward_hook(lambda mod, inp, out: None)
    _hooks = [(dict(_m._forward_hooks).keys(), dict(_m._forward_pre_hooks).keys()) for _m in _model.modules()]
    _global_hooks = len(torch.nn.modules.module._global_forward_hooks)
    _layers = [type(_m).__name__ for _m in _model.modules() if not list(_m.children())]
    _what = f"dead_relu_fraction on a model ({' → '.join(_layers)}) with x of shape {tuple(_x.shape)}"
    _got = dead_relu_fraction(_model, _x.clone())
    T.assert_type(_got, float, name=_what)
    T.assert_close(_got, _expected, atol=1e-12, rtol=0.0, name=_what)
    assert _seen == [False], f"{_what}: the model must run once, under torch.no_grad() (ran {len(_seen)} times)"
    assert torch.is_grad_enabled(), "gradient mode must be on again afterwards"
    assert [_m.training for _m in _model.modules()] == _modes, f"{_what}: restore each submodule's training flag"
    assert [(dict(_m._forward_hooks).keys(), dict(_m._forward_pre_hooks).keys()) for _m in _model.modules()] == _hooks, \
        f"{_what}: remove your hooks afterwards and leave the others alone"
    assert len(torch.nn.modules.module._global_forward_hooks) == _global_hooks, "remove global hooks afterwards"
    _after = _state(_model)
    for _k, _v in _before.items():
        assert torch.equal(_v, _after[_k]), f"{_what}: {_k} changed (evaluate in eval mode, under no_grad)"
    _sentinel.remove()
    _sentinel2.remove()
assert _n_relu_models >= 8, "the hidden tests should mostly use models with ReLUs"
### END HIDDEN TESTS
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
# ## Part 4 — Vanishing gradients (2 points)
#
# In a deep network $h_l = f(h_{l-1} W_l)$, backpropagation multiplies the gradient, once per layer, by the
# layer's weights and by the activation's derivative $f'(z_l)$. The gradient reaching the first layer has
# gone through all of these factors. The sigmoid's derivative is at most $1/4$ (Part 1's figure), so with
# weights of moderate size the gradient shrinks geometrically with depth, and the first layers barely learn:
# the **vanishing gradient** problem. tanh's derivative reaches 1 at 0, ReLU's is exactly 1 for every active
# unit, so they lose much less.
#
# ### (a) Measure it
#
# Write `gradient_norm_ratio(activation, depth, width, seed, batch=64)` that builds exactly this network and
# returns $\lVert \partial L / \partial W_1 \rVert \,/\, \lVert \partial L / \partial W_{\text{depth}} \rVert$
# (Frobenius norms, `tensor.norm()`), the first hidden layer's gradient relative to the last one's:
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
# 7. One `L.backward()` (autograd is fine here), then return the ratio of the two gradient norms as a Python
#    `float`.
#
# `activation` is `"sigmoid"`, `"tanh"` or `"relu"` (use `torch.sigmoid`, `torch.tanh`, `torch.relu`); raise
# `ValueError` for any other name. With `depth = 1` the first layer is the last one and the ratio is 1.

# %% nbgrader={"grade": false, "grade_id": "gradient_ratio", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gradient_norm_ratio(activation: str, depth: int, width: int, seed: int, batch: int = 64) -> float:
    """||dL/dW_1|| / ||dL/dW_depth|| for the deep network described above (a Python float)."""
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
    return float(weights[0].grad.norm() / weights[-1].grad.norm())
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
r = gradient_norm_ratio("sigmoid", depth=1, width=8, seed=0)
assert type(r) is float, f"gradient_norm_ratio should return a Python float, got {type(r).__name__}"
assert r == 1.0, f"with depth = 1 the first layer is the last one, so the ratio must be 1.0, got {r}"
assert gradient_norm_ratio("relu", 6, 16, seed=3) == gradient_norm_ratio("relu", 6, 16, seed=3), \
    "the same arguments must give the same result (draw everything from your own generator)"
assert gradient_norm_ratio("tanh", 6, 16, seed=3) != gradient_norm_ratio("tanh", 6, 16, seed=4), \
    "another seed must give another network"
deep_sigmoid, deep_relu = gradient_norm_ratio("sigmoid", 10, 32, seed=0), gradient_norm_ratio("relu", 10, 32, seed=0)
assert 0.0 < deep_sigmoid < 1e-3, f"10 sigmoid layers: the first layer's gradient should be tiny (< 1e-3 of the last's), got {deep_sigmoid:.3g}"
assert 0.05 < deep_relu < 20.0, f"10 ReLU layers: the ratio should be of order 1, got {deep_relu:.3g}"
try:
    gradient_norm_ratio("softmax", 3, 8, seed=0)
except ValueError:
    pass
else:
    raise AssertionError("an unknown activation name should raise ValueError")

assert type(sigmoid_bound_depth10) in (int, float), "sigmoid_bound_depth10 should be a Python number"
assert 0.0 < sigmoid_bound_depth10 < 1.0, "a product of sigmoid derivatives lies between 0 and 1"
assert type(sigmoid_depth_below_1e6) is int and sigmoid_depth_below_1e6 >= 1, "sigmoid_depth_below_1e6 should be a positive int"
### BEGIN HIDDEN TESTS
from course_grading import testing as T


def _ref_ratio(activation, depth, width, seed, batch=64):
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, width, generator=gen, dtype=torch.float64)
    y = torch.randn(batch, 1, generator=gen, dtype=torch.float64)
    ws = [(torch.randn(width, width, generator=gen, dtype=torch.float64) / math.sqrt(width)).requires_grad_()
          for _ in range(depth)]
    w_out = torch.randn(width, 1, generator=gen, dtype=torch.float64) / math.sqrt(width)
    h = x
    for w in ws:
        h = f(h @ w)
    ((h @ w_out - y) ** 2).mean().backward()
    last = ws[-1].grad.norm().item()
    return ws[0].grad.norm().item() / last if last > 0 else None  # None: a degenerate (all-dead) network


_py = T.py_rng(3401)
_case = 0
while _case < 12:
    _act = ("sigmoid", "tanh", "relu")[_case % 3]
    _depth, _width, _seed = _py.randint(1, 12), _py.randint(4, 40), _py.randint(0, 10 ** 6)
    _kwargs = {"batch": _py.randint(8, 50)} if _case % 4 == 3 else {}
    _expected = _ref_ratio(_act, _depth, _width, _seed, **_kwargs)
    if _expected is None:
        continue
    _case += 1
    with torch.random.fork_rng(devices=[]):  # the result must not depend on the global RNG
        torch.manual_seed(_py.randint(0, 10 ** 6))
        _got = gradient_norm_ratio(_act, _depth, _width, _seed, **_kwargs)
    _what = f"gradient_norm_ratio({_act!r}, depth={_depth}, width={_width}, seed={_seed}" + \
        (f", batch={_kwargs['batch']})" if _kwargs else ")")
    T.assert_type(_got, float, name=_what)
    T.assert_close(_got, _expected, atol=0.0, rtol=1e-6, name=_what)
for _name in ("elu", "Sigmoid", ""):
    try:
        gradient_norm_ratio(_name, 2, 4, seed=0)
    except ValueError:
        continue
    raise AssertionError(f"gradient_norm_ratio({_name!r}, ...) should raise ValueError")

T.assert_close(sigmoid_bound_depth10, 0.25 ** 10, atol=0.0, rtol=1e-9, name="sigmoid_bound_depth10")
assert sigmoid_depth_below_1e6 == 10, f"sigmoid_depth_below_1e6 = {sigmoid_depth_below_1e6} is not right"
### END HIDDEN TESTS
print("✓ Part 4: gradient_norm_ratio and the bounds pass the tests")

# %% [markdown]
# The ratio against depth for the three activations (ungraded, one seed, so the curves are a bit noisy). With
# sigmoid it falls geometrically, by about a factor of 4 per layer, roughly along $0.25^{\,\text{depth} - 1}$
# (dotted): $\text{depth} - 1$ sigmoid derivatives separate $W_1$'s gradient from $W_{\text{depth}}$'s (the
# weights and the sizes of the activations contribute too, so this is a guide, not a bound). With tanh and ReLU
# the ratio stays of order 1 at these depths: the first layers learn about as fast as the last.

# %%
try:
    depths = list(range(1, 15))
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in ("sigmoid", "tanh", "relu"):
        ratios = [gradient_norm_ratio(name, d, 32, seed=0) for d in depths]
        ax.semilogy(depths, ratios, marker="o", markersize=4, label=name)
    ax.semilogy(depths, [0.25 ** (d - 1) for d in depths], "k:", label="0.25^(depth − 1)")
    ax.set_xlabel("depth (number of hidden layers)")
    ax.set_ylabel("‖∂L/∂W₁‖ / ‖∂L/∂W_depth‖")
    ax.set_title("Vanishing gradients: width 32, weights N(0, 1/width), seed 0")
    ax.legend()
    plt.show()
except NotImplementedError:
    print("Implement Part 4 first.")
