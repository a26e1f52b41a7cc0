# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lecture 03 — Activation functions
#
# A neural network alternates linear layers $z = Wx + b$ with **activation functions** $a = f(z)$, applied to
# every component separately. The linear layers hold the parameters; the activations are what make the whole
# network more than one big linear map. Which $f$ we pick decides how easily gradients flow back through many
# layers, how fast a layer is to compute, and what range of values a layer can output.
#
# **Plan**
# 1. Why a network needs a nonlinearity at all.
# 2. The catalogue: sigmoid, tanh, ReLU, Leaky ReLU, PReLU, ELU, Softplus, Maxout. Formula, range,
#    derivative, a plot of each with its derivative (autograd checked against the formula), and a widget to
#    explore them.
# 3. What goes wrong: **saturation and vanishing gradients**, **zero-centring**, the **cost of `exp`**
#    (measured), **dead ReLUs**.
# 4. Output layers: **softmax** and its numerically stable version. Why recurrent networks keep **bounded**
#    activations.
# 5. Experiments on real data: per-layer gradient norms in a 15-layer network on an MNIST batch; Xavier and
#    Kaiming initialisation derived, and measured through 30 layers; dead ReLUs counted in a trained MNIST
#    network; the same deep MLP trained on Fashion-MNIST with five activations.
# 6. How to choose.

# %%
import math
import time
from functools import partial

import matplotlib.pyplot as plt
import torch
from ipywidgets import Dropdown, FloatSlider
from torch import nn
from torch.nn import functional as F

from course_utils import (TensorLoader, choose_device, explore, fit, image_tensors, load_fashion_mnist, load_mnist,
                          seed_everything)

choice = choose_device()
print(choice.summary())
device = choice.device
_ = seed_everything(0)


