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
# # Lecture 05 — Optimizers
#
# Backpropagation (Lecture 02) gives us the gradient of the loss with respect to every weight. What we *do*
# with that gradient is the job of the **optimizer**. All the optimizers in this lecture take the same input,
# the gradient of the current mini-batch, and differ only in how they turn it into a step. Those few lines
# decide whether a network trains in minutes, in days, or not at all.
#
# **Plan**
# 1. Mini-batch SGD: the loss averaged over a batch, and why its gradient is noisy. We measure the noise on
#    Fashion-MNIST for batch sizes 1 to 512.
# 2. Why plain gradient descent is slow in an ill-conditioned valley, and two test functions: a stretched
#    quadratic and Rosenbrock's banana.
# 3. The update rules, each with its formula and its `torch.optim` class: **momentum**, **Nesterov**
#    (with the reformulation PyTorch uses, checked numerically), **Adagrad**, **RMSProp**, **Adam** (with bias
#    correction) and AdamW.
# 4. Trajectories of all six on both functions, with a table of final losses, and a widget to try your own
#    settings.
# 5. Per-parameter learning rates, read from the optimizers' state.
# 6. Learning-rate schedules: step, cosine, warm-up, one-cycle.
# 7. The optimizers compared on Fashion-MNIST.
#
# In the assignment you will write each optimizer as a `torch.optim.Optimizer` subclass and match PyTorch
# step for step. Here we use PyTorch's own classes and look at what they do.

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from matplotlib.colors import LogNorm
from torch import nn
from torch.nn import functional as F

from course_utils import TensorLoader, choose_device, explore, fit, image_tensors, load_fashion_mnist, seed_everything

# Most tensors here are tiny (2-D points, one small MLP): on a CPU, one thread is faster than splitting each op.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown]
# ## 1. Mini-batch SGD and noisy gradients
#
# We never train on one example at a time, and rarely on the whole training set at once. We train on a
# **mini-batch** of $B$ random examples (usually a power of two, 32–512). The loss is *averaged* over the
# batch, and so is its gradient:
#
# $$ L_B(w) = \frac{1}{B}\sum_{i=1}^{B} \ell(x_i, y_i; w), \qquad
#    g_B = \nabla_w L_B(w) = \frac{1}{B}\sum_{i=1}^{B} \nabla_w \ell(x_i, y_i; w), \qquad
#    w \leftarrow w - \alpha\, g_B .$$
#
# (Averaging rather than summing keeps the size of the gradient independent of $B$, so changing the batch
# size does not silently multiply the learning rate $\alpha$. PyTorch's losses average by default:
# `reduction="mean"`.)
#
# $g_B$ is an *estimate* of the gradient $\nabla L$ of the loss over the whole training set. It is unbiased,
# $\mathbb{E}[g_B] = \nabla L$, but noisy: each batch is a different random sample, and one batch may be, in
# the notes' example, all mushrooms when we classify every kind of plant. If the $B$ examples are drawn
# independently and $\Sigma$ is the covariance of a single example's gradient, the average of $B$ of them has
# covariance $\Sigma / B$, so
#
# $$ \mathbb{E}\,\lVert g_B - \nabla L \rVert^2 = \frac{\operatorname{tr}\Sigma}{B}. $$
#
# Larger batches give less noise, but each step costs $B$ times more, and the noise only falls as $1/B$
# (its size, the square root, as $1/\sqrt{B}$). Let us measure it. The model is a logistic regression
# (784 → 10, one linear layer) on the real Fashion-MNIST, after one short training pass so that we measure at
# a typical point of training rather than at a random start. We compute the exact gradient over all 60 000
# training images once, then 200 mini-batch gradients for each batch size.

# %%
train_set = load_fashion_mnist(train=True)
x_train, y_train = image_tensors(train_set)  # float32 (60000, 1, 28, 28), standardised; labels int64
del train_set
x_flat, y_all = x_train.flatten(1).to(device), y_train.to(device)
print(f"Fashion-MNIST train: {tuple(x_train.shape)}, classes 0..{y_train.max().item()}")

seed_everything(0)
logreg = nn.Linear(784, 10).to(device)
warmup = torch.optim.SGD(logreg.parameters(), lr=0.1)
for xb, yb in TensorLoader(x_flat[:10000], y_all[:10000], batch_size=100, shuffle=True, seed=0):
    warmup.zero_grad()
    F.cross_entropy(logreg(xb), yb).backward()
    warmup.step()


def flat_gradient(xb, yb):
    """Gradient of the mean cross-entropy over (xb, yb) w.r.t. all of logreg's parameters, as one vector."""
    grads = torch.autograd.grad(F.cross_entropy(logreg(xb), yb), list(logreg.parameters()))
    return torch.cat([g.flatten() for g in grads])


full_gradient = flat_gradient(x_flat, y_all)
BATCH_SIZES, REPEATS = [1, 8, 32, 128, 512], 200
picker = torch.Generator().manual_seed(0)
noise = {}
for B in BATCH_SIZES:
    squared_errors = []
    for _ in range(REPEATS):
        index = torch.randint(len(x_flat), (B,), generator=picker).to(device)  # B independent random examples
        squared_errors.append((flat_gradient(x_flat[index], y_all[index]) - full_gradient).pow(2).sum().item())
    noise[B] = torch.tensor(squared_errors)

signal = full_gradient.norm().item()
print(f"full-batch gradient: ||∇L|| = {signal:.3f} ({full_gradient.numel():,} parameters)\n")
print(f"{'B':>4} {'E||g_B - ∇L||²':>15} {'± s.e.':>7} {'B · E||…||²':>12} {'noise/signal':>13}")
for B, sq in noise.items():
    mean = sq.mean().item()
    print(f"{B:>4} {mean:>15.3f} {sq.std().item() / REPEATS**0.5:>7.3f} {B * mean:>12.1f} "
          f"{mean**0.5 / signal:>13.2f}")
scaled = torch.tensor([B * sq.mean().item() for B, sq in noise.items()])
noise_to_signal = {B: sq.mean().item() ** 0.5 / signal for B, sq in noise.items()}
assert scaled.max() / scaled.min() < 1.5, "B times the noise should be about constant"
assert noise_to_signal[1] > 2 and 0.1 < noise_to_signal[512] < 0.5  # what the text below says

# %% [markdown]
# The column $B\cdot\mathbb{E}\lVert g_B-\nabla L\rVert^2$ is constant up to the sampling error: the noise falls
# as $1/B$, as predicted. On log-log axes a $1/B$ law is a straight line of slope $-1$:

# %%
trace_sigma = scaled.log().mean().exp().item()  # the best c in c / B (geometric mean of B * noise)
fig, ax = plt.subplots(figsize=(5.5, 3.6))
means = [sq.mean().item() for sq in noise.values()]
errors = [2 * sq.std().item() / REPEATS**0.5 for sq in noise.values()]
ax.errorbar(BATCH_SIZES, means, yerr=errors, fmt="o", capsize=3, label="measured (±2 s.e.)")
ax.plot(BATCH_SIZES, [trace_sigma / B for B in BATCH_SIZES], "--", label=f"{trace_sigma:.0f} / B")
ax.axhline(signal**2, color="grey", lw=0.8, ls=":", label="||∇L||² (the signal)")
ax.set(xscale="log", yscale="log", xlabel="batch size B", ylabel="E ||g_B − ∇L||²",
       title="mini-batch gradient noise, logistic regression")
ax.legend()
ax.grid(alpha=0.3, which="both")
plt.show()

# %% [markdown]
# With a single example the noise is several times larger than the gradient itself (the last column of the
# table): an individual step points almost anywhere. Even at $B=512$ the noise is still a sizeable fraction of
# the signal. This is why
# SGD paths wander, why the loss curve is jagged, and why the optimizers below average gradients over time.
# Note the economics: going from $B=32$ to $B=512$ costs 16× more computation per step but only makes the
# noise 4× smaller in size. Some noise is cheap and even useful (it helps escape sharp, narrow minima), so
# moderate batches with many steps usually win.
#
# ## 2. Why gradient descent is slow: an ill-conditioned valley
#
# Take the quadratic $f(x, y) = \tfrac12\,(x^2 + 50\,y^2)$. Its gradient is $(x, 50y)$, so one gradient step
# multiplies each coordinate by its own factor: $x \leftarrow (1-\alpha)\,x$ and $y \leftarrow (1-50\alpha)\,y$. The
# $y$-direction diverges unless $|1 - 50\alpha| < 1$, i.e. $\alpha < 2/50 = 0.04$. With such a small step, $x$
# shrinks per step only by the factor $1 - \alpha > 0.96$. The steepest direction limits the learning rate; the
# flattest direction sets the speed. The ratio of the two curvatures, here 50, is the **condition number** $\kappa$,
# and gradient descent needs about $\kappa$ steps to make real progress. The loss surfaces of neural networks are
# ill-conditioned in the same way, in millions of directions at once.

# %%
for lr in [0.02, 0.035, 0.039, 0.041]:
    fx, fy = abs(1 - lr), abs(1 - 50 * lr)
    print(f"lr = {lr:<5}: per step x *= {fx:.3f}, y *= {fy:.3f}  ->  after 100 steps x *= {fx**100:.1e}, "
          f"y *= {fy**100:.1e}" + ("   (diverges)" if fy > 1 else ""))

# %% [markdown]
# Our second test function is **Rosenbrock's** $f(x, y) = (1-x)^2 + 100\,(y-x^2)^2$: a curved, narrow,
# banana-shaped valley with the minimum $f=0$ at $(1, 1)$. Finding the valley is easy; following its curved,
# almost flat floor is hard, and the direction of the valley changes along the way.
#
# The helper below runs any `torch.optim` optimizer on a 2-D parameter tensor and records its path. (These
# 2-D problems stay on the CPU: a GPU only adds overhead for two numbers.)

# %%
def quadratic(x, y):
    return 0.5 * (x**2 + 50 * y**2)


def rosenbrock(x, y):
    return (1 - x)**2 + 100 * (y - x**2)**2


FUNCTIONS = {  # start point, number of steps, minimum, and the plotted box (x0, x1, y0, y1)
    "quadratic": dict(f=quadratic, start=(-4.5, 1.3), steps=100, minimum=(0, 0), box=(-5, 5, -1.6, 1.6)),
    "Rosenbrock": dict(f=rosenbrock, start=(-1.2, 1.0), steps=500, minimum=(1, 1), box=(-1.6, 1.6, -0.6, 1.6)),
}

OPTIMIZERS = {  # name -> a function (parameters, lr, rho) -> torch.optim optimizer; rho is the momentum
    "SGD": lambda params, lr, rho: torch.optim.SGD(params, lr=lr),
    "SGD+momentum": lambda params, lr, rho: torch.optim.SGD(params, lr=lr, momentum=rho),
    "Nesterov": lambda params, lr, rho: torch.optim.SGD(params, lr=lr, momentum=rho, nesterov=True),
    "Adagrad": lambda params, lr, rho: torch.optim.Adagrad(params, lr=lr),
    "RMSProp": lambda params, lr, rho: torch.optim.RMSprop(params, lr=lr),  # alpha=0.99 is the decay β
    "Adam": lambda params, lr, rho: torch.optim.Adam(params, lr=lr, betas=(rho, 0.999)),
}


def trajectory(function, optimizer, lr, rho=0.9, steps=None):
    """Minimise FUNCTIONS[function] from its start with OPTIMIZERS[optimizer]; return (path (steps+1, 2), optimizer)."""
    spec = FUNCTIONS[function]
    steps = steps or spec["steps"]
    point = torch.tensor(spec["start"], requires_grad=True)
    opt = OPTIMIZERS[optimizer]([point], lr, rho)
    path = torch.empty(steps + 1, 2)
    path[0] = point.detach()
    for t in range(steps):
        opt.zero_grad()
        spec["f"](*point).backward()
        opt.step()
        path[t + 1] = point.detach()
    return path, opt


def final_loss(function, path):
    return FUNCTIONS[function]["f"](*path[-1]).item()


def draw_path(ax, function, path, title="", color="C3"):
    """Log-spaced filled contours of the function, the path, the start (black dot) and the minimum (star)."""
    spec = FUNCTIONS[function]
    x0, x1, y0, y1 = spec["box"]
    gx, gy = torch.meshgrid(torch.linspace(x0, x1, 200), torch.linspace(y0, y1, 200), indexing="xy")
    z = spec["f"](gx, gy) + 1e-3
    ax.contourf(gx, gy, z, levels=torch.logspace(-3, math.log10(z.max()), 20), norm=LogNorm(), cmap="Blues_r")
    path = path.clone()
    path[~torch.isfinite(path).all(dim=1)] = float("nan")  # a diverged run: draw what is left
    ax.plot(path[:, 0], path[:, 1], ".-", color=color, lw=0.9, ms=2.5)
    ax.plot(*spec["start"], "ko", ms=4)
    ax.plot(*spec["minimum"], "*", color="gold", mec="k", ms=12)
    ax.set(xlim=(x0, x1), ylim=(y0, y1))
    ax.set_title(title, fontsize=9)

# %% [markdown]
# Plain gradient descent on both, with about the largest learning rates that do not blow up:

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for ax, (function, lr) in zip(axes, [("quadratic", 0.035), ("Rosenbrock", 1.5e-3)]):
    path, _ = trajectory(function, "SGD", lr)
    draw_path(ax, function, path, f"{function}: SGD, lr = {lr}, {len(path) - 1} steps, "
                                  f"f = {final_loss(function, path):.3g}")
plt.show()

# %% [markdown]
# Both pictures show the problem. On the quadratic, the $y$-coordinate bounces across the valley while $x$ crawls
# towards the minimum. On Rosenbrock the path drops into the valley in a few steps, then creeps along its floor
# and after 500 steps has not even reached $x = 0$.
#
# (With an exact gradient, "SGD" is plain gradient descent. These 2-D trajectories use exact gradients, so
# that we see the effect of each update rule alone; in a network, the batch noise of section 1 comes on top.)
#
# ## 3. The update rules
#
# Notation: $x_t$ are the parameters after $t$ steps, $g_t = \nabla f(x_t)$ is the (mini-batch) gradient,
# $\alpha$ the learning rate. All operations on vectors are element-wise.
#
# ### 3.1 SGD with momentum
#
# Picture the parameters as a heavy ball rolling downhill. A ball does not stop and turn at each bump: it has
# **velocity**, which keeps a memory of past gradients. With momentum coefficient $\rho$ (typically $\rho = 0.9$):
#
# $$ v_{t+1} = \rho\, v_t + g_t, \qquad x_{t+1} = x_t - \alpha\, v_{t+1}, \qquad v_0 = 0 .$$
#
# Along a direction where the gradient keeps its sign, the velocity builds up to $g/(1-\rho)$, so the ball
# moves up to $1/(1-\rho) = 10$ times faster than plain SGD. Across the valley, where the gradient flips sign
# every step, successive gradients cancel inside $v$ and the bouncing is damped. Averaging over steps also
# averages out part of the mini-batch noise.
#
# This is exactly `torch.optim.SGD(params, lr=α, momentum=ρ)` (with its default `dampening=0`). Some texts
# write the equivalent $v_{t+1} = \rho v_t - \alpha g_t$, $x_{t+1} = x_t + v_{t+1}$: the same path for a constant
# $\alpha$, but not when a schedule changes $\alpha$ during training.
#
# ### 3.2 Nesterov momentum: the gradient at the look-ahead point
#
# The ball will move by about $\rho\, v$ anyway, whatever the gradient says. When the velocity is large, the
# gradient at the current point is already out of date. Nesterov's idea: first move by the momentum, *then*
# look at the slope there, and correct:
#
# $$ v_{t+1} = \rho\, v_t - \alpha\, \nabla f(x_t + \rho\, v_t), \qquad x_{t+1} = x_t + v_{t+1}. $$
#
# If the momentum is about to carry us up the opposite wall of the valley, the gradient at the look-ahead point
# already pushes back, one step earlier than with ordinary momentum.
#
# (The notes write $v_{t+1} = \rho v_t - \nabla f(x_t + \rho v_t)$, $x_{t+1} = x_t + \alpha v_{t+1}$. With $\alpha$
# outside the velocity the parameters move by $\alpha v$, so the look-ahead point is $x_t + \alpha\rho\, v_t$;
# as written, the gradient is taken $1/\alpha$ times too far ahead. With $\alpha$ inside $v$, as above,
# $x_t + \rho v_t$ is right.)
#
# **PyTorch's reformulation.** Frameworks compute the gradient at the current parameters, not at some other
# point. So PyTorch stores the look-ahead point itself, $\tilde x_t = x_t + \rho\, v_t$, as the parameters.
# Substituting $x_t = \tilde x_t - \rho v_t$ into the update gives
#
# $$ \tilde x_{t+1} = x_{t+1} + \rho v_{t+1} = \tilde x_t - \rho v_t + (1+\rho)\, v_{t+1}
#    = \tilde x_t + \rho\, v_{t+1} - \alpha\, \nabla f(\tilde x_t), $$
#
# where the gradient is now evaluated at the stored parameters. Writing the velocity in gradient units,
# $b = -v/\alpha$, this becomes the update of `torch.optim.SGD(..., nesterov=True)`:
#
# $$ b_{t+1} = \rho\, b_t + g_t, \qquad \tilde x_{t+1} = \tilde x_t - \alpha\,(g_t + \rho\, b_{t+1}),
#    \qquad g_t = \nabla f(\tilde x_t).$$
#
# So it is momentum with the step direction $g_t + \rho\, b_{t+1}$ instead of $b_{t+1}$. Let us check
# numerically that both versions give the same path: run the look-ahead form by hand, in double precision,
# and compare its look-ahead points $x_t + \rho v_t$ with PyTorch's parameters, step by step.

# %%
def gradient_at(function, point):
    point = point.detach().requires_grad_(True)
    return torch.autograd.grad(FUNCTIONS[function]["f"](*point), point)[0]


lr, rho, steps = 1e-3, 0.9, 100
x = torch.tensor([-1.2, 1.0], dtype=torch.float64)  # the look-ahead form, by hand
v = torch.zeros_like(x)
ours = []
for _ in range(steps):
    v = rho * v - lr * gradient_at("Rosenbrock", x + rho * v)
    x = x + v
    ours.append(x + rho * v)

point = torch.tensor([-1.2, 1.0], dtype=torch.float64, requires_grad=True)  # PyTorch
opt = torch.optim.SGD([point], lr=lr, momentum=rho, nesterov=True)
theirs = []
for _ in range(steps):
    opt.zero_grad()
    rosenbrock(*point).backward()
    opt.step()
    theirs.append(point.detach().clone())

gap = (torch.stack(ours) - torch.stack(theirs)).abs().max().item()
print(f"after {steps} steps: look-ahead point {ours[-1].numpy().round(6)}, PyTorch {theirs[-1].numpy().round(6)}")
print(f"largest difference over all {steps} steps: {gap:.1e}")
assert gap < 1e-10