def sync():
    """Wait for queued GPU work to finish, so that wall-clock timings measure the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize()
    elif device.type == "mps":
        torch.mps.synchronize()

# %% [markdown]
# ## 1. Why a nonlinearity?
#
# Two linear layers in a row are still one linear layer: $W_2(W_1x) = (W_2W_1)\,x$. However many we stack,
# the network can only draw straight decision boundaries, and it cannot even compute XOR (Lecture 01). An
# activation between the layers breaks the collapse:
# $W_2\,f(W_1x)$ is no longer linear in $x$, and stacks of such blocks can approximate any reasonable function.

# %%
g = torch.Generator().manual_seed(0)
W1, W2, x = torch.randn(50, 10, generator=g), torch.randn(3, 50, generator=g), torch.randn(10, generator=g)
print(f"max |W2(W1 x) - (W2 W1) x|        = {(W2 @ (W1 @ x) - (W2 @ W1) @ x).abs().max():.1e}   (one linear map)")
with_relu = W2 @ torch.relu(W1 @ x)
print(f"max |W2 relu(W1 x) - (W2 W1) x|   = {(with_relu - (W2 @ W1) @ x).abs().max():.1f}   (not any more)")

# %% [markdown]
# ## 2. The catalogue
#
# | activation | formula | range | derivative |
# |---|---|---|---|
# | sigmoid | $\sigma(x) = \dfrac{1}{1+e^{-x}}$ | $(0, 1)$ | $\sigma'(x) = \sigma(x)\,(1-\sigma(x)) \le \tfrac14$ |
# | tanh | $\tanh x = \dfrac{e^x-e^{-x}}{e^x+e^{-x}} = 2\sigma(2x)-1$ | $(-1, 1)$ | $\tanh' x = 1-\tanh^2 x \le 1$ |
# | ReLU | $\max(0, x)$ | $[0, \infty)$ | $1$ for $x>0$, $0$ for $x<0$ |
# | Leaky ReLU | $\max(\alpha x, x)$, fixed $0<\alpha\ll 1$ | $(-\infty, \infty)$ | $1$ for $x>0$, $\alpha$ for $x<0$ |
# | PReLU | $\max(\alpha x, x)$, $\alpha$ **learned** | $(-\infty, \infty)$ | as Leaky ReLU; $\partial f/\partial\alpha = \min(0, x)$ |
# | ELU | $x$ for $x \ge 0$, $\ \alpha(e^x-1)$ for $x<0$ | $(-\alpha, \infty)$ | $1$ for $x>0$, $\alpha e^x = f(x)+\alpha$ for $x<0$ |
# | Softplus | $\log(1+e^x)$ | $(0, \infty)$ | $\sigma(x)$ |
# | Maxout | $\max_j\,(w_j^\top x + b_j)$ over $k$ learned linear pieces | depends on the pieces | $w_{j^*}$ of the winning piece $j^*$ |
#
# A few remarks before the pictures:
#
# * **Sigmoid** squashes any number into $(0, 1)$, so its output reads as a probability (it is logistic
#   regression's link function, and a neuron's "firing rate"). Its derivative has the neat form
#   $\sigma(1-\sigma)$: the backward pass reuses the forward output and never recomputes the exponential.
# * **tanh** is a sigmoid rescaled to $(-1, 1)$ and centred on zero. Its derivative $1-\tanh^2$ again reuses the output.
# * **ReLU** has no tails on the right: its derivative is exactly 1 for every positive input, and computing it
#   needs only a comparison. At $x = 0$ it has no derivative; we simply *define* one (PyTorch uses 0). The notes
#   say it plainly: we need a gradient at every point, not a smooth function.
# * **Leaky ReLU** keeps a small slope $\alpha$ (the notes use $\alpha = 0.1$; PyTorch's default is $\alpha = 0.01$) for
#   negative inputs, so the gradient is never exactly zero and the output is a little closer to centred.
#   **PReLU** is the same function, but $\alpha$ is a *parameter* the network learns by gradient descent,
#   one per layer or one per channel.
# * **ELU** replaces the negative half by a smooth exponential that levels off at $-\alpha$: outputs closer to
#   zero mean, no dead zone, but an `exp` to compute.
# * **Softplus** is a smooth ReLU; its derivative is exactly the sigmoid, and it is positive everywhere. The notes
#   say that Softplus fixes ReLU by defining the derivative at zero; that is not its point: ReLU's missing
#   derivative at the single point 0 is fixed by a convention (below), while Softplus changes the function
#   everywhere, so that its gradient $\sigma(x)$ never becomes exactly 0 (at the price of an `exp` and a `log`).
# * **Maxout** is not a fixed function: each unit computes $k$ linear functions of its input and keeps the
#   largest. With the pieces $(0, x)$ it *is* ReLU, with $(\alpha x, x)$ Leaky ReLU; in general it learns a
#   convex piecewise-linear shape, at the price of $k$ times the parameters. Below we plot one unit with a
#   scalar input and three fixed pieces.
#
# Every row of the table goes into code: PyTorch's implementation for $f$ (so that autograd differentiates
# exactly what a network would use) and the analytic derivative from the table, written out by hand.

# %%
MAXOUT_SLOPES = torch.tensor([-0.5, 0.3, 1.5], dtype=torch.float64)   # three pieces w_j x + b_j of one unit
MAXOUT_BIASES = torch.tensor([-1.0, 0.0, -1.5], dtype=torch.float64)


def maxout_1d(x):
    return (x[..., None] * MAXOUT_SLOPES + MAXOUT_BIASES).amax(dim=-1)


# name -> (f(x, alpha), analytic f'(x, alpha), range, default alpha or None)
CATALOGUE = {
    "sigmoid": (lambda x, a: torch.sigmoid(x),
                lambda x, a: torch.sigmoid(x) * (1 - torch.sigmoid(x)), "(0, 1)", None),
    "tanh": (lambda x, a: torch.tanh(x),
             lambda x, a: 1 - torch.tanh(x) ** 2, "(-1, 1)", None),
    "ReLU": (lambda x, a: F.relu(x),
             lambda x, a: (x > 0).to(x.dtype), "[0, inf)", None),
    "Leaky ReLU": (lambda x, a: F.leaky_relu(x, a),
                   lambda x, a: torch.where(x > 0, 1.0, torch.full_like(x, a)), "(-inf, inf)", 0.1),
    "PReLU": (lambda x, a: F.prelu(x, torch.tensor([a], dtype=x.dtype)),
              lambda x, a: torch.where(x > 0, 1.0, torch.full_like(x, a)), "(-inf, inf)", 0.25),
    "ELU": (lambda x, a: F.elu(x, a),
            lambda x, a: torch.where(x > 0, 1.0, a * torch.exp(x)), "(-alpha, inf)", 1.0),
    "Softplus": (lambda x, a: F.softplus(x),
                 lambda x, a: torch.sigmoid(x), "(0, inf)", None),
    "Maxout": (lambda x, a: maxout_1d(x),
               lambda x, a: MAXOUT_SLOPES[(x[..., None] * MAXOUT_SLOPES + MAXOUT_BIASES).argmax(dim=-1)],
               "depends on the pieces", None),
}


def autograd_derivative(f, x):
    """Elementwise f'(x) by autograd: for an elementwise f, the gradient of sum(f(x)) is f'(x)."""
    x = x.detach().clone().requires_grad_(True)
    (dx,) = torch.autograd.grad(f(x).sum(), x)
    return dx


# 1000 points in float64, and none exactly at the kinks (x = 0, and Maxout's -1.25 and 1.25)
xs = torch.linspace(-5, 5, 1000, dtype=torch.float64)
fig, axes = plt.subplots(2, 4, figsize=(14, 6.2), sharex=True)
print(f"{'activation':<11} {'range':>22} {'f on [-5, 5]':>17} {'f′ on [-5, 5]':>16} "
      f"{'max |autograd − formula|':>25}")
for ax, (name, (f, df, value_range, alpha)) in zip(axes.flat, CATALOGUE.items()):
    fx = f(xs, alpha)
    by_autograd, by_formula = autograd_derivative(lambda t: f(t, alpha), xs), df(xs, alpha)  # noqa: B023 (called at once)
    gap = (by_autograd - by_formula).abs().max().item()
    print(f"{name:<11} {value_range:>22} [{fx.min():6.2f}, {fx.max():5.2f}] [{by_formula.min():5.2f}, "
          f"{by_formula.max():5.2f}] {gap:>25.1e}")
    assert gap < 1e-12, f"{name}: the formula disagrees with autograd"
    ax.plot(xs, fx, lw=2.5, label="$f(x)$")
    ax.plot(xs, by_autograd, lw=5, alpha=0.35, color="tab:orange", label="$f'(x)$, autograd")
    ax.plot(xs, by_formula, "k--", lw=1.2, label="$f'(x)$, formula")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    ax.set_title(name + (f" (α = {alpha})" if alpha is not None else ""))
    ax.set_ylim(-1.6, 3.2)
    ax.grid(alpha=0.3)
axes[0, 0].legend(fontsize=8, loc="upper left")
for ax in axes[1]:
    ax.set_xlabel("x")
fig.suptitle("Each activation (blue) and its derivative: autograd (thick orange) and the analytic formula (dashed)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The dashed formula sits exactly on the orange autograd curve in every panel, and the printed gaps are at
# the level of float64 rounding ($\sim 10^{-16}$) or exactly zero (the cell asserts that they are below
# $10^{-12}$): the derivatives in the table are right.
#
# At a kink (ReLU, Leaky ReLU, PReLU, ELU at $x = 0$) there is no derivative, and a framework has to pick one.
# Here is what PyTorch picks:

# %%
zero = torch.zeros(1, dtype=torch.float64)
for name in ["ReLU", "Leaky ReLU", "PReLU", "ELU"]:
    f, _, _, alpha = CATALOGUE[name]
    print(f"{name:<10} f'(0) by autograd = {autograd_derivative(lambda t: f(t, alpha), zero).item():g}")  # noqa: B023 (called at once)

# %% [markdown]
# A single point never matters in practice: a float input is almost never exactly 0.
#
# ### PReLU learns its slope; Maxout contains ReLU
#
# In `nn.PReLU`, $\alpha$ is an `nn.Parameter` (initialised to $\alpha = 0.25$) and receives a gradient like any weight:
# $\partial f/\partial\alpha = x$ for $x<0$ and $0$ otherwise. For the inputs below, the gradient of the sum of
# the outputs is $-2 + (-1) = -3$.

# %%
prelu = nn.PReLU()
x = torch.tensor([-2.0, -1.0, 0.5, 3.0])
prelu(x).sum().backward()
print(f"PReLU parameters: {[tuple(p.shape) for p in prelu.parameters()]}, alpha = {prelu.weight.item()}")
print(f"output {prelu(x).detach().tolist()}, d(sum of outputs)/d alpha = {prelu.weight.grad.item()}")


# %% [markdown]
# A Maxout layer with $k$ pieces is a linear layer with $k$ times as many outputs followed by a max over each
# group of $k$. Setting one of the two pieces to zero turns it into ReLU exactly:

# %%
class Maxout(nn.Module):
    """`out_features` units; each keeps the largest of its k linear pieces w_j·x + b_j."""

    def __init__(self, in_features, out_features, k=2):
        super().__init__()
        self.k = k
        self.linear = nn.Linear(in_features, out_features * k)

    def forward(self, x):
        return self.linear(x).unflatten(-1, (-1, self.k)).amax(dim=-1)


torch.manual_seed(0)
maxout = Maxout(20, 8, k=2)
with torch.no_grad():  # piece 0 of every unit is the constant 0, piece 1 is a normal linear map
    maxout.linear.weight.view(8, 2, 20)[:, 0] = 0
    maxout.linear.bias.view(8, 2)[:, 0] = 0
    as_linear = nn.Linear(20, 8)
    as_linear.weight.copy_(maxout.linear.weight.view(8, 2, 20)[:, 1])
    as_linear.bias.copy_(maxout.linear.bias.view(8, 2)[:, 1])
    x = torch.randn(5, 20)
    print(f"max |Maxout(x) - ReLU(Linear(x))| = {(maxout(x) - F.relu(as_linear(x))).abs().max():.1e}")
print(f"parameters: Maxout(20 -> 8, k=2) {sum(p.numel() for p in maxout.parameters())}, "
      f"Linear(20 -> 8) {sum(p.numel() for p in as_linear.parameters())}")

# %% [markdown]
# ### Explore
#
# Pick an activation and move $\alpha$. The slider is the slope for negative inputs of Leaky ReLU and PReLU
# (for PReLU: the value it starts from before training), and the saturation level $-\alpha$ of ELU; the other
# activations ignore it. The derivative comes from autograd. Executed without a live Jupyter server, the
# notebook shows the default: ELU with $\alpha = 1$.

# %%
def draw_activation(activation, alpha):
    f, _, value_range, default_alpha = CATALOGUE[activation]
    x = torch.linspace(-5, 5, 1000, dtype=torch.float64)
    fx, dfx = f(x, alpha), autograd_derivative(lambda t: f(t, alpha), x)
    fig, ax = plt.subplots(figsize=(7, 3.8))
    ax.plot(x, fx, lw=2.5, label=f"{activation}(x)")
    ax.plot(x, dfx, lw=2, label="derivative (autograd)")
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    uses_alpha = default_alpha is not None
    ax.set(xlabel="x", ylim=(-2.2, 4), title=f"{activation}" + (f", α = {alpha:.2f}" if uses_alpha else "")
           + f"   range {value_range}   f′ in [{dfx.min():.2f}, {dfx.max():.2f}]")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left")
    plt.show()


explore(draw_activation,
        activation=Dropdown(options=list(CATALOGUE), value="ELU", description="activation"),
        alpha=FloatSlider(value=1.0, min=0.0, max=2.0, step=0.05, description="α"))

# %% [markdown]
# ## 3. What goes wrong, and why
#
# ### 3.1 Saturation and vanishing gradients
#
# Sigmoid and tanh have flat **tails**: for large $|x|$ the output barely changes, so the derivative is almost
# zero. A unit whose input sits in a tail is **saturated**. Backpropagation *multiplies* local derivatives
# along the chain (Lecture 02), so one near-zero factor wipes out the gradient for everything below it.
#
# Even at its best the sigmoid shrinks gradients: $\sigma'(x) = \sigma(1-\sigma) \le \tfrac14$, reached at
# $x = 0$. Going down through $n$ sigmoid layers, the gradient picks up a factor $\sigma'(z_l)$ per layer
# (times the weights, which for a well-scaled layer keep the signal's size roughly constant), so in the best
# case it shrinks like $(1/4)^n$. This is the **vanishing gradient** problem. ReLU's derivative is exactly 1 for
# positive inputs: no shrinking on that side.

# %%
d_sigmoid = lambda t: torch.sigmoid(t) * (1 - torch.sigmoid(t))
d_tanh = lambda t: 1 - torch.tanh(t) ** 2
print(f"{'x':>5} {'sigmoid′(x)':>12} {'tanh′(x)':>10} {'ReLU′(x)':>9}")
for value in [0.0, 1.0, 2.0, 5.0, 10.0]:
    t = torch.tensor(value, dtype=torch.float64)
    print(f"{value:>5g} {d_sigmoid(t):>12.2e} {d_tanh(t):>10.2e} {float(value > 0):>9g}")
print("\nbest case through n sigmoid layers: (1/4)^n")
for n in [1, 5, 10, 15, 20]:
    print(f"  n = {n:>2}: {0.25 ** n:.1e}")

# %% [markdown]
# Fifteen sigmoid layers can shrink the gradient by a factor of a billion even when no unit is saturated.
# tanh is better ($\tanh'(0) = 1$), but it saturates just as badly in its tails ($\tanh'(5) \approx 2\cdot10^{-4}$).
# Section 5.1 measures all of this in a real network.
#
# ### 3.2 Zero-centring
#
# A unit computes $z = \sum_i w_i x_i + b$, and the gradient on its weights is
# $\partial L/\partial w_i = \delta\, x_i$ with the same scalar $\delta = \partial L/\partial z$ for every $i$.
# If the inputs $x_i$ come from a sigmoid (or ReLU) layer, they are **all positive**, so all the
# $\partial L/\partial w_i$ have the sign of $\delta$: on each example, **all weights of the unit go up
# together or down together**. If the unit needs some weights to grow and others to shrink, it can only get
# there by a **zig-zag** of such all-up and all-down steps. With zero-centred inputs (from tanh, say) the signs
# are mixed and the steps can point anywhere.
#
# A two-weight example: one linear unit learns $w^* = (1, -1)$ from inputs $x = \sigma(z)$ (positive, like a
# sigmoid layer's output) or $x = \tanh(z)$ (zero-centred), the same $z \sim \mathcal N(0, I)$, the target
# $y = w^{*\top}x$, squared loss, one example per SGD step, learning rate 1, starting at $w = (0, 0)$.

# %%
g = torch.Generator().manual_seed(0)
z = torch.randn(100, 2, generator=g)
w_star = torch.tensor([1.0, -1.0])
fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True, sharey=True)
print(f"{'inputs':<22} {'steps with both updates of one sign':>36} {'path length':>12} "
      f"{'steps until |w − w*| < 0.1':>27}")
input_sets = [("sigmoid(z), positive", torch.sigmoid(z)), ("tanh(z), zero-centred", torch.tanh(z))]
path_lengths, steps_needed = {}, {}
for ax, (name, inputs) in zip(axes, input_sets):
    w, path, same_sign = torch.zeros(2), [torch.zeros(2)], 0
    for xi in inputs:
        step = -1.0 * (w @ xi - w_star @ xi) * xi      # -lr · dL/dw for L = (w·x - y)² / 2
        same_sign += bool(step[0] * step[1] > 0)
        w = w + step
        path.append(w)
    path = torch.stack(path)
    length = (path[1:] - path[:-1]).norm(dim=1).sum().item()
    close = ((path - w_star).norm(dim=1) < 0.1).nonzero()
    path_lengths[name], steps_needed[name] = length, close[0].item() if len(close) else len(inputs) + 1
    print(f"{name:<22} {same_sign:>32}/{len(inputs)} {length:>12.2f} {close[0].item() if len(close) else '> 100':>27}")
    ax.plot(path[:, 0], path[:, 1], ".-", ms=4, lw=1)
    ax.plot(*w_star, "r*", ms=14, label="$w^*$")
    ax.plot(0, 0, "ks", label="start")
    ax.set(title=f"inputs {name}", xlabel="$w_1$", aspect="equal")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("$w_2$")
axes[0].legend()
fig.tight_layout()
plt.show()
print(f"straight-line distance from start to w*: {w_star.norm():.2f}")
positive, centred = (name for name, _ in input_sets)
assert path_lengths[positive] > path_lengths[centred] and steps_needed[positive] > 3 * steps_needed[centred]

# %% [markdown]
# With positive inputs every single step moves both weights the same way (the path only runs along
# "up-right" or "down-left" segments), so the weights saw-tooth towards $(1, -1)$: a much longer path and
# several times more steps than with centred inputs. A network is a cascade of linear models, and linear models
# like centred, normalised inputs; that is the case for tanh over sigmoid in hidden layers, for normalising
# the data, and later for batch normalisation. (A mini-batch averages $\delta x$ over examples whose $\delta$
# may differ in sign, which softens the effect, but the bias towards same-sign updates remains.)
#
# ### 3.3 The cost of `exp`
#
# Sigmoid, tanh, ELU and Softplus need an exponential; ReLU needs a comparison. How much does that cost? We
# time each activation's forward pass on a tensor of 4 million numbers (best of 15 runs, on one CPU thread so
# that other programs on the machine disturb the timing less; on a GPU the device does the work). For scale, the
# last line times the matrix product that produces a hidden layer's input: a $512\times1024$ batch times a
# $1024\times1024$ weight matrix, whose $512\times1024$ output is what the activation would then be applied to.

# %%
def best_time(fn, repeat=15):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        sync()
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


threads = torch.get_num_threads()
torch.set_num_threads(1)
big = torch.randn(2 ** 22, device=device)
timed = {"ReLU": F.relu, "Leaky ReLU": lambda t: F.leaky_relu(t, 0.1), "sigmoid": torch.sigmoid,
         "tanh": torch.tanh, "ELU": F.elu, "Softplus": F.softplus, "exp alone": torch.exp}
seconds = {name: best_time(lambda: fn(big)) for name, fn in timed.items()}  # noqa: B023, F821 (called at once, before the del below)
batch, weight = torch.randn(512, 1024, device=device), torch.randn(1024, 1024, device=device)
hidden = batch @ weight
matmul_s, relu_small_s = best_time(lambda: batch @ weight, repeat=5), best_time(lambda: F.relu(hidden))  # noqa: F821 (called before the del below)
sigmoid_small_s = best_time(lambda: torch.sigmoid(hidden))  # noqa: F821 (called before the del below)
torch.set_num_threads(threads)

print(f"{'forward on 4,194,304 numbers':<30} {'time':>9} {'ns/number':>10} {'vs ReLU':>8}")
for name, s in seconds.items():
    print(f"{name:<30} {s * 1e3:>7.2f}ms {s / big.numel() * 1e9:>10.2f} {s / seconds['ReLU']:>7.1f}×")
print(f"\none hidden layer, 512 × 1024 outputs: matmul {matmul_s * 1e3:.2f} ms, then ReLU {relu_small_s * 1e3:.3f} ms "
      f"or sigmoid {sigmoid_small_s * 1e3:.3f} ms (sigmoid = {sigmoid_small_s / matmul_s:.1%} of the matmul)")
del big, batch, weight, hidden

# %% [markdown]
# Read the printed ratios with care; they depend on the hardware and the library. On a CPU, ReLU and Leaky
# ReLU are typically the fastest and activations with an `exp` cost more, sometimes much more (PyTorch's
# CPU kernels for ELU and Softplus are far less optimised than those for sigmoid and tanh, which use
# vectorised math routines). On a GPU, all of these are limited by memory traffic, not arithmetic, and the
# differences mostly disappear. The last line gives the bigger picture: the matrix product before the
# activation does 1024 multiply-adds for every output number, the activation one function call, so even an
# expensive activation is a small share of a layer's time. Finally, the backward pass needs no new `exp`:
# $\sigma' = \sigma(1-\sigma)$ and $\tanh' = 1-\tanh^2$ are computed from the stored forward output (that is
# how PyTorch does it), and ELU's derivative could be too, as $f(x)+\alpha$. The notes say the exponential must
# be computed in both passes; the derivative formulas show why it need not be.
#
# ### 3.4 Dead ReLUs
#
# ReLU's flat left half has derivative 0. A unit whose pre-activation $z$ is negative for **every** input
# outputs 0 for all of them, and receives a zero gradient for all of them: nothing ever changes its weights
# again. It is **dead**. Units typically die when one large update (too large a learning rate) pushes their
# weights and bias to where no input can switch them on. Leaky ReLU, PReLU and ELU have a non-zero slope on
# the left and cannot die this way. Section 5.3 counts dead units in a trained network.
#
# ## 4. Outputs: softmax, and bounded activations in RNNs
#
# ### 4.1 Softmax for classification
#
# The activations above act on each number separately. The **output** of a classifier is different: the last
# layer produces one score (logit) $z_k$ per class, and **softmax** turns the vector of scores into
# probabilities that are positive and sum to 1:
#
# $$\operatorname{softmax}(z)_k = \frac{e^{z_k}}{\sum_{j=1}^{K} e^{z_j}} .$$
#
# With two classes and logits $(z, 0)$ it is exactly the sigmoid: $e^z/(e^z + 1) = \sigma(z)$. Written naively
# it breaks for large scores: $e^{1000}$ overflows to `inf` (float32 overflows already above $e^{88.7}$), and
# `inf / inf` is `nan`. Very negative scores underflow to 0, and `0 / 0` is also `nan`. The fix uses the fact
# that softmax does not change when the same constant is subtracted from all scores,
# $\frac{e^{z_k - c}}{\sum_j e^{z_j - c}} = \frac{e^{z_k}}{\sum_j e^{z_j}}$. With $c = \max_j z_j$ the largest
# exponent is $e^0 = 1$: nothing overflows, and the denominator is at least 1.

# %%
def softmax_naive(z):
    e = torch.exp(z)
    return e / e.sum(dim=-1, keepdim=True)


def softmax_stable(z):
    e = torch.exp(z - z.max(dim=-1, keepdim=True).values)
    return e / e.sum(dim=-1, keepdim=True)


for scores in ([1.0, 2.0, 3.0], [1000.0, 999.0, 998.0], [-1000.0, -1001.0, -1002.0]):
    z = torch.tensor(scores)
    print(f"z = {scores}")
    print(f"  exp(z)          = {torch.exp(z).tolist()}")
    print(f"  naive softmax   = {softmax_naive(z).tolist()}")
    print(f"  stable softmax  = {[round(p, 4) for p in softmax_stable(z).tolist()]}")
    print(f"  torch.softmax   = {[round(p, 4) for p in torch.softmax(z, dim=0).tolist()]}")
z = torch.tensor(1.7)
two_class = softmax_stable(torch.stack([z, torch.tensor(0.0)]))
print(f"\nsoftmax((z, 0))[0] = {two_class[0]:.6f},  sigmoid(z) = {torch.sigmoid(z):.6f}   (z = {z.item():g})")

# %% [markdown]
# The three score vectors differ only by a shift, so the stable softmax gives the same probabilities
# $(0.09, 0.24, 0.67)$ for all of them (reversed in order for the last two), while the naive one returns `nan`.
# In PyTorch the classifier usually has **no** softmax layer: `F.cross_entropy` takes the logits and computes
# $-\log \operatorname{softmax}(z)_y$ with the same max-subtraction trick (log-sum-exp), which is both
# stable and cheaper than taking the log of a softmax.
#
# ### 4.2 Why recurrent networks keep bounded activations
#
# A recurrent network (a network for sequences such as text or audio; this course does not cover them
# further) applies the *same* layer again and again along a sequence,
# $h_t = f(W h_{t-1} + U x_t)$, often hundreds of times. With an unbounded activation such as ReLU, any recurrent
# weight that amplifies the state is compounded at every step, and the state (and its gradients) grows
# geometrically until it overflows. A bounded activation keeps $h_t$ in a fixed box whatever happens, which
# is why the notes single out tanh (and sigmoid for the gates that must lie in $(0, 1)$) for recurrent
# networks, and why the ReLU family is rarely used there. The recurrence $h_t = f(1.5\,h_{t-1} + 0.5)$ from
# $h_0 = 0$ shows it:

# %%
for name, f in [("ReLU", torch.relu), ("tanh", torch.tanh)]:
    h, trace = torch.tensor(0.0), {}
    for step in range(1, 51):
        h = f(1.5 * h + 0.5)
        if step in (1, 10, 20, 50):
            trace[step] = h.item()
    print(f"{name:<5}" + "".join(f"  h_{k} = {v:<10.4g}" for k, v in trace.items()))

# %% [markdown]
# ## 5. Experiments on real data
#
# All networks below are multilayer perceptrons on 28×28 images flattened to 784 numbers. We initialise the
# weights the standard way for each activation, with zero biases:
#
# * **Xavier (Glorot)** for sigmoid and tanh:
#   $W_{ij} \sim \mathcal N\big(0, \tfrac{2}{n_\text{in} + n_\text{out}}\big)$, chosen so that a tanh layer
#   near 0 (slope 1) keeps the variance of the signal roughly the same forward and backward;
# * **Kaiming (He)** for the ReLU family: $W_{ij} \sim \mathcal N\big(0, \tfrac{2}{n_\text{in}}\big)$, twice as much
#   variance, because ReLU zeroes half of its inputs.
#
# Section 5.2 derives both rules and measures what they do through 30 layers.

# %%
ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "ReLU": nn.ReLU, "Leaky ReLU": lambda: nn.LeakyReLU(0.1),
               "ELU": nn.ELU}


XAVIER = nn.init.xavier_normal_
KAIMING = partial(nn.init.kaiming_normal_, nonlinearity="relu")  # variance 2 / n_in ("fan_in")


def normal_init(std):
    """Weights drawn from N(0, std²), whatever the layer's size."""
    return partial(nn.init.normal_, mean=0.0, std=std)