# %% [markdown]
# Identical to rounding error. Once training stops, the two versions differ only by the final offset
# $\rho v$, which is negligible because $v \to 0$ near a minimum.
#
# ### 3.3 Adagrad: a learning rate per parameter
#
# One learning rate for millions of parameters is a compromise: some parameters see large, frequent gradients,
# others small or rare ones (say, the weights of a rare word, or of a pixel that is almost always blank).
# **Adagrad** keeps, for every parameter separately, the running sum of its squared gradients, and divides the
# step by its square root:
#
# $$ G_{t+1} = G_t + g_t^2, \qquad x_{t+1} = x_t - \frac{\alpha}{\sqrt{G_{t+1}} + \varepsilon}\; g_t,
#    \qquad G_0 = 0,\ \varepsilon \approx 10^{-10}. $$
#
# (The original lecture notes divide by $G + \varepsilon$ without the square root; that is a typo: the
# square root is what makes the step independent of the gradient's scale, and it is what Adagrad, RMSProp and
# Adam all use.)
#
# Parameters with large gradients get small steps, parameters with small gradients get large ones. The very
# first step is $\alpha\, g/|g| = \pm\alpha$ in every coordinate, whatever the gradient's size. The weakness: $G$
# only grows, so the effective learning rate $\alpha/\sqrt{G_t}$ keeps falling (like $1/\sqrt{t}$ for gradients of
# constant size), and training can stall long before the minimum. `torch.optim.Adagrad(params, lr=α)`.
#
# ### 3.4 RMSProp: a decaying average instead of a sum
#
# **RMSProp** fixes that by replacing the sum with an exponential moving average, which forgets old gradients:
#
# $$ s_{t+1} = \beta\, s_t + (1-\beta)\, g_t^2, \qquad x_{t+1} = x_t - \frac{\alpha}{\sqrt{s_{t+1}} + \varepsilon}\; g_t,
#    \qquad \beta \approx 0.99 .$$
#
# $\sqrt{s}$ is the root-mean-square of the recent gradients (hence the name), so the step stays near $\alpha$
# in size for every parameter, for as long as we train. (Except at the very start: $s$ starts at 0, so
# $s_1 = (1-\beta)\,g_0^2$ and the first step is $\alpha/\sqrt{1-\beta} = 10\,\alpha$ long. Adam below fixes that.)
# The notes' RMSProp, like their Adagrad, divides by $s + \varepsilon$ without the square root; again the root is
# needed, since without it the step would scale like $1/g$, shrinking as the gradients grow.
# `torch.optim.RMSprop(params, lr=α, alpha=β)`: note that PyTorch calls the decay `alpha`, not the learning
# rate.
#
# ### 3.5 Adam: momentum + RMSProp, with bias correction
#
# The notes' "RMSProp normalization" combines a moving average of the gradient (momentum) with RMSProp's
# moving average of its square. With bias correction added, that is **Adam**, the default optimizer of deep
# learning:
#
# $$
# \begin{aligned}
# m_{t+1} &= \beta_1 m_t + (1-\beta_1)\, g_t, & \hat m_{t+1} &= \frac{m_{t+1}}{1-\beta_1^{\,t+1}},\\
# v_{t+1} &= \beta_2 v_t + (1-\beta_2)\, g_t^2, & \hat v_{t+1} &= \frac{v_{t+1}}{1-\beta_2^{\,t+1}},\\
# x_{t+1} &= x_t - \alpha\, \frac{\hat m_{t+1}}{\sqrt{\hat v_{t+1}} + \varepsilon},
# \end{aligned}
# \qquad m_0 = v_0 = 0,\ \beta_1 = 0.9,\ \beta_2 = 0.999,\ \varepsilon = 10^{-8}.
# $$
#
# **Why the bias correction?** Both averages start at zero, so early on they are far too small. After one
# step $m_1 = 0.1\, g$ and $v_1 = 0.001\, g^2$. Since the $\beta$'s differ, the two biases do not cancel in
# $m/\sqrt{v}$. Dividing by $1-\beta^{t}$ undoes the bias exactly, because $1-\beta^{t}$ is the total weight the
# average has collected so far. For a constant gradient $g$, the uncorrected step (in units of $\alpha$) is:

# %%
beta1, beta2, g = 0.9, 0.999, 3.0
m = v = 0.0
uncorrected = {}  # t -> m_t / sqrt(v_t), the step without bias correction in units of alpha
print(f"{'t':>5} {'m_t':>8} {'v_t':>8} {'m/sqrt(v)':>10} {'corrected':>10}   (constant gradient g = {g})")
for t in range(1, 10_001):
    m, v = beta1 * m + (1 - beta1) * g, beta2 * v + (1 - beta2) * g**2
    uncorrected[t] = m / math.sqrt(v)
    if t in (1, 2, 5, 10, 30, 100, 1000, 3000, 10_000):
        corrected = (m / (1 - beta1**t)) / math.sqrt(v / (1 - beta2**t))
        print(f"{t:>5} {m:>8.4f} {v:>8.4f} {uncorrected[t]:>10.2f} {corrected:>10.2f}")
worst = max(uncorrected, key=uncorrected.get)
print(f"Uncorrected, the step starts {uncorrected[1]:.1f} times too long, peaks at {uncorrected[worst]:.1f} times "
      f"(t = {worst}) and is still {uncorrected[1000]:.2f} times too long at t = 1000, when v has collected only "
      f"{1 - beta2**1000:.0%} of its weight; at t = 10000 it is {uncorrected[10_000]:.3f}.")

# %% [markdown]
# Without correction, the first steps would be several times longer than intended, exactly when the estimates
# are least reliable. $m$'s bias fades within a few dozen steps ($\beta_1 = 0.9$ averages over about 10), but
# $v$'s lasts for thousands ($\beta_2 = 0.999$ averages over about 1000): even after a thousand steps the
# uncorrected step is still clearly too long, and only after several thousand does the correction stop mattering
# (printed above). With it, a constant gradient gives a step of exactly $\alpha$ from the first step on, in every
# coordinate. PyTorch's Adam does the same on the quadratic: the gradient at the start is $(-4.5, 65)$, 14× larger
# in $y$, yet the first step moves both coordinates by the learning rate:

# %%
path, _ = trajectory("quadratic", "Adam", lr=0.3, steps=1)
print("gradient at the start:", gradient_at("quadratic", torch.tensor(FUNCTIONS["quadratic"]["start"])).tolist())
print("Adam's first step:    ", (path[1] - path[0]).numpy().round(6).tolist(), " (lr = 0.3)")

# %% [markdown]
# **AdamW.** L2 regularisation adds $\lambda x$ to the gradient. Inside Adam that term is then divided by
# $\sqrt{\hat v}$ like the rest of the gradient, so parameters with large gradients are barely regularised.
# AdamW *decouples* the decay from the adaptive step, $x_{t+1} = x_t - \alpha\lambda x_t - \alpha\, \hat m/(\sqrt{\hat v}+\varepsilon)$,
# which generalises better. It is the standard choice for transformers: `torch.optim.AdamW(params, lr, weight_decay=λ)`.
# (Weight decay itself is a topic of Lecture 06.)
#
# ## 4. Trajectories
#
# All six optimizers on both functions, 100 steps on the quadratic and 500 on Rosenbrock, each with a learning
# rate picked from a small grid (try others in the widget below), and $\rho = \beta_1 = 0.9$:

# %%
LEARNING_RATES = {  # optimizer -> (lr on the quadratic, lr on Rosenbrock)
    "SGD": (0.035, 1.5e-3), "SGD+momentum": (0.01, 1e-3), "Nesterov": (0.01, 1e-3),
    "Adagrad": (1.0, 0.5), "RMSProp": (0.1, 0.02), "Adam": (0.3, 0.1),
}
paths, optimizers = {}, {}
start = time.perf_counter()
for function_index, function in enumerate(FUNCTIONS):
    for name, lrs in LEARNING_RATES.items():
        paths[function, name], optimizers[function, name] = trajectory(function, name, lrs[function_index])