def make_mlp(activation, depth, width, init=None):
    """784 → `depth` hidden layers of `width` units with `activation` → 10 logits, zero biases.

    Weights: `init(weight)`, by default Xavier for sigmoid/tanh and Kaiming for the ReLU family.
    """
    init = init or (XAVIER if activation in ("sigmoid", "tanh") else KAIMING)
    layers, n_in = [nn.Flatten()], 784
    for _ in range(depth):
        layers += [nn.Linear(n_in, width), ACTIVATIONS[activation]()]
        n_in = width
    layers.append(nn.Linear(n_in, 10))
    model = nn.Sequential(*layers)
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.zeros_(layer.bias)
            init(layer.weight)
    return model.to(device)


mnist_train, mnist_test = load_mnist(train=True), load_mnist(train=False)
x_mnist, y_mnist = image_tensors(mnist_train, limit=10_000)
x_mnist_test, y_mnist_test = image_tensors(mnist_test)
print(f"MNIST: {len(x_mnist):,} training images (a subset), {len(x_mnist_test):,} test images, "
      f"shape {tuple(x_mnist.shape[1:])}, standardised pixels (mean {x_mnist.mean():.2f}, std {x_mnist.std():.2f})")

# %% [markdown]
# ### 5.1 Gradient norms, layer by layer
#
# A 15-hidden-layer network, 128 units per layer, freshly initialised. One forward and one backward pass
# of the cross-entropy loss on a batch of 256 real MNIST images, then the norm
# $\lVert\partial L/\partial W_l\rVert$ of the gradient of every layer's weight matrix, from the first layer
# (next to the input) to the 16th (the output layer). Five set-ups: the three activations with their proper
# initialisation, and two **poor** initialisations: ReLU with $W_{ij} \sim \mathcal N(0, 1)$ (far too large)
# and tanh with $W_{ij} \sim \mathcal N(0, 0.01^2)$ (far too small).

# %%
SETUPS = {"sigmoid, Xavier": ("sigmoid", None), "tanh, Xavier": ("tanh", None), "ReLU, Kaiming": ("ReLU", None),
          "ReLU, N(0, 1)": ("ReLU", normal_init(1.0)), "tanh, N(0, 0.01²)": ("tanh", normal_init(0.01))}
xb, yb = x_mnist[:256].to(device), y_mnist[:256].to(device)
grad_norms, losses = {}, {}
for name, (activation, init) in SETUPS.items():
    _ = seed_everything(0)
    model = make_mlp(activation, depth=15, width=128, init=init)
    loss = F.cross_entropy(model(xb), yb)
    loss.backward()
    grad_norms[name] = [layer.weight.grad.norm().item() for layer in model if isinstance(layer, nn.Linear)]
    losses[name] = loss.item()

print(f"{'layer':>8}" + "".join(f"{name:>19}" for name in SETUPS))
for layer in range(16):
    print(f"{layer + 1:>8}" + "".join(f"{grad_norms[name][layer]:>19.2e}" for name in SETUPS))
print(f"{'loss':>8}" + "".join(f"{losses[name]:>19.3g}" for name in SETUPS))
print(f"{'1st/16th':>8}" + "".join(f"{grad_norms[name][0] / grad_norms[name][-1]:>19.1e}" for name in SETUPS)
      + "   <- first layer's gradient norm / last layer's")