print(f"{len(paths)} trajectories in {time.perf_counter() - start:.1f} s")
loss_after = {key: final_loss(key[0], path) for key, path in paths.items()}

fig, axes = plt.subplots(2, 6, figsize=(17, 5.6))
for row, (function_index, function) in zip(axes, enumerate(FUNCTIONS)):
    for ax, name in zip(row, OPTIMIZERS):
        path = paths[function, name]
        draw_path(ax, function, path, f"{name}, lr={LEARNING_RATES[name][function_index]:g}\n"
                                      f"f = {final_loss(function, path):.2g}")
fig.tight_layout()
plt.show()

print(f"{'optimizer':<13} | {'lr':>6} {'quadratic, f after 100':>23} | {'lr':>6} {'Rosenbrock, f after 500':>24}"
      f" {'final point':>16}")
for name in OPTIMIZERS:
    (lr_q, lr_r), pr = LEARNING_RATES[name], paths["Rosenbrock", name]
    print(f"{name:<13} | {lr_q:>6g} {loss_after['quadratic', name]:>23.2e} | {lr_r:>6g} "
          f"{loss_after['Rosenbrock', name]:>24.2e} ({pr[-1, 0]:>6.3f}, {pr[-1, 1]:>5.3f})")
for function in FUNCTIONS:  # the claims made below, checked
    assert loss_after[function, "SGD+momentum"] < loss_after[function, "SGD"] / 10
assert loss_after["quadratic", "Nesterov"] < loss_after["quadratic", "SGD+momentum"] / 10
assert loss_after["Rosenbrock", "SGD+momentum"] < loss_after["Rosenbrock", "Adam"] < loss_after["Rosenbrock", "RMSProp"]
assert loss_after["Rosenbrock", "RMSProp"] < loss_after["Rosenbrock", "Adagrad"]
assert loss_after["Rosenbrock", "SGD"] > 0.1
assert max(loss_after["quadratic", name] for name in ("Adagrad", "RMSProp")) < min(
    loss_after["quadratic", name] for name in ("SGD", "SGD+momentum", "Nesterov", "Adam"))

# %% [markdown]
# The loss against the step number tells the same story on a log scale:

# %%
fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
for ax, function in zip(axes, FUNCTIONS):
    for name in OPTIMIZERS:
        path = paths[function, name]
        ax.plot(FUNCTIONS[function]["f"](path[:, 0], path[:, 1]), label=name)
    ax.set(yscale="log", xlabel="step", ylabel="f", title=function)
    ax.grid(alpha=0.3)
axes[1].legend(fontsize=8)
plt.show()

# %% [markdown]
# What to read in these pictures:
#
# - **SGD** bounces across the quadratic's valley and crawls along it. On Rosenbrock it gets stuck at the bottom
#   of the bend, far from $(1, 1)$.
# - **Momentum** overshoots and swings (the heavy ball), but its velocity builds up along the valley. It ends
#   more than ten times lower than SGD on both functions, and on Rosenbrock it follows the whole banana almost
#   to $(1,1)$.
# - **Nesterov** looks ahead and brakes before overshooting: on the quadratic the swings die out much faster
#   (more than ten times lower than momentum with the same $\alpha$ and $\rho$).
# - **Adagrad** and **RMSProp** are spectacular on the quadratic: its valley is aligned with the axes, and
#   per-coordinate scaling removes the ill-conditioning completely. This is the best case for them. On
#   Rosenbrock the valley is curved and *diagonal*, so per-coordinate scaling cannot straighten it. Adagrad's
#   ever-growing $G$ shrinks its steps until it stalls. RMSProp gets further, but its steps stay about $\alpha$
#   long however narrow the floor becomes, so it starts to bounce across it (the spikes in its loss curve).
# - **Adam** combines both. It is not the best on either function, but it is good on both, with settings close
#   to its defaults. That robustness, more than speed, is why it is everyone's first choice.
#
# No optimizer wins everywhere. Their ranking depends on the problem, the learning rate and the number of steps.
#
# ### Your turn: a widget
#
# Choose the function, the optimizer, the learning rate and the momentum $\rho$ (used by SGD+momentum and
# Nesterov, and as Adam's $\beta_1$; ignored by SGD, Adagrad and RMSProp). Executed without a live Jupyter
# server, the notebook shows the defaults: heavy-ball momentum on the quadratic with the theoretically optimal
# settings for a quadratic with curvatures $\mu=1$ and $L=50$: $\alpha = 4/(\sqrt L+\sqrt\mu)^2 \approx 0.061$ and
# $\rho = \big((\sqrt\kappa-1)/(\sqrt\kappa+1)\big)^2 \approx 0.57$. It overshoots wildly at first ($\alpha$ is above
# plain SGD's limit of $2/L = 0.04$!), then the distance to the minimum shrinks by a factor
# $(\sqrt\kappa-1)/(\sqrt\kappa+1) \approx 0.75$ per step in *both* directions. Compare it with the $\rho=0.9$ run above.