print(f"(1/4)^15 = {0.25 ** 15:.1e}")
first_over_last = {name: norms[0] / norms[-1] for name, norms in grad_norms.items()}
print(f"sigmoid: on average the gradient norm shrinks by a factor {first_over_last['sigmoid, Xavier'] ** (1 / 15):.2f} "
      f"per layer on its way down (the bound: 1/4)")
# What the text below says, checked on this run:
assert 1e-11 < first_over_last["sigmoid, Xavier"] < 1e-7           # near (1/4)^15: vanishing
assert all(0.1 < first_over_last[name] < 10 for name in ("tanh, Xavier", "ReLU, Kaiming"))  # level
assert losses["ReLU, N(0, 1)"] > 1e6 and min(grad_norms["ReLU, N(0, 1)"]) > 1e6              # exploding
assert abs(losses["tanh, N(0, 0.01²)"] - math.log(10)) < 0.01 and max(grad_norms["tanh, N(0, 0.01²)"]) < 1e-10

fig, ax = plt.subplots(figsize=(9, 4.5))
for name, norms in grad_norms.items():
    ax.semilogy(range(1, 17), norms, marker="o", ms=4, ls="--" if "N(0" in name else "-", label=name)
ax.set(xlabel="layer (1 = next to the input, 16 = output layer)", ylabel=r"$\|\partial L/\partial W_l\|$",
       title="Gradient norm per layer at initialisation, 15 hidden layers, one MNIST batch")
ax.grid(alpha=0.3, which="both")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
plt.show()

# %% [markdown]
# Read the plot from right (output) to left (input), the direction in which the gradient travels:
#
# * **sigmoid**: the gradient shrinks in every layer, by close to the factor $\sigma' \le 1/4$ (the average
#   factor is printed above), and reaches the first layer near the $(1/4)^{15} \approx 10^{-9}$ we predicted.
#   The first layers of this network would essentially not learn.
# * **tanh** and **ReLU** with their proper initialisation keep the gradient at the same order of magnitude in
#   every layer: the signal neither vanishes nor explodes.
# * A poor initialisation ruins even a good activation. With $\mathcal N(0, 1)$ weights every ReLU layer
#   multiplies the signal's size by about $\sqrt{128/2} = 8$: the logits and the loss are astronomically large
#   and so are the gradients (**exploding** gradients). With $\mathcal N(0, 0.01^2)$ every layer *shrinks* the
#   signal by about $0.01\sqrt{128} \approx 0.11$, forward and backward: the output ignores the input, the loss
#   is $\log 10 \approx 2.30$ (uniform guessing) and the gradients are numerically nothing.
#
# ### 5.2 Where Xavier and Kaiming come from
#
# Why do those two initialisations keep the gradient level when $\mathcal N(0, 1)$ does not? Follow the variance
# of the signal through one layer $z = Wa$, $a' = f(z)$ with $n_\text{in}$ inputs. Draw the weights
# independently, with mean 0 and variance $v$, independently of the inputs. Each $z_i = \sum_j W_{ij}a_j$ is a
# sum of $n_\text{in}$ independent zero-mean terms, so
#
# $$\operatorname{Var}(z_i) = n_\text{in}\, v\, \mathbb E[a_j^2] .$$
#
# * **tanh** is close to the identity near 0, so $\mathbb E[a^2] \approx \operatorname{Var}(z)$ of the layer
#   below, and the variance stays the same from layer to layer when $n_\text{in}\, v = 1$.
# * **ReLU** keeps the positive half of a symmetric $z$ and zeroes the rest, so
#   $\mathbb E[\max(0, z)^2] = \tfrac12\operatorname{Var}(z)$, and the variance stays the same when
#   $\tfrac12 n_\text{in}\, v = 1$, that is $v = 2/n_\text{in}$: **Kaiming (He) initialisation**.
#
# The backward pass is the same computation through $W^\top$: $\partial L/\partial a_j = \sum_i W_{ij}\,
# \partial L/\partial z_i$ sums over the $n_\text{out}$ units that $a_j$ feeds, so the gradient keeps its variance
# when $n_\text{out}\, v = 1$ (tanh), or $\tfrac12 n_\text{out}\, v = 1$ (ReLU, whose derivative is 1 on half of
# the inputs and 0 on the other half). Both conditions cannot hold when $n_\text{in} \ne n_\text{out}$; Glorot and
# Bengio (2010) took the compromise $v = 2/(n_\text{in} + n_\text{out})$, **Xavier (Glorot) initialisation**, and He
# et al. (2015) kept the forward one, $v = 2/n_\text{in}$ (PyTorch's `kaiming_normal_`, `mode="fan_in"`). In a layer
# with as many inputs as outputs both conditions are the same, and a wrong choice compounds with depth: ReLU with
# Xavier's $v = 1/n$ halves the variance in every layer, so the standard deviation of the signal shrinks by
# $\sqrt{1/2} \approx 0.71$ per layer, forward and backward; with $\mathcal N(0, 1)$ weights and 128 units it grows by
# $\sqrt{128/2} = 8$, as in section 5.1.
#
# Measured: an MLP with 30 hidden layers of 256 units and one batch of 512 MNIST images. In every hidden layer we
# record the standard deviation of the pre-activations $z_l$ (forward) and of the gradient $\partial L/\partial z_l$
# (backward), for tanh with Xavier, ReLU with Kaiming, and ReLU with Xavier (the rule meant for tanh).

# %%
INIT_DEPTH, INIT_WIDTH = 30, 256
INIT_SETUPS = {  # name -> (activation, weight initialisation, predicted factor per layer)
    "tanh, Xavier": ("tanh", XAVIER, "at most 1"),
    "ReLU, Kaiming": ("ReLU", KAIMING, "1"),
    "ReLU, Xavier": ("ReLU", XAVIER, f"{math.sqrt(1 / 2):.3f}"),
}


def signal_statistics(activation, init, images, labels):
    """Std of every hidden layer's pre-activations z_l and of the gradient dL/dz_l, from one batch."""
    _ = seed_everything(0)
    model = make_mlp(activation, depth=INIT_DEPTH, width=INIT_WIDTH, init=init)
    pre_activations = []

    def keep(layer, inputs, z):
        z.retain_grad()  # keep dL/dz, which autograd would otherwise free
        pre_activations.append(z)

    hidden = [layer for layer in model if isinstance(layer, nn.Linear)][:-1]
    hooks = [layer.register_forward_hook(keep) for layer in hidden]
    F.cross_entropy(model(images), labels).backward()
    for hook in hooks:
        hook.remove()
    return [z.std().item() for z in pre_activations], [z.grad.std().item() for z in pre_activations]


def factor_per_layer(values, upwards):
    """Geometric mean of the ratio between neighbouring hidden layers (layer 2 on; layer 1 sees raw pixels)."""
    first, last = values[1], values[-1]
    return (last / first if upwards else first / last) ** (1 / (len(values) - 2))