# %%
def draw_trajectory(function, optimizer, lr, momentum):
    path, _ = trajectory(function, optimizer, lr, rho=momentum)
    losses = FUNCTIONS[function]["f"](path[:, 0], path[:, 1])
    final = losses[-1].item()
    verdict = "diverged" if not math.isfinite(final) or final > 1e3 * losses[0].item() else f"f = {final:.3g}"
    fig, (ax_path, ax_loss) = plt.subplots(1, 2, figsize=(11, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
    draw_path(ax_path, function, path, f"{optimizer} on {function}: lr = {lr:.3g}, ρ = {momentum:.2f}, "
                                       f"{len(path) - 1} steps, {verdict}")
    ax_loss.plot(torch.where(torch.isfinite(losses), losses, float("nan")))
    ax_loss.set(yscale="log", xlabel="step", ylabel="f", title="loss")
    ax_loss.grid(alpha=0.3)
    plt.tight_layout()
    plt.show()


explore(draw_trajectory,
        function=widgets.Dropdown(options=list(FUNCTIONS), value="quadratic", description="function"),
        optimizer=widgets.Dropdown(options=list(OPTIMIZERS), value="SGD+momentum", description="optimizer"),
        lr=widgets.FloatLogSlider(value=0.061, base=10, min=-4, max=0.5, step=0.05, description="lr"),
        momentum=widgets.FloatSlider(value=0.57, min=0.0, max=0.99, step=0.01, description="momentum ρ"))

# %% [markdown]
# ## 5. Per-parameter learning rates
#
# Adagrad, RMSProp and Adam give every parameter its own effective learning rate: for Adam,
# $\alpha / (\sqrt{\hat v} + \varepsilon)$ multiplies the averaged gradient $\hat m$. We can read it from the
# optimizer's state (`optimizer.state[parameter]`, where PyTorch keeps $G$, $s$ or $m, v$) after the runs
# on the quadratic above:

# %%
def effective_lr(opt):
    """The per-coordinate factor α / (√(second moment) + ε) of an Adagrad, RMSprop or Adam optimizer."""
    group = opt.param_groups[0]
    state = opt.state[group["params"][0]]
    if isinstance(opt, torch.optim.Adagrad):
        second = state["sum"]
    elif isinstance(opt, torch.optim.RMSprop):
        second = state["square_avg"]
    else:  # Adam: bias-corrected
        second = state["exp_avg_sq"] / (1 - group["betas"][1] ** state["step"].item())
    return group["lr"] / (second.sqrt() + group["eps"])


print(f"{'optimizer':<9} {'state after 100 steps':<22} {'lr for x':>10} {'lr for y':>10} {'ratio x/y':>10}")
for name, key in [("Adagrad", "sum G"), ("RMSProp", "moving average s"), ("Adam", "moving average v̂")]:
    lr_x, lr_y = effective_lr(optimizers["quadratic", name]).tolist()
    print(f"{name:<9} {key:<22} {lr_x:>10.3g} {lr_y:>10.3g} {lr_x / lr_y:>10.1f}")
    assert 3 < lr_x / lr_y < 50  # several times smaller for y, but not the full factor 50 (see below)

# %% [markdown]
# The steep $y$-direction, whose gradients were large, gets a learning rate several times smaller than the flat
# $x$-direction (the last column), without anyone telling the optimizer which is which. The scaling follows the size
# of past gradients, not the curvature itself, so it is not exactly the factor 50 that would make the valley round,
# but it removes most of the imbalance. (Once a coordinate has converged its gradients vanish, so $s$ and $\hat v$
# decay and its learning rate grows back. Adagrad's sum never decays, which is why it stalls.)
#
# You can also set different learning rates for different parts of a network by hand, with **parameter
# groups**: each group is a dict with its own options, and the rest come from the defaults. A common use is
# fine-tuning (Lecture 08): a small learning rate for the pretrained body, a larger one for the new head.

# %%
net = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD([{"params": net[0].parameters(), "lr": 1e-3},   # the "body": small steps
                       {"params": net[2].parameters()}],              # the "head": the default below
                      lr=1e-2, momentum=0.9)
for i, group in enumerate(opt.param_groups):
    print(f"group {i}: {sum(p.numel() for p in group['params']):>7,} parameters, lr = {group['lr']}, "
          f"momentum = {group['momentum']}")

# %% [markdown]
# ## 6. Learning-rate schedules
#
# Even a good optimizer is usually run with a learning rate that changes over time. At the start we want
# large steps to make fast progress. At the end we want small steps, so that the parameters settle into a
# minimum instead of bouncing around in it: with mini-batch noise, a constant $\alpha$ keeps the iterates in a
# noise ball whose size grows with $\alpha$. The common schedules, all in `torch.optim.lr_scheduler`:
#
# - **Step decay** (`StepLR`): divide $\alpha$ by 10 every few epochs (the ResNet recipe: at epochs 30, 60, 90).
# - **Cosine annealing** (`CosineAnnealingLR`): $\alpha_t = \tfrac12 \alpha_0 \,(1 + \cos(\pi t / T))$, from $\alpha_0$
#   smoothly down to 0 at step $T$.
# - **Warm-up** (`LinearLR`, chained with `SequentialLR`): start tiny and grow linearly for the first few hundred
#   or thousand steps. Early gradients are large and erratic, and Adam's $\hat v$ is estimated from very few
#   steps, so full-size steps at the start can throw the network into a bad region. Warm-up + cosine is the
#   usual recipe for transformers.
# - **One-cycle** (`OneCycleLR`): warm up to a large maximum for the first part of the run (`pct_start=0.3` by
#   default), then anneal to almost 0. It also moves the momentum the opposite way, from `max_momentum=0.95`
#   down to `base_momentum=0.85` and back. It is stepped after every batch, and often
#   trains fastest for a fixed budget; Lecture 04 used it.
#
# (A fifth kind, `ReduceLROnPlateau`, divides $\alpha$ when the validation loss stops improving.) Here are the
# curves produced by PyTorch's own schedulers over 100 steps with $\alpha_0 = 0.1$:

# %%
def schedule_curve(make_scheduler, steps=100, base_lr=0.1):
    """Learning rate and momentum at each step of a scheduler attached to a dummy SGD optimizer."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr, momentum=0.9)
    scheduler = make_scheduler(opt)
    lrs, momenta = [], []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        momenta.append(opt.param_groups[0]["momentum"])
        opt.step()  # no gradients here, so a no-op; schedulers expect it before their own step
        scheduler.step()
    return lrs, momenta


sched = torch.optim.lr_scheduler
SCHEDULES = {
    "constant": lambda o: sched.ConstantLR(o, factor=1.0),
    "step (÷10 every 30)": lambda o: sched.StepLR(o, step_size=30, gamma=0.1),
    "cosine": lambda o: sched.CosineAnnealingLR(o, T_max=100),
    "warm-up 10 + cosine": lambda o: sched.SequentialLR(
        o, [sched.LinearLR(o, start_factor=0.01, total_iters=10), sched.CosineAnnealingLR(o, T_max=90)],
        milestones=[10]),
    "one-cycle": lambda o: sched.OneCycleLR(o, max_lr=0.1, total_steps=100),
}
curves = {name: schedule_curve(make) for name, make in SCHEDULES.items()}

fig, (ax_lr, ax_mom) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1.6, 1]})
for name, (lrs, _) in curves.items():
    ax_lr.plot(lrs, label=name, lw=2 if name == "one-cycle" else 1.4)
ax_lr.set(xlabel="step", ylabel="learning rate", title="learning-rate schedules (torch.optim.lr_scheduler)")
ax_lr.legend(fontsize=8)
ax_lr.grid(alpha=0.3)
ax_mom.plot(curves["one-cycle"][1], color="C4")
ax_mom.set(xlabel="step", ylabel="momentum", title="one-cycle also cycles the momentum")
ax_mom.grid(alpha=0.3)
plt.tight_layout()
plt.show()

steps_shown = [0, 5, 10, 29, 30, 50, 75, 99]
print(f"{'schedule':<20}" + "".join(f"{'step ' + str(s):>9}" for s in steps_shown))
for name, (lrs, _) in curves.items():
    print(f"{name:<20}" + "".join(f"{lrs[s]:>9.4f}" for s in steps_shown))

# %% [markdown]
# ## 7. The optimizers on a real task: Fashion-MNIST
#
# Now a real network: a multilayer perceptron 784 → 256 → 128 → 10 with ReLU, trained for 2 epochs on 20 000
# Fashion-MNIST training images, batch size 128. Every run starts from the same initial weights and sees the
# same batches in the same order, so the optimizer is the only difference. The learning rates are each
# method's usual starting point: $\alpha = 0.05$ for both SGD variants (so momentum's steps are up to 10× larger)
# and $10^{-3}$ for the adaptive ones, all decayed to 0 with the same cosine schedule (section 6). A sixth run
# repeats RMSProp with a constant learning rate, to show what the schedule does.
#
# To get curves and not just two points, we evaluate on the 10 000 test images every quarter epoch. `fit` runs
# one epoch over whatever loader it gets, so we give it a quarter of the training set at a time. The model and
# the optimizer (with its state) simply carry on from one call to the next.

# %%
test_set = load_fashion_mnist(train=False)
x_test, y_test = image_tensors(test_set)
N_TRAIN, BATCH, EPOCHS, ROUNDS_PER_EPOCH = 20_000, 128, 2, 4
x_sub, y_sub = x_train[:N_TRAIN], y_train[:N_TRAIN]
quarters = [TensorLoader(x_sub[i::ROUNDS_PER_EPOCH], y_sub[i::ROUNDS_PER_EPOCH], batch_size=BATCH,
                         shuffle=True, device=device) for i in range(ROUNDS_PER_EPOCH)]
val_loader = TensorLoader(x_test, y_test, batch_size=2000, device=device)
total_steps = EPOCHS * sum(len(q) for q in quarters)


def make_mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10)).to(device)


def cosine(optimizer):
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)  # stepped after every batch


RUNS = {  # name -> (optimizer for the parameters, scheduler for the optimizer or None)
    "SGD": (lambda p: torch.optim.SGD(p, lr=0.05), cosine),
    "SGD+momentum": (lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), cosine),
    "RMSProp": (lambda p: torch.optim.RMSprop(p, lr=1e-3), cosine),
    "Adam": (lambda p: torch.optim.Adam(p, lr=1e-3), cosine),
    "AdamW": (lambda p: torch.optim.AdamW(p, lr=1e-3, weight_decay=1e-2), cosine),
    "RMSProp, constant lr": (lambda p: torch.optim.RMSprop(p, lr=1e-3), None),
}


def train_with(make_optimizer, make_scheduler):
    """Train a fresh MLP; return (history with one value per quarter epoch, optimizer, seconds)."""
    seed_everything(0)  # the same initial weights for every optimizer ...
    model = make_mlp()
    optimizer = make_optimizer(model.parameters())
    scheduler = make_scheduler(optimizer) if make_scheduler else None
    history = {"train_loss": [], "val_loss": [], "val_acc": []}
    start = time.perf_counter()
    for round_ in range(EPOCHS * ROUNDS_PER_EPOCH):
        loader = quarters[round_ % ROUNDS_PER_EPOCH]
        loader.generator = torch.Generator().manual_seed(round_)  # ... and the same batches
        h = fit(model, loader, optimizer, epochs=1, val_loader=val_loader, scheduler=scheduler, device=device,
                plot=False, progress=False)
        for key in history:
            history[key] += h[key]
    return history, optimizer, time.perf_counter() - start


histories, mlp_optimizers, seconds = {}, {}, {}
for name, (make_optimizer, make_scheduler) in RUNS.items():
    histories[name], mlp_optimizers[name], seconds[name] = train_with(make_optimizer, make_scheduler)
    print(f"{name:<21} done in {seconds[name]:.1f} s")

# %%
epochs_axis = [(r + 1) / ROUNDS_PER_EPOCH for r in range(EPOCHS * ROUNDS_PER_EPOCH)]
fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.6))
for name, h in histories.items():
    style = dict(ls="--" if "constant" in name else "-", marker="o", ms=3)
    ax_loss.plot(epochs_axis, h["train_loss"], label=name, **style)
    ax_acc.plot(epochs_axis, h["val_acc"], label=name, **style)
ax_loss.set(xlabel="epoch", ylabel="training loss (mean over the quarter epoch)", title="training loss")
ax_acc.set(xlabel="epoch", ylabel="accuracy", title="test accuracy, every quarter epoch")
for ax in (ax_loss, ax_acc):
    ax.grid(alpha=0.3)
ax_acc.legend(fontsize=8)
plt.tight_layout()
plt.show()

print(f"{'optimizer':<21} {'train loss, epoch 2':>19} {'final test acc':>15} {'best test acc':>14} "
      f"{'min-max, epoch 2':>17} {'time':>6}")
for name, h in histories.items():
    second_epoch = h["val_acc"][ROUNDS_PER_EPOCH:]
    train_loss = sum(h["train_loss"][ROUNDS_PER_EPOCH:]) / ROUNDS_PER_EPOCH
    print(f"{name:<21} {train_loss:>19.3f} {h['val_acc'][-1]:>15.2%} {max(h['val_acc']):>14.2%} "
          f"{min(second_epoch):>10.1%}-{max(second_epoch):.1%} {seconds[name]:>5.1f}s")

# %% [markdown]
# What the runs show:
#
# - **Plain SGD** is clearly behind after 2 epochs, in training loss and in accuracy: with the same $\alpha$,
#   each of its steps is simply shorter than with momentum. (A larger $\alpha$ helps it, up to a point.)
# - **Momentum**, **RMSProp**, **Adam** and **AdamW** end within two points of each other. With
#   reasonable learning rates and a schedule, the choice among them matters much less than the pictures of
#   section 4 suggest. Adam and AdamW are indistinguishable here (their curves overlap): weight decay matters
#   for generalisation over long training, not in 2 epochs.
# - **RMSProp with a constant learning rate** reaches about the same training loss as with the schedule, but
#   its test accuracy jumps up and down by several points from one evaluation to the next. Each step moves the
#   network by about $\alpha$ per weight, and one unlucky step can move the boundary between similar classes
#   (shirt, T-shirt, pullover, coat) across many test images. The cosine schedule makes the last steps tiny, so
#   the network settles. This is why practically every training recipe ends with a decaying learning rate, and
#   why one evaluation of a run with a constant learning rate is a noisy measurement.

# %%
def epoch2_range(name):
    accs = histories[name]["val_acc"][ROUNDS_PER_EPOCH:]
    return max(accs) - min(accs)


def epoch2_train_loss(name):
    return sum(histories[name]["train_loss"][ROUNDS_PER_EPOCH:]) / ROUNDS_PER_EPOCH


final_acc = {name: h["val_acc"][-1] for name, h in histories.items()}
good = [final_acc[name] for name in ("SGD+momentum", "RMSProp", "Adam", "AdamW")]
assert min(good) > final_acc["SGD"] + 0.02 and max(good) - min(good) < 0.02
assert abs(final_acc["Adam"] - final_acc["AdamW"]) < 0.005
assert abs(epoch2_train_loss("RMSProp, constant lr") / epoch2_train_loss("RMSProp") - 1) < 0.15
assert epoch2_range("RMSProp") < epoch2_range("RMSProp, constant lr") and epoch2_range("RMSProp, constant lr") > 0.03
assert final_acc["RMSProp"] > max(histories["RMSProp, constant lr"]["val_acc"])  # the schedule ends higher

# %% [markdown]
# ### Per-parameter learning rates in the trained network
#
# After training, Adam's state holds $\hat v$ for each of the network's 235 146 parameters. The effective
# learning rate $\alpha/(\sqrt{\hat v}+\varepsilon)$ multiplies the averaged gradient $\hat m$, so it is directly
# comparable to SGD's learning rate:

# %%
adam = mlp_optimizers["Adam"]
group = adam.param_groups[0]
alpha = group["initial_lr"]  # the cosine schedule has brought group["lr"] down to 0; use the base α
rates, labels = [], []
print(f"{'parameter':<15} {'shape':>10} {'min':>8} {'median':>8} {'max':>8}   zero-gradient entries")
for i, p in enumerate(group["params"]):
    state = adam.state[p]
    v_hat = state["exp_avg_sq"] / (1 - group["betas"][1] ** state["step"].item())
    rate = alpha / (v_hat.sqrt() + group["eps"])
    alive = v_hat > 0  # a weight that never received a gradient (e.g. into a dead ReLU) has v̂ = 0
    name = f"layer {i // 2 + 1} {'weight' if p.dim() == 2 else 'bias'}"
    rates.append(rate.cpu())
    labels.append(name)
    r = rate[alive]
    print(f"{name:<15} {str(tuple(p.shape)):>10} {r.min().item():>8.2g} {r.median().item():>8.2g} "
          f"{r.max().item():>8.2g}   {(~alive).sum().item()}")

fig, (ax_hist, ax_map) = plt.subplots(1, 2, figsize=(11, 3.4), gridspec_kw={"width_ratios": [1.7, 1]})
bins = torch.logspace(-3, 3, 61)
for rate, label in zip(rates[::2], labels[::2]):  # the three weight matrices
    ax_hist.hist(rate[rate < 1e5].clamp(1e-3, 1e3), bins=bins, alpha=0.6, label=label, density=True)
ax_hist.axvline(0.05, color="k", ls="--", lw=1, label="SGD's single α = 0.05")
ax_hist.set(xscale="log", xlabel="effective learning rate α / (√v̂ + ε)", ylabel="density",
            title=f"Adam (α = {alpha:g}): one learning rate per weight")
ax_hist.legend(fontsize=8)
pixel_rate = rates[0].median(dim=0).values.reshape(28, 28)  # layer 1: median over its 256 units, per input pixel
image = ax_map.imshow(pixel_rate, norm=LogNorm(), cmap="magma")
fig.colorbar(image, ax=ax_map, fraction=0.046)
ax_map.set_title("layer 1: median rate per input pixel", fontsize=10)
ax_map.axis("off")
plt.tight_layout()
plt.show()
print(f"layer-1 median rate: border pixels {pixel_rate[[0, -1]].median():.2f}, "
      f"central 14x14 {pixel_rate[7:21, 7:21].median():.2f}")
medians = [rate.median().item() for rate in rates[::2]]  # the three weight matrices
assert medians[0] > 5 * medians[-1] and pixel_rate[[0, -1]].median() > pixel_rate[7:21, 7:21].median()

# %% [markdown]
# Every parameter got its own learning rate. The biggest differences are between layers: the first layer's median
# rate is many times the last layer's, whose gradients are larger. Inside a layer the bulk spreads over about an
# order of magnitude, and a few weights with tiny gradients get rates hundreds of times the median. (Weights counted
# under "zero-gradient entries" never received any gradient: they connect two ReLU units that were never active on
# the same example.) The map on the right is the first layer's median rate for each input pixel: it shows the
# silhouette of the clothes. Pixels in the middle, where the images differ most, produce the largest gradients and
# get the smallest rates; the border, almost always background, gets the largest. Nobody could tune 235 146 learning
# rates by hand; Adam does it from the gradients alone.
#
# ## Summary
#
# - **Mini-batch SGD** averages the loss and its gradient over $B$ examples. The gradient is unbiased but noisy:
#   we measured $\mathbb{E}\lVert g_B - \nabla L\rVert^2 \propto 1/B$ on Fashion-MNIST, with the noise larger
#   than the gradient itself for $B=1$.
# - In an **ill-conditioned** valley (condition number $\kappa$), the steepest direction caps the learning rate
#   at $2/L$ and gradient descent needs about $\kappa$ steps.
# - **Momentum** $v \leftarrow \rho v + g,\ x \leftarrow x - \alpha v$ accumulates speed along consistent
#   directions and damps oscillations. **Nesterov** takes the gradient at the look-ahead point $x + \rho v$;
#   PyTorch stores the look-ahead point as the parameters, and we checked that both forms give the same path.
# - **Adagrad** ($G \leftarrow G + g^2$), **RMSProp** ($s \leftarrow \beta s + (1-\beta) g^2$) and **Adam** (both
#   moving averages, bias-corrected) divide each parameter's step by $\sqrt{\cdot}+\varepsilon$: a learning rate
#   per parameter. Adagrad's rate only decays; RMSProp and Adam forget. Without bias correction Adam's first
#   steps would be several times too long, and its steps stay too long for thousands of steps.
#   **AdamW** decouples weight decay.
# - On an axis-aligned quadratic the per-coordinate methods are unbeatable; on the curved, diagonal Rosenbrock
#   valley, momentum wins. On Fashion-MNIST, momentum and the adaptive methods all beat plain SGD clearly
#   after 2 epochs and end close to each other. No optimizer is best everywhere; Adam is
#   the robust default, and SGD with momentum, well tuned, is still used to train many vision models.
# - **Schedules** (step, cosine, warm-up, one-cycle) change $\alpha$ over training. Decaying $\alpha$ at the end
#   removes the noise-driven jitter: with a constant $\alpha$, RMSProp's test accuracy jumped by several points
#   between evaluations; with a cosine schedule it rose smoothly and ended higher.
#
# ## Try it yourself
#
# 1. Rotate the quadratic by 45°: replace it by $\tfrac12\,(u^2 + 50 w^2)$ with $u = (x+y)/\sqrt2$,
#    $w = (x-y)/\sqrt2$, and rerun section 4. What happens to the lead of Adagrad and RMSProp, and why? (Look at
#    section 5's per-coordinate learning rates.)
# 2. In the widget, find the largest learning rate for which plain SGD still converges on the quadratic. Does it
#    match $2/L = 0.04$? Then set Adam's $\beta_1$ (the momentum slider) to 0: how does Adam compare with RMSProp?
# 3. In the Fashion-MNIST comparison, give SGD+momentum a one-cycle schedule
#    (`OneCycleLR(optimizer, max_lr=0.1, total_steps=total_steps)`). Does it beat Adam? How large can plain SGD's
#    $\alpha$ get before it gets worse, and what does Adam do at $\alpha = 10^{-2}$?