xb, yb = x_mnist[:512].to(device), y_mnist[:512].to(device)
statistics, factors = {}, {}
print(f"{'':<14} {'predicted':>10} {'measured factor per layer':>34}")
print(f"{'':<14} {'factor':>10} {'forward, std(z) upwards':>25} {'backward, std(dL/dz) downwards':>31}")
for name, (activation, init, predicted) in INIT_SETUPS.items():
    statistics[name] = signal_statistics(activation, init, xb, yb)
    forward, backward = statistics[name]
    factors[name] = factor_per_layer(forward, upwards=True), factor_per_layer(backward, upwards=False)
    print(f"{name:<14} {predicted:>10} {factors[name][0]:>25.3f} {factors[name][1]:>31.3f}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), sharex=True)
layers = range(1, INIT_DEPTH + 1)
for name, (forward, backward) in statistics.items():
    axes[0].semilogy(layers, forward, marker="o", ms=3, label=name)
    axes[1].semilogy(layers, backward, marker="o", ms=3, label=name)
axes[0].set(title="forward: std of the pre-activations $z_l$", xlabel="hidden layer", ylabel="standard deviation")
axes[1].set(title=r"backward: std of $\partial L/\partial z_l$", xlabel="hidden layer")
for ax in axes:
    ax.grid(alpha=0.3, which="both")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# the theory, checked on this run: Kaiming keeps ReLU level, Xavier shrinks it by sqrt(1/2) per layer both ways
assert all(0.9 < f < 1.1 for f in factors["ReLU, Kaiming"])
assert all(abs(f - math.sqrt(1 / 2)) < 0.05 for f in factors["ReLU, Xavier"])
assert all(0.85 < f <= 1.0 for f in factors["tanh, Xavier"])

# %% [markdown]
# The measured factors match the derivation. ReLU with Kaiming keeps the signal's size level through all 30 layers
# in both directions; ReLU with Xavier loses a factor $\sqrt 2$ of standard deviation per layer, forward and backward,
# as predicted, so that after 30 layers the signal at the top, and the gradient at the bottom, are orders of
# magnitude too small. tanh with Xavier shrinks too, but slowly: tanh lies below the identity away from 0
# ($|\tanh z| < |z|$ and $\tanh' < 1$), so every layer gives up a little in both directions. (In section 5.1 its
# weight gradients $\partial L/\partial W_l = \partial L/\partial z_l\, a_{l-1}^\top$ still looked level: the
# activations shrink going up while $\partial L/\partial z_l$ shrinks going down, and the product stays roughly
# constant.) Through very deep networks even that slow drift adds up, one reason for normalisation layers
# (Lecture 06) and residual connections (Lecture 07).
#
# ### 5.3 Counting dead ReLUs
#
# An MLP 784 → 256 → 256 → 10 with ReLU, trained for one epoch on the 10 000 MNIST training images with SGD
# (momentum $\rho = 0.9$) at a normal learning rate, $\eta = 0.02$, and at three that are too large: $\eta = 0.1$,
# $0.2$ and $0.3$. A unit counts as **dead** if it outputs exactly 0 for every one of 1 000 test images. To check
# that dead units stay dead, we then train every network for one more epoch at the normal rate and count again.

# %%
probe = x_mnist_test[:1000].to(device)
train_loader = TensorLoader(x_mnist, y_mnist, batch_size=128, shuffle=True, device=device, seed=0)
test_loader = TensorLoader(x_mnist_test, y_mnist_test, batch_size=2000, device=device)


@torch.no_grad()
def relu_activity(model, images):
    """For each ReLU layer: the fraction of `images` on which each unit is non-zero."""
    model.eval()
    activity, h = [], images
    for layer in model:
        h = layer(h)
        if isinstance(layer, nn.ReLU):
            activity.append((h > 0).float().mean(dim=0).cpu())
    return activity


def train_one_epoch(model, lr, seed):
    train_loader.generator.manual_seed(seed)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    return fit(model, train_loader, optimizer, 1, val_loader=test_loader, device=device, plot=False,
               progress=False)["val_acc"][-1]


dead_results, activities = {}, {}
for lr in [0.02, 0.1, 0.2, 0.3]:
    _ = seed_everything(0)
    model = make_mlp("ReLU", depth=2, width=256)
    dead_at_init = [(a == 0).float().mean().item() for a in relu_activity(model, probe)]
    accuracy = train_one_epoch(model, lr, seed=0)
    activities[lr] = relu_activity(model, probe)
    dead = [(a == 0).float().mean().item() for a in activities[lr]]
    accuracy_after = train_one_epoch(model, 0.02, seed=1)
    dead_after = [(a == 0).float().mean().item() for a in relu_activity(model, probe)]
    dead_results[lr] = (dead_at_init, accuracy, dead, accuracy_after, dead_after)

print(f"{'':>8} {'at init':>16} {'after 1 epoch at this lr':>35} {'+ 1 epoch at lr 0.02':>33}")
print(f"{'lr':>8} {'dead: layer 1, 2':>16} {'test acc':>10} {'dead: layer 1':>13} {'layer 2':>10} "
      f"{'test acc':>10} {'dead: layer 1':>13} {'layer 2':>8}")
for lr, (dead_at_init, accuracy, dead, accuracy_after, dead_after) in dead_results.items():
    print(f"{lr:>8} {dead_at_init[0]:>7.1%}, {dead_at_init[1]:>6.1%} {accuracy:>10.1%} {dead[0]:>13.1%} "
          f"{dead[1]:>10.1%} {accuracy_after:>10.1%} {dead_after[0]:>13.1%} {dead_after[1]:>8.1%}")

# What the text below says, checked on this run (layer 1; index 0 of each list):
first_layer_dead = [dead_results[lr][2][0] for lr in dead_results]
assert all(dead_at_init == [0.0, 0.0] for dead_at_init, *_ in dead_results.values())      # none dead at init
assert max(dead_results[0.02][2]) < 0.01 and first_layer_dead == sorted(first_layer_dead)  # more with larger lr
assert dead_results[0.3][2][0] > 0.8 and max(dead_results[0.3][1], dead_results[0.3][3]) < 0.2  # at chance, for good
assert all(dead_after[0] >= dead[0] for _, _, dead, _, dead_after in dead_results.values())  # they stay dead
assert all(dead_results[lr][3] > 0.9 for lr in (0.1, 0.2))                                # the rest still learns

fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
for layer, ax in enumerate(axes):
    for lr, activity in activities.items():
        ax.plot(activity[layer].sort(descending=True).values, label=f"lr {lr}")
    ax.set(title=f"hidden layer {layer + 1} after one epoch", xlabel="unit (sorted by activity)")
    ax.grid(alpha=0.3)
axes[0].set_ylabel("fraction of test images\non which the unit is active")
axes[0].legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# At initialisation no unit is dead, and at the normal learning rate none die. Each step up in the learning
# rate kills more (the table gives the shares), and the largest kills nearly every unit of the first layer,
# which leaves the network at chance accuracy. In the plot the dead units are the flat tail at 0 on the right:
# units that are active on *no* test image. The last columns show that the damage is permanent. After another
# epoch at the normal learning rate the networks in between regain accuracy with the units they have left, but
# at least as many first-layer units as before are still dead: a dead unit gets exactly zero gradient.
# (Second-layer counts can move a little, because the layer below them keeps changing.) The network with almost
# no live units does not recover at all. Leaky ReLU and ELU cannot die like this, and a sensible learning rate
# (Lecture 05) keeps plain ReLU healthy.
#
# ### 5.4 The same deep MLP with five activations
#
# Finally, training. An MLP with 5 hidden layers of 128 units on Fashion-MNIST (10 classes of clothing;
# harder than digits), 10 000 training images, 5 epochs, plain SGD with momentum $\rho = 0.9$ and learning rate
# $\eta = 0.02$, identical for every activation; each activation gets its proper initialisation. Test accuracy on
# all 10 000 test images after every epoch.

# %%
fashion_train, fashion_test = load_fashion_mnist(train=True), load_fashion_mnist(train=False)
x_fashion, y_fashion = image_tensors(fashion_train, limit=10_000)
x_fashion_test, y_fashion_test = image_tensors(fashion_test)
fashion_loader = TensorLoader(x_fashion, y_fashion, batch_size=128, shuffle=True, device=device, seed=0)
fashion_test_loader = TensorLoader(x_fashion_test, y_fashion_test, batch_size=2000, device=device)
EPOCHS = 5

histories, train_seconds = {}, {}
for activation in ACTIVATIONS:
    _ = seed_everything(0)
    fashion_loader.generator.manual_seed(0)  # the same batches in the same order for every activation
    model = make_mlp(activation, depth=5, width=128)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9)
    start = time.perf_counter()
    histories[activation] = fit(model, fashion_loader, optimizer, EPOCHS, val_loader=fashion_test_loader,
                                device=device, plot=False, progress=False)
    train_seconds[activation] = time.perf_counter() - start
    print(f"{activation:<11} trained in {train_seconds[activation]:.1f} s")

fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8))
epochs = range(1, EPOCHS + 1)
for activation, history in histories.items():
    ax_loss.plot(epochs, history["train_loss"], marker="o", label=activation)
    ax_acc.plot(epochs, history["val_acc"], marker="o", label=activation)
ax_loss.set(xlabel="epoch", ylabel="training loss", title="training loss (mean over the epoch)")
ax_acc.set(xlabel="epoch", ylabel="test accuracy", title="test accuracy, Fashion-MNIST")
for ax in (ax_loss, ax_acc):
    ax.set_xticks(list(epochs))
    ax.grid(alpha=0.3)
ax_acc.legend()
fig.tight_layout()
plt.show()

print(f"{'activation':<11} {'train loss':>10} {'test loss':>10} {'test acc':>9}   (after {EPOCHS} epochs)")
for activation, history in histories.items():
    print(f"{activation:<11} {history['train_loss'][-1]:>10.3f} {history['val_loss'][-1]:>10.3f} "
          f"{history['val_acc'][-1]:>9.1%}")
learners = [histories[a]["val_acc"][-1] for a in ACTIVATIONS if a != "sigmoid"]
print(f"tanh, ReLU, Leaky ReLU and ELU end within {100 * (max(learners) - min(learners)):.1f} points of each other.")
# What the text below says, checked on this run:
assert abs(histories["sigmoid"]["train_loss"][-1] - math.log(10)) < 0.05 and histories["sigmoid"]["val_acc"][-1] < 0.2
assert min(learners) > 0.75 and max(learners) - min(learners) < 0.05

# %% [markdown]
# The sigmoid network does not learn at all in these five epochs: its training loss stays at $\log 10 \approx 2.30$,
# the loss of uniform guessing, and its test accuracy at chance. This is section 5.1 in action: with five hidden
# layers the gradient reaching the first layer is roughly $4^5 \approx 1000$ times smaller than at the top, and
# sigmoid's positive outputs make the updates zig-zag on top of that. tanh, ReLU, Leaky ReLU and ELU all learn, and
# after five epochs their test accuracies lie within a few points of each other (printed above), a difference of the
# size that changes with the random seed. On a problem this small a reasonable activation with a proper
# initialisation is what matters; which reasonable one matters much less. (An adaptive optimiser such as Adam,
# Lecture 05, rescales each parameter's step and can rescue the sigmoid network; try it below.)
#
# ## 6. How to choose
#
# The advice from the lecture notes:
#
# 1. If you know which activation your problem needs, use it.
# 2. Otherwise, for hidden layers start with **ReLU** as the baseline. Then try **Leaky ReLU** or **ELU**
#    (and PReLU), which cannot die and are a little closer to zero-centred.
# 3. If the output of a layer must be **bounded** (recurrent networks, outputs that must lie in $[-1, 1]$),
#    use **tanh**.
# 4. Use the **sigmoid** only where you need something like a probability (a binary or multi-label output, the
#    gates of an LSTM); everywhere else tanh is the better choice.
#
# For the output layer the task decides: **softmax** over the logits (inside `F.cross_entropy`) for one class
# out of many, **sigmoid** for independent yes/no outputs, **no activation** for regression. (Modern
# architectures such as transformers often use GELU or SiLU, smooth relatives of ReLU; the same reasoning applies.)

# %% [markdown]
# ## Summary
#
# * Without a nonlinearity, stacked linear layers collapse into one. Activations are applied elementwise;
#   the table in section 2 lists each one's formula, range and derivative, and autograd agrees with every
#   analytic derivative to float64 rounding ($\sigma' = \sigma(1-\sigma)$, $\tanh' = 1-\tanh^2$, Softplus$' = \sigma$).
# * **Sigmoid**: outputs in $(0, 1)$, a probability, but $\sigma' \le 1/4$ and flat tails: gradients **vanish**
#   like $(1/4)^n$ through $n$ layers (measured over 15 layers in section 5.1), and its all-positive outputs
#   make weight updates **zig-zag**. **tanh** is centred and has $\tanh'(0) = 1$ but also saturates.
# * **ReLU** has derivative 1 for positive inputs and costs only a comparison, but units can **die**: a too
#   large learning rate killed a large share of an MNIST network's hidden units, permanently. **Leaky ReLU,
#   PReLU, ELU** keep a slope on the left; **Softplus** is a smooth ReLU; **Maxout** learns a piecewise-linear
#   shape with $k$ times the parameters.
# * `exp` makes an activation more expensive per element (how much depends on the hardware and the
#   library), but a layer's matrix product usually dominates its cost.
# * Proper initialisation keeps per-layer gradient norms level with tanh and ReLU; $\mathcal N(0,1)$ weights
#   explode, tiny weights vanish, whatever the activation. The variance of a layer's output is
#   $n_\text{in}\, v\, \mathbb E[a^2]$: **Xavier** ($v = 2/(n_\text{in} + n_\text{out})$) keeps it for tanh,
#   **Kaiming** ($v = 2/n_\text{in}$) for ReLU, which zeroes half of its inputs; ReLU with Xavier loses a factor
#   $\sqrt 2$ per layer, as measured through 30 layers.
# * **Softmax** turns logits into class probabilities; compute it after subtracting the maximum (naive
#   $e^{1000}$ gives `inf` and `nan`). Recurrent networks need **bounded** activations (tanh, sigmoid gates).
# * Choosing: ReLU as the baseline, then Leaky ReLU/ELU; tanh where outputs must be bounded; sigmoid only for
#   probabilities. On Fashion-MNIST a 5-hidden-layer sigmoid MLP stayed at chance with SGD while tanh, ReLU,
#   Leaky ReLU and ELU all learned to similar accuracy.
#
# ## Try it yourself
#
# 1. **Rescue the sigmoid.** In section 5.4 replace `torch.optim.SGD(..., lr=0.02, momentum=0.9)` by
#    `torch.optim.Adam(model.parameters(), lr=1e-3)` and rerun. Does the sigmoid network learn now? Then go back
#    to SGD and change the depth from 5 to 2: how deep can a sigmoid MLP be before SGD stalls?
# 2. **Revive the dead.** In section 5.3 build the network with `make_mlp("Leaky ReLU", ...)` and replace `nn.ReLU`
#    by `nn.LeakyReLU` in `relu_activity` (it counts the inputs on which a unit is positive). At learning rates
#    $\eta = 0.2$ and $\eta = 0.3$, are there still units that are never positive? Do they stay that way during the
#    extra epoch, and what happens to the accuracy?
# 3. **Find the right scale.** In section 5.1 try ReLU with $\mathcal N(0, s^2)$ weights (`normal_init(s)`) for
#    several $s$ between $0.01$ and $1$. For which $s$ are the gradient norms level across the layers? Compare it
#    with Kaiming's $\sqrt{2/n_\text{in}}$ for $n_\text{in} = 128$ (and note that the first layer has
#    $n_\text{in} = 784$).
