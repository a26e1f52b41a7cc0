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
# # Assignment 05 — Optimizers
#
# Every optimizer in the lecture turns the gradient $g = \nabla_\theta L$ into a step for the parameters
# $\theta$. Plain gradient descent takes $\theta \leftarrow \theta - \eta\,g$. Momentum adds inertia: it
# remembers where past gradients pointed. Adagrad and RMSProp give each parameter its own learning rate, scaled by how
# large that parameter's gradients have been. Adam does both. In this assignment you write four of them as real
# PyTorch optimizers, usable with any model exactly like `torch.optim.Adam`, and check them against PyTorch **step
# for step**:
#
# | part | what you build | matches | points |
# |---|---|---|---|
# | 1 | `SGDMomentum`: SGD with momentum, Nesterov momentum and weight decay | `torch.optim.SGD` | 3 |
# | 2 | `Adagrad`: a per-parameter learning rate from the sum of squared gradients | `torch.optim.Adagrad` | 2 |
# | 3 | `RMSProp`: the same with a decaying average instead of a sum | `torch.optim.RMSprop` | 2 |
# | 4 | `Adam`: momentum + RMSProp + bias correction | `torch.optim.Adam` | 2 |
# | 5 | an experiment: how many steps GD, heavy-ball, Nesterov and Adam need on an ill-conditioned quadratic | — | 1 |
# | 6 | a fair race on a real dataset: every optimizer with its own best learning rate on Fashion-MNIST | — | 2 |
#
# **How grading works.** Write your code in the cells marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part is followed by a locked test cell. The tests you can see
# run small, hand-checkable examples and a short comparison with PyTorch in float64 and float32: run them as
# often as you like. At grading time the grader checks every part again, from outside your notebook, on other
# inputs: parameters of many shapes (scalars, vectors, matrices, 4-D convolution kernels) in float64 and float32,
# several parameter groups with different hyper-parameters, parameters without a gradient, zero and mostly-zero
# gradients, gradients written into the existing `p.grad`, a learning rate changed by a scheduler between steps,
# steps through a closure, and 50-60 steps of random gradients. After **every** step your parameters are compared
# with what the `torch.optim` class computes from the same gradients, so code that only works on the visible
# examples will not get the points. A part gives all of its points or none; when it fails, the feedback says
# which case and step went wrong and, where it recognises a common mistake, which one. The parts are graded
# independently: a missing Part 2 does not cost you Part 4.
#
# **Rules.** Write each update yourself with tensor operations. Your classes must subclass
# `torch.optim.Optimizer` directly and must not call, create, or inherit from PyTorch's optimizers (`torch.optim.SGD`,
# `torch.optim.Adam`, their functional forms in `torch.optim.sgd`, `torch.optim.adam`, …, or the fused kernels
# `torch._fused_adam_` and friends): the grader checks this. Follow the specifications exactly (names,
# arguments, defaults, the order of operations in the formulas). Run the whole notebook top to bottom
# (*Kernel → Restart & Run All*) before you submit; it takes well under a minute on a laptop CPU, no GPU needed.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import contextlib
import functools
import math

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F
from IPython.display import Markdown, display

from course_utils import TensorLoader, choose_device, image_tensors, load_fashion_mnist, make_spirals, seed_everything
from course_utils import testing as T

seed_everything(0)
torch.set_printoptions(precision=4)
print(choose_device(cpu_threads=1).summary())  # every tensor here is small: one CPU thread is fastest

# %% [markdown] nbgrader={"grade": false, "grade_id": "api_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## How a PyTorch optimizer is built
#
# A training loop talks to an optimizer through three calls: `opt.zero_grad()`, then `loss.backward()` (which
# fills `p.grad` for every parameter `p`), then `opt.step()`. Everything an optimizer needs comes from the base
# class `torch.optim.Optimizer`:
#
# - **`super().__init__(params, defaults)`**. `params` is either an iterable of tensors or a list of dicts,
#   the **parameter groups**, e.g. `[{"params": model.body.parameters()}, {"params": model.head.parameters(), "lr": 1e-3}]`.
#   `defaults` is a dict of your hyper-parameters (`{"lr": lr, "momentum": momentum, ...}`). The base class stores
#   the groups in **`self.param_groups`**, a list of dicts: each has a `"params"` list and every hyper-parameter,
#   the group's own value where it gave one and the default otherwise. So in `step()` always read the
#   hyper-parameters **from the group** (`group["lr"]`), never from the constructor's arguments: different groups
#   have different values, and a learning-rate scheduler changes `group["lr"]` between steps.
# - **`self.state`**, a dict from each parameter tensor to a dict of your own: the place for everything an
#   optimizer remembers between steps (a momentum buffer, a running average, a step count). It starts empty;
#   create a parameter's entries the first time that parameter is updated (`state = self.state[p]`, then
#   `if len(state) == 0: ...`).
# - **`zero_grad()`** is inherited: it sets every `p.grad` to `None`. Do not override it.
#
# You write **`step(closure=None)`**. It runs under `@torch.no_grad()` (given), because the update itself must
# not be recorded by autograd: you change the leaf tensors **in place** (`p.add_(...)`, `p.addcdiv_(...)`) so that
# the model, which holds these very tensors, sees the new values. In `step()`:
#
# 1. If a `closure` is given (a function that zeroes the gradients, recomputes the loss, calls `backward()` and
#    returns the loss; some optimizers such as L-BFGS need it), call it **inside `with torch.enable_grad():`**
#    (autograd is off in `step()`) and remember its result. At the end, **return** that loss (`None` without a
#    closure).
# 2. For every group, for every parameter `p` in `group["params"]`: if **`p.grad is None`** the parameter did not
#    take part in this loss, so **skip it**: it is not changed and its state (step count included) does not
#    advance. Otherwise compute the update from `p.grad` and apply it to `p` in place.
# 3. **Never modify `p.grad`**: weight decay `g = p.grad + λp` must create a new tensor (`g = g.add(p, alpha=λ)`,
#    not `p.grad.add_(...)`), and a state buffer must be a copy (`g.clone()`), not `p.grad` itself.
#
# Handy in-place operations (all keep the dtype and device of `t`): `t.mul_(a)` ($t \leftarrow a\,t$),
# `t.add_(u, alpha=a)` ($t \leftarrow t + a\,u$), `t.addcmul_(u, v, value=a)` ($t \leftarrow t + a\,u\,v$),
# `t.addcdiv_(u, v, value=a)` ($t \leftarrow t + a\,u / v$); and `torch.zeros_like(p)` for a new buffer.
#
# Here is a complete example, **signSGD** ($\theta \leftarrow \theta - \eta\,\mathrm{sign}(g)$): it steps by
# exactly $\eta$ along each coordinate, whatever the size of the gradient. It counts each parameter's updates
# in `self.state[p]` only to show how state is kept. Use it as the model for your classes. The cell also defines
# `compare_with_torch`, which the visible tests use and which you can use to debug: it feeds your optimizer and
# PyTorch's the same random gradients and reports the first step where they disagree. In float64 it is strict
# (as strict as the grader): state kept in float32, for example by `torch.zeros(p.shape)` where
# `torch.zeros_like(p)` was meant, rounds every step and shows up as a difference, so it also checks that every
# state tensor has its parameter's dtype. `explained` turns the errors PyTorch raises for the usual slips into
# what to fix; the tests use it too.

# %% nbgrader={"grade": false, "grade_id": "signsgd", "locked": true, "schema_version": 3, "solution": false, "task": false}
class SignSGD(torch.optim.Optimizer):
    """theta <- theta - lr * sign(grad): every coordinate moves by exactly lr."""

    def __init__(self, params, lr=0.01):
        defaults = {"lr": lr}                  # the hyper-parameters; groups may override them
        super().__init__(params, defaults)     # fills self.param_groups and creates self.state

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():          # the closure calls backward(): autograd must be on
                loss = closure()
        for group in self.param_groups:
            lr = group["lr"]                   # read the group's value, not the constructor's argument
            for p in group["params"]:
                if p.grad is None:             # no gradient: skip the parameter entirely
                    continue
                state = self.state[p]
                if len(state) == 0:            # first update of p: create its state
                    state["updates"] = 0
                state["updates"] += 1
                p.add_(torch.sign(p.grad), alpha=-lr)   # in place, without touching p.grad
        return loss


@contextlib.contextmanager
def explained(what):
    """Re-raise the errors PyTorch gives for the usual slips in an optimizer as what to fix."""
    try:
        yield
    except RuntimeError as error:
        if "leaf Variable that requires grad" in str(error):
            raise AssertionError(f"{what} changed a parameter in place with autograd on: keep the "
                                 "@torch.no_grad() line above `def step`") from None
        raise
    except AttributeError as error:
        if "'NoneType' object" in str(error):
            raise AssertionError(f"{what} failed ({error}): a parameter whose p.grad is None took no part in the "
                                 "loss; skip it (`if p.grad is None: continue`)") from None
        raise
    except KeyError as error:
        raise AssertionError(f"{what} raised KeyError: {error}. A hyper-parameter belongs in the `defaults` given to "
                             "super().__init__(params, defaults), to be read from each group; a state entry must be "
                             "created on the parameter's first update") from None


def check_state_dtypes(optimizer, params):
    """Every tensor of a parameter's shape in optimizer.state[p] has p's dtype."""
    for i, p in enumerate(params):
        for key, value in optimizer.state[p].items() if p in optimizer.state else ():
            if isinstance(value, torch.Tensor) and value.shape == p.shape and value.dtype != p.dtype:
                raise AssertionError(f"state[{key!r}] of parameter {i} is {value.dtype} but the parameter is "
                                     f"{p.dtype}: create state tensors with torch.zeros_like(p) or g.clone(), so "
                                     "that they have the parameter's dtype")


def compare_with_torch(make_mine, make_torch, steps=30, seed=0, dtype=torch.float64):
    """Run two optimizers on identical copies of three parameters with the same random gradients.

    make_mine(params) and make_torch(params) build the optimizers from a list of 3 parameters of shapes
    (3,), (2, 4) and () (build parameter groups from slices of the list). Parameter 2 gets no gradient
    (grad None) on every third step; on even steps the gradients are written into the existing p.grad tensors,
    as zero_grad(set_to_none=False) followed by backward() would do. Raises AssertionError at the first step
    where the parameters differ by more than the grader's tolerance (float64: 1e-10 + 1e-9 * |PyTorch's|,
    float32: 2e-5 + 1e-4 * |PyTorch's|), or where a state tensor does not have its parameter's dtype.
    """
    atol, rtol = (1e-10, 1e-9) if dtype == torch.float64 else (2e-5, 1e-4)
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(shape, generator=gen, dtype=dtype) for shape in [(3,), (2, 4), ()]]
    mine = [p.clone().requires_grad_(True) for p in start]
    theirs = [p.clone().requires_grad_(True) for p in start]
    opt_mine, opt_theirs = make_mine(mine), make_torch(theirs)
    for step in range(1, steps + 1):
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if i == 2 and step % 3 == 0:
                a.grad = b.grad = None
            else:
                g = torch.randn(a.shape, generator=gen, dtype=dtype)
                if step % 2 == 0 and a.grad is not None and b.grad is not None:
                    a.grad.copy_(g)
                    b.grad.copy_(g)
                else:
                    a.grad, b.grad = g.clone(), g.clone()
        with explained(f"step() (in {dtype})"):
            opt_mine.step()
        opt_theirs.step()
        check_state_dtypes(opt_mine, mine)
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if a.dtype != dtype:
                raise AssertionError(f"parameter {i} changed its dtype from {dtype} to {a.dtype} at step {step}")
            excess = (a.detach() - b.detach()).abs() - (atol + rtol * b.detach().abs())
            if not bool((excess <= 0).all()):
                raise AssertionError(f"{dtype}: parameter {i} (shape {tuple(a.shape)}) differs after step {step} by up "
                                     f"to {(a.detach() - b.detach()).abs().max().item():.3g}:\n"
                                     f"  yours:   {a.detach().reshape(-1).tolist()}\n"
                                     f"  PyTorch: {b.detach().reshape(-1).tolist()}")


# signSGD on a tiny least-squares problem: every step moves each coordinate by exactly lr
w = torch.tensor([2.0, -1.0, 0.5], requires_grad=True)
opt = SignSGD([w], lr=0.25)
for step in range(4):
    opt.zero_grad()
    loss = ((w - torch.tensor([1.0, 0.0, 0.0])) ** 2).sum()
    loss.backward()
    opt.step()
    print(f"step {step + 1}: loss before the step {loss.item():.4f}, w = {w.detach().tolist()}")
print("state:", dict(opt.state[w]))

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — SGD with momentum, Nesterov momentum and weight decay (3 points)
#
# **Momentum** (the "heavy ball"). The lecture's update keeps a velocity (its $v$; PyTorch calls it the momentum
# buffer $b$) that accumulates gradients, and moves the parameters along it:
#
# $$b \leftarrow \mu\,b + g, \qquad \theta \leftarrow \theta - \eta\,b .$$
#
# With $\mu = 0.9$ a constant gradient builds up to a step $1/(1-\mu) = 10$ times larger than plain SGD's, while
# gradients that keep changing sign (the zig-zag across a narrow valley) largely cancel.
#
# **Nesterov momentum** evaluates the gradient at the look-ahead point, where the momentum is about to carry
# us: with the velocity $v$ measured as a step, $v \leftarrow \mu v - \eta\,\nabla L(\theta + \mu v)$,
# $\theta \leftarrow \theta + v$. PyTorch uses an equivalent form that needs only the gradient at the current
# parameters: its parameters *are* the look-ahead point $\theta' = \theta + \mu v$ (substitute it, and
# $v = -\eta\,b$, to check). The buffer is updated as above, and the step uses $g + \mu\,b$ instead of $b$.
#
# **Weight decay** $\lambda$ adds the gradient of the L2 penalty $\frac{\lambda}{2}\lVert\theta\rVert^2$
# to the gradient before anything else ("coupled" weight decay, as in `torch.optim.SGD`).
#
# **The exact update** (`torch.optim.SGD` with `dampening=0`), for each parameter with a gradient, using its
# group's `lr` $=\eta$, `momentum` $=\mu$, `weight_decay` $=\lambda$ and `nesterov`:
#
# 1. $g \leftarrow \nabla_\theta L + \lambda\,\theta$ (only if $\lambda \ne 0$; a new tensor, `p.grad` stays as it is)
# 2. if $\mu \ne 0$:
#    - on the parameter's first update the buffer **is a copy of** $g$: $b \leftarrow g$;
#      afterwards $b \leftarrow \mu\,b + g$ (keep $b$ in `self.state[p]`);
#    - the direction is $d = g + \mu\,b$ if `nesterov` else $d = b$.
#
#    if $\mu = 0$: $d = g$ (no state needed).
# 3. $\theta \leftarrow \theta - \eta\,d$
#
# (Starting $b$ at zero and always applying $b \leftarrow \mu b + g$ gives the same first buffer, $g$.)
#
# ### What to implement
#
# `SGDMomentum(params, lr, momentum=0.0, weight_decay=0.0, nesterov=False)`: the constructor passes the four
# hyper-parameters as `defaults` (keys `"lr"`, `"momentum"`, `"weight_decay"`, `"nesterov"`) to
# `super().__init__`; `step(closure=None)` applies the update above to every parameter with a gradient, in every
# group, with that group's hyper-parameters, and returns the closure's loss (or `None`).

# %% nbgrader={"grade": false, "grade_id": "sgd_momentum", "locked": false, "schema_version": 3, "solution": true, "task": false}
class SGDMomentum(torch.optim.Optimizer):
    """SGD with optional (Nesterov) momentum and coupled weight decay; equals torch.optim.SGD with dampening=0."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        ### BEGIN SOLUTION
        defaults = {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov}
        super().__init__(params, defaults)
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                if mu != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        state["momentum_buffer"] = g.clone()
                    else:
                        state["momentum_buffer"].mul_(mu).add_(g)
                    buf = state["momentum_buffer"]
                    g = g.add(buf, alpha=mu) if group["nesterov"] else buf
                p.add_(g, alpha=-lr)
        return loss
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_sgd_momentum", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T  # noqa: F811 (each test cell imports what it uses)

assert issubclass(SGDMomentum, torch.optim.Optimizer), "SGDMomentum must subclass torch.optim.Optimizer"

# the constructor hands the four hyper-parameters to the base class
p = torch.tensor(1.0, requires_grad=True)
with explained("SGDMomentum([p], lr=0.1)"):
    opt = SGDMomentum([p], lr=0.1)
expected = {"lr": 0.1, "momentum": 0.0, "weight_decay": 0.0, "nesterov": False}
assert {key: opt.defaults.get(key) for key in expected} == expected, \
    f"pass the hyper-parameters to super().__init__(params, defaults) with defaults = {expected}; got {opt.defaults}"

# constant gradient 1 from theta = 1, lr = 0.1
with explained("step()"):
    T.assert_close(T.trace(opt, p, [1.0, 1.0, 1.0]), [0.9, 0.8, 0.7],
                   atol=1e-6, rtol=0, name="plain SGD (momentum=0)")
p = torch.tensor(1.0, requires_grad=True)
T.assert_close(T.trace(SGDMomentum([p], lr=0.1, momentum=0.9), p, [1.0, 1.0, 1.0]), [0.9, 0.71, 0.439],
               atol=1e-6, rtol=0, name="momentum 0.9: buffers 1, 1.9, 2.71, steps 0.1, 0.19, 0.271")
p = torch.tensor(1.0, requires_grad=True)
T.assert_close(T.trace(SGDMomentum([p], lr=0.1, momentum=0.9, nesterov=True), p, [1.0, 1.0, 1.0]), [0.81, 0.539, 0.1951],
               atol=1e-6, rtol=0, name="Nesterov 0.9: directions g + 0.9*b = 1.9, 2.71, 3.439")
p = torch.tensor(2.0, requires_grad=True)
T.assert_close(T.trace(SGDMomentum([p], lr=0.1, weight_decay=0.5), p, [0.0, 0.0]), [1.9, 1.805],
               atol=1e-6, rtol=0, name="weight decay 0.5 with a zero gradient: g = 0.5 * theta, so theta shrinks by 5% per step")

# a parameter without a gradient is skipped; the gradient itself is never modified
p, q = torch.tensor([1.0, -1.0], requires_grad=True), torch.tensor([5.0], requires_grad=True)
opt = SGDMomentum([p, q], lr=0.5, momentum=0.9, weight_decay=0.1)
p.grad = torch.tensor([1.0, 2.0])
with explained("step() with q.grad = None"):
    opt.step()
assert q.tolist() == [5.0], f"q has no gradient (q.grad is None): it must not change, got {q.tolist()}"
assert p.grad.tolist() == [1.0, 2.0], f"step() must not modify p.grad (got {p.grad.tolist()}): use g = g.add(...)"
T.assert_close(p.tolist(), [0.45, -1.95], atol=1e-6, rtol=0, name="theta - lr * (grad + 0.1 * theta)")

# the buffer is a copy: a gradient written into the existing p.grad must not change it
p = torch.tensor([1.0], requires_grad=True)
opt = SGDMomentum([p], lr=0.1, momentum=0.5)
p.grad = torch.tensor([1.0])
opt.step()
p.grad.copy_(torch.tensor([3.0]))  # what zero_grad(set_to_none=False) + backward() do
opt.step()
T.assert_close(p.tolist(), [1.0 - 0.1 * 1.0 - 0.1 * (0.5 * 1.0 + 3.0)], atol=1e-6, rtol=0,
               name="buffers 1 then 0.5 * 1 + 3 = 3.5 (the first buffer is g.clone(), not p.grad itself)")

# step(closure) calls the closure with autograd on and returns its loss
w = torch.tensor([3.0], requires_grad=True)
T.check_closure(SGDMomentum([w], lr=0.25), w)
assert w.tolist() == [1.5], f"one step on w**2 from w = 3 with lr = 0.25: w = 3 - 0.25 * 6 = 1.5, got {w.tolist()}"

# against PyTorch in float64 and float32, with two parameter groups and a parameter that sometimes has no gradient
for dtype in (torch.float64, torch.float32):
    compare_with_torch(lambda ps: SGDMomentum([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01, "nesterov": True, "weight_decay": 0.1}],
                                              lr=0.05, momentum=0.9),
                       lambda ps: torch.optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01, "nesterov": True, "weight_decay": 0.1}],
                                                  lr=0.05, momentum=0.9), dtype=dtype)
print("✓ Part 1: SGDMomentum matches torch.optim.SGD")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — Adagrad (2 points)
#
# One learning rate for millions of parameters is a compromise: parameters whose gradients are large would like
# smaller steps, rarely-updated ones larger steps. **Adagrad** keeps, per coordinate, the **sum of all squared
# gradients** so far, $G$, and divides the step by its square root. A coordinate with consistently large
# gradients gets a small effective learning rate, a coordinate that rarely sees a gradient keeps a large one.
# Since $G$ only grows, every effective learning rate shrinks over time: fine for convex problems, often too
# early a stop for deep networks (which is what RMSProp fixes).
#
# **The exact update** (`torch.optim.Adagrad` with `lr_decay=0`, `initial_accumulator_value=0`), elementwise, for
# each parameter with a gradient, with its group's `lr` $=\eta$, `eps` $=\varepsilon$, `weight_decay` $=\lambda$:
#
# 1. $g \leftarrow \nabla_\theta L + \lambda\,\theta$ (only if $\lambda \ne 0$; a new tensor)
# 2. $G \leftarrow G + g^2$, with $G$ starting at **zeros** (same shape as $\theta$) in `self.state[p]`
# 3. $\theta \leftarrow \theta - \eta\,\dfrac{g}{\sqrt{G} + \varepsilon}$
#
# Note where $\varepsilon$ goes: it is added **after** the square root, $\sqrt{G} + \varepsilon$, not
# $\sqrt{G + \varepsilon}$ (the lecture's slide leaves the square root out; PyTorch has it). $\varepsilon$ only
# protects against division by zero: a coordinate whose gradient has always been exactly zero has $G = 0$ and
# gets the step $0 / \varepsilon = 0$.
#
# ### What to implement
#
# `Adagrad(params, lr=1e-2, eps=1e-10, weight_decay=0.0)`: `defaults` with the keys `"lr"`, `"eps"`,
# `"weight_decay"`; `step(closure=None)` as in Part 1.

# %% nbgrader={"grade": false, "grade_id": "adagrad", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Adagrad(torch.optim.Optimizer):
    """Adagrad; equals torch.optim.Adagrad with lr_decay=0 and initial_accumulator_value=0."""

    def __init__(self, params, lr=1e-2, eps=1e-10, weight_decay=0.0):
        ### BEGIN SOLUTION
        super().__init__(params, {"lr": lr, "eps": eps, "weight_decay": weight_decay})
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                state = self.state[p]
                if len(state) == 0:
                    state["sum"] = torch.zeros_like(p)
                state["sum"].addcmul_(g, g)
                p.addcdiv_(g, state["sum"].sqrt().add_(eps), value=-lr)
        return loss
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adagrad", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

assert issubclass(Adagrad, torch.optim.Optimizer), "Adagrad must subclass torch.optim.Optimizer"

# the constructor hands the three hyper-parameters (with their defaults) to the base class
p = torch.tensor(1.0, requires_grad=True)
with explained("Adagrad([p], lr=0.5)"):
    opt = Adagrad([p], lr=0.5)
expected = {"lr": 0.5, "eps": 1e-10, "weight_decay": 0.0}
assert {key: opt.defaults.get(key) for key in expected} == expected, \
    f"pass the hyper-parameters to super().__init__(params, defaults) with defaults = {expected}; got {opt.defaults}"

# constant gradient 1 from theta = 1, lr = 0.5: G = 1, 2, 3, so the steps are 0.5/1, 0.5/sqrt(2), 0.5/sqrt(3)
with explained("step()"):
    T.assert_close(T.trace(opt, p, [1.0, 1.0, 1.0]), [0.5, 0.5 - 0.5 / 2 ** 0.5, 0.5 - 0.5 / 2 ** 0.5 - 0.5 / 3 ** 0.5],
                   atol=1e-6, rtol=0, name="Adagrad with a constant gradient: the steps shrink like 1/sqrt(t)")
# the step does not depend on the gradient's scale (first step: g / |g| = sign(g))
p = torch.tensor(1.0, requires_grad=True)
T.assert_close(T.trace(Adagrad([p], lr=0.5), p, [-100.0, 0.01]), [1.5, 1.5 - 0.5 * 0.01 / (100.0 ** 2 + 0.01 ** 2) ** 0.5],
               atol=1e-6, rtol=0, name="Adagrad with gradients -100, then 0.01")
# epsilon is added after the square root: 1 - 0.5 * 1 / (sqrt(1) + 0.5) = 0.6667 (not 1 - 0.5 / sqrt(1.5))
p = torch.tensor(1.0, requires_grad=True)
T.assert_close(T.trace(Adagrad([p], lr=0.5, eps=0.5), p, [1.0]), [1.0 - 0.5 / 1.5],
               atol=1e-6, rtol=0, name="Adagrad with eps=0.5: g / (sqrt(G) + eps)")
# weight decay: g = grad + 0.5 * theta = 1 at theta = 2 with a zero gradient
p = torch.tensor(2.0, requires_grad=True)
T.assert_close(T.trace(Adagrad([p], lr=0.1, weight_decay=0.5), p, [0.0]), [1.9],
               atol=1e-6, rtol=0, name="Adagrad with weight_decay=0.5")
# a coordinate whose gradient is always 0 does not move (0 / eps = 0); a parameter with grad None is skipped
p, q = torch.tensor([1.0, 1.0], requires_grad=True), torch.tensor(3.0, requires_grad=True)
opt = Adagrad([p, q], lr=0.1)
for _ in range(3):
    p.grad = torch.tensor([0.0, 2.0])
    with explained("step() with q.grad = None"):
        opt.step()
assert p[0].item() == 1.0 and q.item() == 3.0, f"zero gradients and grad None must not move anything: {p.tolist()}, {q.item()}"
assert p.grad.tolist() == [0.0, 2.0], "step() must not modify p.grad"

# step(closure) and zero_grad()
w = torch.tensor([3.0], requires_grad=True)
T.check_closure(Adagrad([w], lr=0.1), w)

# float64 parameters need float64 state: a G kept in float32 (torch.zeros(p.shape) instead of torch.zeros_like(p))
# rounds at every step, far beyond float64's precision (the grader compares float64 runs to about 1e-9)
p = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
opt = Adagrad([p], lr=0.1)
p.grad = torch.tensor([1e-3, 3e-4], dtype=torch.float64)
opt.step()
check_state_dtypes(opt, [p])
T.assert_close(p.tolist(), [1.0 - 0.1 * 1e-3 / (1e-3 + 1e-10), 2.0 - 0.1 * 3e-4 / (3e-4 + 1e-10)], atol=1e-12, rtol=0,
               name="the first float64 step, lr * g / (|g| + eps)")

# against PyTorch in float64 and float32, with two parameter groups and a parameter that sometimes has no gradient
for dtype in (torch.float64, torch.float32):
    compare_with_torch(lambda ps: Adagrad([{"params": ps[:1], "eps": 1e-3}, {"params": ps[1:], "weight_decay": 0.1}], lr=0.3),
                       lambda ps: torch.optim.Adagrad([{"params": ps[:1], "eps": 1e-3}, {"params": ps[1:], "weight_decay": 0.1}], lr=0.3),
                       dtype=dtype)
print("✓ Part 2: Adagrad matches torch.optim.Adagrad")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — RMSProp (2 points)
#
# **RMSProp** (Hinton, 2012) replaces Adagrad's ever-growing sum by an exponentially decaying average of
# squared gradients, so the effective learning rate follows the **recent** gradient scale instead of shrinking
# forever. With decay $\alpha = 0.99$ the average remembers roughly the last $1/(1-\alpha) = 100$ steps.
#
# **The exact update** (`torch.optim.RMSprop` with `momentum=0`, `centered=False`), elementwise, for each parameter
# with a gradient, with its group's `lr` $=\eta$, `alpha` $=\alpha$, `eps` $=\varepsilon$, `weight_decay` $=\lambda$:
#
# 1. $g \leftarrow \nabla_\theta L + \lambda\,\theta$ (only if $\lambda \ne 0$; a new tensor)
# 2. $v \leftarrow \alpha\,v + (1 - \alpha)\,g^2$, with $v$ starting at **zeros** in `self.state[p]`
# 3. $\theta \leftarrow \theta - \eta\,\dfrac{g}{\sqrt{v} + \varepsilon}$
#
# There is no bias correction: $v$ starts at zero, so for the first steps $\sqrt{v}$ underestimates the gradient
# scale and the steps are **larger** than $\eta$ (about $\eta/\sqrt{1-\alpha} = 10\eta$ on the first step
# with $\alpha = 0.99$). Adam (Part 4) corrects this.
#
# ### What to implement
#
# `RMSProp(params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0)`: `defaults` with the keys `"lr"`, `"alpha"`,
# `"eps"`, `"weight_decay"`; `step(closure=None)` as before.

# %% nbgrader={"grade": false, "grade_id": "rmsprop", "locked": false, "schema_version": 3, "solution": true, "task": false}
class RMSProp(torch.optim.Optimizer):
    """RMSProp; equals torch.optim.RMSprop with momentum=0 and centered=False."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        ### BEGIN SOLUTION
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay})
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                state = self.state[p]
                if len(state) == 0:
                    state["square_avg"] = torch.zeros_like(p)
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                p.addcdiv_(g, v.sqrt().add_(eps), value=-lr)
        return loss
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_rmsprop", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

assert issubclass(RMSProp, torch.optim.Optimizer), "RMSProp must subclass torch.optim.Optimizer"

# the constructor hands the four hyper-parameters (with their defaults) to the base class
p = torch.tensor(1.0, requires_grad=True)
with explained("RMSProp([p], lr=0.01, alpha=0.9)"):
    opt = RMSProp([p], lr=0.01, alpha=0.9)
expected = {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "weight_decay": 0.0}
assert {key: opt.defaults.get(key) for key in expected} == expected, \
    f"pass the hyper-parameters to super().__init__(params, defaults) with defaults = {expected}; got {opt.defaults}"

# constant gradient 1, alpha = 0.9, lr = 0.01: v = 0.1, 0.19, 0.271, steps 0.01 / sqrt(v)
steps = [0.01 / 0.1 ** 0.5, 0.01 / 0.19 ** 0.5, 0.01 / 0.271 ** 0.5]
with explained("step()"):
    T.assert_close(T.trace(opt, p, [1.0, 1.0, 1.0]), [1 - steps[0], 1 - steps[0] - steps[1], 1 - steps[0] - steps[1] - steps[2]],
                   atol=1e-6, rtol=0, name="RMSProp, constant gradient 1, alpha=0.9: v = 0.1, 0.19, 0.271 (v starts at 0)")
# epsilon after the square root: v = 0.1 * 4 = 0.4, step 0.1 * 2 / (sqrt(0.4) + 0.5)
p = torch.tensor(0.0, requires_grad=True)
T.assert_close(T.trace(RMSProp([p], lr=0.1, alpha=0.9, eps=0.5), p, [2.0]), [-0.2 / (0.4 ** 0.5 + 0.5)],
               atol=1e-6, rtol=0, name="RMSProp with eps=0.5: g / (sqrt(v) + eps)")
# weight decay, a zero coordinate, and a parameter without a gradient
p, q = torch.tensor([2.0, 0.0], requires_grad=True), torch.tensor(3.0, requires_grad=True)
opt = RMSProp([p, q], lr=0.1, alpha=0.75, weight_decay=0.5)
p.grad = torch.tensor([0.0, 0.0])
with explained("step() with q.grad = None"):
    opt.step()
T.assert_close(p.tolist(), [2.0 - 0.1 * 1.0 / (0.25 ** 0.5 + 1e-8), 0.0],
               atol=1e-6, rtol=0, name="RMSProp, weight_decay=0.5 at theta = (2, 0) with a zero gradient")
assert q.item() == 3.0 and p.grad.tolist() == [0.0, 0.0], "skip grad None, and do not modify p.grad"

# step(closure) and zero_grad()
w = torch.tensor([3.0], requires_grad=True)
T.check_closure(RMSProp([w], lr=0.1), w)

# float64 parameters need float64 state (see Part 2): first step lr * g / (sqrt((1 - alpha) g^2) + eps)
p = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
opt = RMSProp([p], lr=0.01)
p.grad = torch.tensor([0.5, -0.25], dtype=torch.float64)
opt.step()
check_state_dtypes(opt, [p])
T.assert_close(p.tolist(), [1.0 - 0.01 * 0.5 / (0.1 * 0.5 + 1e-8), 2.0 + 0.01 * 0.25 / (0.1 * 0.25 + 1e-8)], atol=1e-12, rtol=0,
               name="the first float64 step")

# against PyTorch in float64 and float32, with two parameter groups and a parameter that sometimes has no gradient
for dtype in (torch.float64, torch.float32):
    compare_with_torch(lambda ps: RMSProp([{"params": ps[:1], "alpha": 0.9}, {"params": ps[1:], "eps": 1e-2}], lr=0.01, weight_decay=0.1),
                       lambda ps: torch.optim.RMSprop([{"params": ps[:1], "alpha": 0.9}, {"params": ps[1:], "eps": 1e-2}], lr=0.01, weight_decay=0.1),
                       dtype=dtype)
print("✓ Part 3: RMSProp matches torch.optim.RMSprop")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Adam (2 points)
#
# **Adam** (Kingma & Ba, 2015) combines the two ideas: a decaying average of gradients $m$ (momentum) and a
# decaying average of squared gradients $v$ (RMSProp). Both start at zero, so early on they are biased towards
# zero: after the first step $m = (1-\beta_1)\,g$, only a tenth of the gradient with $\beta_1 = 0.9$. Adam
# divides them by $1 - \beta^t$, which is exactly the total weight the averages have put on gradients so far; with
# that **bias correction** the first step is $\eta\,g/(|g| + \varepsilon) \approx \eta\,\mathrm{sign}(g)$, and a constant
# gradient gives steps of exactly $\approx\eta$ from the very start.
#
# **The exact update** (`torch.optim.Adam`, with `amsgrad=False`), elementwise, for each parameter with a
# gradient, with its group's `lr` $=\eta$, `betas` $=(\beta_1, \beta_2)$, `eps` $=\varepsilon$,
# `weight_decay` $=\lambda$:
#
# 1. $t \leftarrow t + 1$: the number of updates of **this parameter** (kept in `self.state[p]`, starting at 0;
#    a parameter skipped because its gradient is `None` does not count the step)
# 2. $g \leftarrow \nabla_\theta L + \lambda\,\theta$ (only if $\lambda \ne 0$; a new tensor; this is Adam's
#    coupled L2 penalty, not AdamW's decoupled decay)
# 3. $m \leftarrow \beta_1\,m + (1 - \beta_1)\,g$ and $v \leftarrow \beta_2\,v + (1 - \beta_2)\,g^2$, both starting at
#    **zeros** in `self.state[p]`
# 4. $\hat m = m / (1 - \beta_1^{\,t})$, $\hat v = v / (1 - \beta_2^{\,t})$ (the state keeps the uncorrected $m$, $v$)
# 5. $\theta \leftarrow \theta - \eta\,\dfrac{\hat m}{\sqrt{\hat v} + \varepsilon}$ ($\varepsilon$ added **after** the square root of the **corrected** $\hat v$)
#
# ### What to implement
#
# `Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)`: `defaults` with the keys `"lr"`,
# `"betas"` (a tuple), `"eps"`, `"weight_decay"`; `step(closure=None)` as before.

# %% nbgrader={"grade": false, "grade_id": "adam", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Adam(torch.optim.Optimizer):
    """Adam with bias correction and coupled (L2) weight decay; equals torch.optim.Adam with amsgrad=False."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        ### BEGIN SOLUTION
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})
        ### END SOLUTION

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        ### BEGIN SOLUTION
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat = m / (1 - beta1 ** t)
                v_hat = v / (1 - beta2 ** t)
                p.addcdiv_(m_hat, v_hat.sqrt().add_(eps), value=-lr)
        return loss
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adam", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

assert issubclass(Adam, torch.optim.Optimizer), "Adam must subclass torch.optim.Optimizer"

# the constructor hands the four hyper-parameters (with their defaults) to the base class
p = torch.tensor(1.0, requires_grad=True)
with explained("Adam([p], lr=0.1)"):
    opt = Adam([p], lr=0.1)
expected = {"lr": 0.1, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}
assert {key: opt.defaults.get(key) for key in expected} == expected, \
    f"pass the hyper-parameters to super().__init__(params, defaults) with defaults = {expected}; got {opt.defaults}"

# a constant gradient: with bias correction m_hat = g and v_hat = g^2 exactly, so every step is lr * g / (|g| + eps)
with explained("step()"):
    T.assert_close(T.trace(opt, p, [2.0, 2.0, 2.0]), [0.9, 0.8, 0.7],
                   atol=1e-6, rtol=0, name="Adam, constant gradient 2, lr=0.1: steps of 0.1 from the first one (without bias correction the first is 0.316)")
# epsilon after the square root of the corrected v_hat: 0.1 * 2 / (2 + 1)
p = torch.tensor(1.0, requires_grad=True)
T.assert_close(T.trace(Adam([p], lr=0.1, eps=1.0), p, [2.0]), [1.0 - 0.2 / 3.0],
               atol=1e-6, rtol=0, name="Adam with eps=1: m_hat / (sqrt(v_hat) + eps)")
# gradients 1 then -1, betas (0.5, 0.5): m = 0.5, then 0.25 - 0.5 = -0.25; v = 0.5, then 0.75; t = 2 corrects by 0.75
p = torch.tensor(0.0, requires_grad=True)
m_hat, v_hat = -0.25 / 0.75, 0.75 / 0.75
T.assert_close(T.trace(Adam([p], lr=0.1, betas=(0.5, 0.5), eps=0.0), p, [1.0, -1.0]), [-0.1, -0.1 - 0.1 * m_hat / v_hat ** 0.5],
               atol=1e-6, rtol=0, name="Adam, betas=(0.5, 0.5), gradients 1 then -1")
# weight decay is added to the gradient: g = 0 + 0.5 * 2 = 1 > 0, a step of -lr
p = torch.tensor(2.0, requires_grad=True)
T.assert_close(T.trace(Adam([p], lr=0.1, weight_decay=0.5), p, [0.0]), [1.9],
               atol=1e-6, rtol=0, name="Adam, weight_decay=0.5 with a zero gradient")
# each parameter counts its own steps: q gets its first gradient at the second step, so its first step is lr * sign(g)
p, q = torch.tensor(0.0, requires_grad=True), torch.tensor(0.0, requires_grad=True)
opt = Adam([p, q], lr=0.1, betas=(0.5, 0.5))
p.grad = torch.tensor(1.0)
with explained("step() with q.grad = None"):
    opt.step()
p.grad, q.grad = torch.tensor(1.0), torch.tensor(3.0)
opt.step()
T.assert_close([q.item()], [-0.1],
               atol=1e-6, rtol=0, name="a parameter's first update (here at the optimizer's second step) must use t = 1 for that parameter")
assert q.grad.item() == 3.0, "step() must not modify p.grad"

# step(closure) and zero_grad()
w = torch.tensor([3.0], requires_grad=True)
T.check_closure(Adam([w], lr=0.1), w)

# float64 parameters need float64 state (see Part 2): with bias correction the first step is lr * g / (|g| + eps)
p = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
opt = Adam([p], lr=0.1)
p.grad = torch.tensor([0.5, -0.25], dtype=torch.float64)
opt.step()
check_state_dtypes(opt, [p])
T.assert_close(p.tolist(), [1.0 - 0.1 * 0.5 / (0.5 + 1e-8), 2.0 + 0.1 * 0.25 / (0.25 + 1e-8)], atol=1e-12, rtol=0,
               name="the first float64 step")

# against PyTorch in float64 and float32, with two parameter groups and a parameter that sometimes has no gradient
for dtype in (torch.float64, torch.float32):
    compare_with_torch(lambda ps: Adam([{"params": ps[:2], "betas": (0.8, 0.9)}, {"params": ps[2:], "eps": 1e-2}], lr=0.05, weight_decay=0.1),
                       lambda ps: torch.optim.Adam([{"params": ps[:2], "betas": (0.8, 0.9)}, {"params": ps[2:], "eps": 1e-2}], lr=0.05, weight_decay=0.1),
                       dtype=dtype)
print("✓ Part 4: Adam matches torch.optim.Adam")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — An experiment: momentum on an ill-conditioned quadratic (1 point)
#
# Near a minimum every smooth loss looks like a quadratic $f(x) = \tfrac12\,x^\top A\,x$. The eigenvalues of $A$
# are the curvatures along its principal axes; call the largest $L$ and the smallest $m$. Gradient descent is
# stable only for $\eta < 2/L$, so the steep direction dictates the step size and the flat direction, where the
# gradient is small, crawls. The **condition number** $\kappa = L/m$ measures how bad this is. The quadratic
# below has $\kappa = 25$, with its axes rotated by 30° so that they do not align with the coordinates.
#
# For quadratics the best hyper-parameters are known in closed form:
#
# | key | optimizer | hyper-parameters | error shrinks per step by about |
# |---|---|---|---|
# | `"gd"` | `torch.optim.SGD` | `lr` $= 2/(L + m)$ | $(\kappa - 1)/(\kappa + 1)$ |
# | `"heavy_ball"` | `torch.optim.SGD` | `lr` $= 4/(\sqrt{L} + \sqrt{m})^2$, `momentum` $= \left(\frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}\right)^2$ | $(\sqrt\kappa - 1)/(\sqrt\kappa + 1)$ |
# | `"nesterov"` | `torch.optim.SGD` | `lr` $= 1/L$, `momentum` $= \frac{\sqrt\kappa - 1}{\sqrt\kappa + 1}$, `nesterov=True` | $1 - 1/\sqrt\kappa$ |
# | `"adam"` | `torch.optim.Adam` | `lr` $= 0.3$, the other arguments at their defaults | — |
#
# Momentum replaces $\kappa$ by $\sqrt\kappa$: that is the whole point of it. Measure it.
#
# ### What to implement
#
# **`steps_to_reach(make_optimizer, tol=1e-6, max_steps=1000, loss_fn=quadratic, x0=X0)`**: minimise `loss_fn`
# starting from `x0` and count the steps. Exactly:
# 1. `x = x0.clone().requires_grad_(True)` (same dtype as `x0`, which you must not modify), then
#    `opt = make_optimizer([x])`.
# 2. For `t = 0, 1, 2, …`: compute `loss = loss_fn(x)` (a 0-dim tensor). If it is not finite (`nan` or `inf`:
#    the run diverged) return `None`; if `loss < tol` return `t` (a Python `int`: the number of optimizer steps
#    taken so far, `0` if `x0` is already good enough); if `t == max_steps` return `None`. Otherwise
#    `opt.zero_grad()`, `loss.backward()`, `opt.step()` and go on.
#
# **`STEPS`**: a dict with the four keys of the table, each the value of `steps_to_reach(make, tol=1e-6)` for that
# row's optimizer on `quadratic` from `X0` (the defaults). Compute $L$ and $m$ from `A_QUAD` with
# `torch.linalg.eigvalsh`. Use PyTorch's optimizers here, not yours, so that this part does not depend on the
# others (yours give the same numbers once Parts 1 and 4 pass).

# %% nbgrader={"grade": false, "grade_id": "quadratic", "locked": true, "schema_version": 3, "solution": false, "task": false}
_angle = math.radians(30.0)
_rotation = torch.tensor([[math.cos(_angle), -math.sin(_angle)], [math.sin(_angle), math.cos(_angle)]], dtype=torch.float64)
A_QUAD = _rotation @ torch.diag(torch.tensor([1.0, 25.0], dtype=torch.float64)) @ _rotation.T   # eigenvalues 1 and 25
X0 = torch.tensor([-3.0, 2.0], dtype=torch.float64)


def quadratic(x):
    """f(x) = x^T A x / 2 for the 2-D ill-conditioned quadratic (minimum 0 at x = 0)."""
    return 0.5 * x @ A_QUAD @ x


print(f"f(X0) = {quadratic(X0).item():.2f}; eigenvalues of A_QUAD: {torch.linalg.eigvalsh(A_QUAD).tolist()}")

# %% nbgrader={"grade": false, "grade_id": "steps_to_reach", "locked": false, "schema_version": 3, "solution": true, "task": false}
def steps_to_reach(make_optimizer, tol=1e-6, max_steps=1000, loss_fn=quadratic, x0=X0):
    """Optimizer steps until loss_fn(x) < tol first holds, starting at x0; None if diverged or not within max_steps."""
    ### BEGIN SOLUTION
    x = x0.clone().requires_grad_(True)
    opt = make_optimizer([x])
    for t in range(max_steps + 1):
        loss = loss_fn(x)
        value = loss.item()
        if not math.isfinite(value):
            return None
        if value < tol:
            return t
        if t == max_steps:
            return None
        opt.zero_grad()
        loss.backward()
        opt.step()
    ### END SOLUTION


# STEPS = {"gd": ..., "heavy_ball": ..., "nesterov": ..., "adam": ...}: the step counts for the table's optimizers
### BEGIN SOLUTION
curvature = torch.linalg.eigvalsh(A_QUAD)
m_small, L_big = curvature[0].item(), curvature[-1].item()
root = math.sqrt(L_big / m_small)
STEPS = {
    "gd": steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=2 / (L_big + m_small))),
    "heavy_ball": steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=4 / (math.sqrt(L_big) + math.sqrt(m_small)) ** 2,
                                                            momentum=((root - 1) / (root + 1)) ** 2)),
    "nesterov": steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=1 / L_big, momentum=(root - 1) / (root + 1),
                                                          nesterov=True)),
    "adam": steps_to_reach(lambda ps: torch.optim.Adam(ps, lr=0.3)),
}
### END SOLUTION
print(STEPS)

# %% nbgrader={"grade": true, "grade_id": "test_steps_to_reach", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
# by hand: f(x) = x^2 / 2 from x = 1 with lr = 0.5 halves x each step, so f = 0.5 * 0.25^t; below 1e-3 first at t = 5
half_square = lambda x: 0.5 * (x ** 2).sum()
one = torch.tensor([1.0], dtype=torch.float64)
got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=0.5), tol=1e-3, loss_fn=half_square, x0=one)
assert got is None or type(got) is int, f"steps_to_reach must return a Python int or None, got {type(got).__name__}"
assert got == 5, f"f = 0.5 * 0.25**t drops below 1e-3 after t = 5 steps, got {got!r}"
assert one.tolist() == [1.0] and not one.requires_grad, "steps_to_reach must not modify x0 (start from x0.clone())"
# the edge: tol first reached after exactly max_steps steps still counts (the loss at t == max_steps is checked)
got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=0.5), tol=1e-3, max_steps=5, loss_fn=half_square, x0=one)
assert got == 5, (f"with max_steps = 5, f after the 5th step is 0.5 * 0.25**5 < 1e-3: expected 5, got {got!r}. Check the "
                  "loss at t == max_steps before giving up")
got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=0.5), tol=1e-3, max_steps=4, loss_fn=half_square, x0=one)
assert got is None, f"with max_steps = 4 the search ends one step short: expected None, got {got!r}"
got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=1.0), tol=1e-3, loss_fn=half_square, x0=one)
assert got == 1, f"lr = 1 jumps to the minimum in one step, expected 1, got {got!r}"
got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=0.5), tol=1.0, loss_fn=half_square, x0=one)
assert got == 0, f"f(x0) = 0.5 < tol = 1 already: expected 0 steps, got {got!r}"
got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=0.0), tol=1e-3, max_steps=20, loss_fn=half_square, x0=one)
assert got is None, f"lr = 0 never gets there: expected None after max_steps, got {got!r}"
# lr = 3 diverges (x <- -2x): the loss overflows to inf after about 510 steps and the search must stop there
calls = [0]


def counted(x):
    calls[0] += 1
    return half_square(x)


got = steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=3.0), tol=1e-3, max_steps=5000, loss_fn=counted, x0=one)
assert got is None and calls[0] < 600, f"a diverging run must return None as soon as the loss is inf or nan (got {got!r} after {calls[0]} evaluations)"

# the experiment
assert type(STEPS) is type({}) and sorted(STEPS) == ["adam", "gd", "heavy_ball", "nesterov"], \
    'STEPS must be a dict with the keys "gd", "heavy_ball", "nesterov", "adam"'
assert all(type(v) is int for v in STEPS.values()), f"every optimizer in the table reaches tol = 1e-6 within 1000 steps: {STEPS}"
assert STEPS["heavy_ball"] * 2 < STEPS["gd"] and STEPS["nesterov"] * 2 < STEPS["gd"], \
    f"with the tuned hyper-parameters momentum should be several times faster than plain GD: {STEPS}"
print("✓ Part 5: steps_to_reach and STEPS pass the tests")

# %% [markdown]
# Momentum's $\sqrt\kappa$ speed-up is what the table promised: per step, plain GD shrinks the distance to the
# minimum, $\lVert x\rVert$, by the factor $(\kappa - 1)/(\kappa + 1) = 24/26 \approx 0.92$, the heavy ball (in the long
# run) by $(\sqrt\kappa - 1)/(\sqrt\kappa + 1) = 4/6 \approx 0.67$. The loss $f = \tfrac12 x^\top A x$ is quadratic in
# $x$, so it shrinks by the **square** of these factors: $(24/26)^2 \approx 0.85$ per step for GD. Adam needs no
# knowledge of $L$ and $m$, but on a quadratic it is not fast: with a constant learning rate it keeps stepping by
# roughly `lr` per coordinate until its second-moment estimate $\hat v$ catches up with the shrinking gradients.
#
# Below (ungraded) your own optimizers at work. Left: the loss of the four optimizers of the table on the
# quadratic, step by step; each curve first crosses the dashed line at the step count you reported in `STEPS`.
# GD's straight line on the log scale is a constant factor per step: the cell measures it from the curve and prints
# it next to $(24/26)^2$. The heavy ball first overshoots (the cell prints the steps at which its loss rises),
# then falls far faster than GD's; Nesterov's falls fast from the start. Adam's loss oscillates on its way down.
# Right: the paths of all six optimizers on the Rosenbrock function $f(x, y) = (1 - x)^2 + 100\,(y - x^2)^2$,
# whose minimum $(1, 1)$ (the star) lies at the end of a long, curved valley with an almost flat floor; a circle
# marks where each run ends. Plain GD, whose step is limited by the steep walls, has crawled only a short way
# along the floor. Momentum builds up speed along the floor and gets close to the minimum. Adagrad keeps the
# huge gradients of its first steps in its sum for ever, so its steps shrink and it stalls early in the valley;
# RMSProp's decaying average forgets them and keeps moving; Adam gets close.

# %%
def trajectory(make_optimizer, loss_fn, x0, steps):
    """The points an optimizer visits from x0: a (steps + 1, 2) tensor."""
    x = x0.clone().requires_grad_(True)
    opt = make_optimizer([x])
    points = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        loss_fn(x).backward()
        opt.step()
        points.append(x.detach().clone())
    return torch.stack(points)


def rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


root_kappa = 5.0  # sqrt(25 / 1)
on_quadratic = {
    "GD, lr = 2/(L+m)": lambda ps: SGDMomentum(ps, lr=2 / 26),
    "heavy ball (tuned)": lambda ps: SGDMomentum(ps, lr=4 / 36, momentum=((root_kappa - 1) / (root_kappa + 1)) ** 2),
    "Nesterov (tuned)": lambda ps: SGDMomentum(ps, lr=1 / 25, momentum=(root_kappa - 1) / (root_kappa + 1), nesterov=True),
    "Adam, lr = 0.3": lambda ps: Adam(ps, lr=0.3),
}
on_rosenbrock = {
    "GD, lr = 1e-3": lambda ps: SGDMomentum(ps, lr=1e-3),
    "momentum 0.9, lr = 1e-3": lambda ps: SGDMomentum(ps, lr=1e-3, momentum=0.9),
    "Nesterov 0.9, lr = 1e-3": lambda ps: SGDMomentum(ps, lr=1e-3, momentum=0.9, nesterov=True),
    "Adagrad, lr = 0.5": lambda ps: Adagrad(ps, lr=0.5),
    "RMSProp, lr = 0.01": lambda ps: RMSProp(ps, lr=0.01),
    "Adam, lr = 0.1": lambda ps: Adam(ps, lr=0.1),
}
fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5))
losses_on_quadratic = {}
for name, make in on_quadratic.items():
    try:
        path = trajectory(make, quadratic, X0, 160)
    except NotImplementedError:
        print(f"{name}: implement it first")
        continue
    losses_on_quadratic[name] = [quadratic(x).item() for x in path]
    left.semilogy(losses_on_quadratic[name], linewidth=1.2, label=name)
left.axhline(1e-6, color="gray", linestyle="--", linewidth=1, label="tol = 1e-6")
left.set(title="the quadratic (κ = 25)", xlabel="step", ylabel="f(x) (log scale)", ylim=(1e-12, 1e4))
left.legend(fontsize=8)

gx, gy = torch.meshgrid(torch.linspace(-2.0, 2.0, 200, dtype=torch.float64),
                        torch.linspace(-1.0, 3.0, 200, dtype=torch.float64), indexing="xy")
right.contour(gx, gy, rosenbrock(torch.stack([gx, gy])).add(1e-3).log10(), levels=20, colors="0.75", linewidths=0.6)
for name, make in on_rosenbrock.items():
    try:
        path = trajectory(make, rosenbrock, torch.tensor([-1.5, 2.0], dtype=torch.float64), 500)
    except NotImplementedError:
        print(f"{name}: implement it first")
        continue
    line, = right.plot(path[:, 0], path[:, 1], ".-", markersize=2.5, linewidth=1,
                       label=f"{name}: f = {rosenbrock(path[-1]).item():.1e}")
    right.plot(path[-1, 0], path[-1, 1], "o", color=line.get_color(), markersize=8, markerfacecolor="none")
right.plot(1.0, 1.0, "k*", markersize=12)
right.set(title="Rosenbrock: 500 steps from (-1.5, 2)", xlim=(-2.0, 2.0), ylim=(-1.0, 3.0), xlabel="x", ylabel="y")
right.legend(fontsize=8, loc="lower right")
plt.tight_layout()
plt.show()

if "GD, lr = 2/(L+m)" in losses_on_quadratic:
    f = losses_on_quadratic["GD, lr = 2/(L+m)"]
    print(f"GD: f shrinks by the factor {(f[100] / f[20]) ** (1 / 80):.4f} per step (measured over steps 20-100); "
          f"(24/26)^2 = {(24 / 26) ** 2:.4f}")
if "heavy ball (tuned)" in losses_on_quadratic:
    f = losses_on_quadratic["heavy ball (tuned)"]
    print(f"heavy ball: its loss rises at steps {[t for t in range(1, 21) if f[t] > f[t - 1]]} of its first 20")

# %% [markdown]
# Then your optimizers on a small training problem (ungraded): a two-hidden-layer MLP classifying the three
# spirals, full-batch, 200 steps each from the same initial weights. Compare momentum (heavy ball or Nesterov)
# with plain SGD, whose large learning rate makes the loss jump, and the adaptive methods with both; the cell
# prints which run is lowest early on and which ends lowest.
#
# **Learning-rate schedules** need nothing from your classes: a scheduler in `torch.optim.lr_scheduler` only
# rewrites `group["lr"]` between steps. That is why `step()` must read `group["lr"]` every time (the grader
# changes it mid-run). The last lines attach a cosine schedule to your `Adam` and print the learning rate it sets.

# %%
device = choose_device().device
x_sp, y_sp = make_spirals(n=300, classes=3, seed=0)
x_sp, y_sp = x_sp.to(device), y_sp.to(device)


def train_spirals(make_optimizer, steps=200):
    torch.manual_seed(0)  # the same initial weights for every optimizer
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)).to(device)
    opt = make_optimizer(model.parameters())
    losses = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x_sp), y_sp)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        accuracy = (model(x_sp).argmax(dim=1) == y_sp).float().mean().item()
    return losses, accuracy


runs = {
    "SGD, lr = 0.5": lambda ps: SGDMomentum(ps, lr=0.5),
    "momentum 0.9, lr = 0.1": lambda ps: SGDMomentum(ps, lr=0.1, momentum=0.9),
    "Nesterov 0.9, lr = 0.1": lambda ps: SGDMomentum(ps, lr=0.1, momentum=0.9, nesterov=True),
    "Adagrad, lr = 0.1": lambda ps: Adagrad(ps, lr=0.1),
    "RMSProp, lr = 3e-3": lambda ps: RMSProp(ps, lr=3e-3),
    "Adam, lr = 0.01": lambda ps: Adam(ps, lr=0.01),
}
fig, ax = plt.subplots(figsize=(8, 4.5))
spiral_losses = {}
for name, make in runs.items():
    try:
        spiral_losses[name], accuracy = train_spirals(make)
    except NotImplementedError:
        print(f"{name}: implement it first")
        continue
    ax.semilogy(spiral_losses[name], label=f"{name}: final loss {spiral_losses[name][-1]:.3f}, accuracy {accuracy:.0%}")
ax.set(xlabel="full-batch step", ylabel="training cross-entropy (log scale)", title="MLP on three spirals (300 points)")
ax.legend(fontsize=8)
plt.show()
if spiral_losses:
    print(f"lowest after 20 steps: {min(spiral_losses, key=lambda n: spiral_losses[n][19])}; "
          f"lowest at the end: {min(spiral_losses, key=lambda n: spiral_losses[n][-1])}")

try:
    w = torch.zeros(3, requires_grad=True)
    opt = Adam([w], lr=0.1)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8)
    schedule = []
    for _ in range(8):
        w.grad = torch.ones(3)
        opt.step()
        scheduler.step()
        schedule.append(round(opt.param_groups[0]["lr"], 4))
    print("cosine schedule, lr after each step:", schedule)
except NotImplementedError:
    print("Implement Adam (Part 4) first.")


# %% [markdown] nbgrader={"grade": false, "grade_id": "part6_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 6 — A fair race on a real dataset: Fashion-MNIST (2 points)
#
# A quadratic has one curvature per direction and no noise; a network has many parameters, noisy mini-batch
# gradients and a curvature that changes as it trains. The lecture raced the optimizers on Fashion-MNIST, each
# with its customary learning rate. That is not quite a fair race: an optimizer can lose only because its
# learning rate was wrong for the problem. Here every optimizer runs with the same grid of learning rates spanning four
# orders of magnitude, and is judged by its best one.
#
# The setting is fixed by the locked cell below: a multilayer perceptron 784 → 64 → 10 (`make_mlp(seed)`),
# trained for `EPOCHS` epochs on the first `N_TRAIN` Fashion-MNIST training images in mini-batches of `BATCH`,
# and measured by its accuracy on the first `N_VAL` test images (`val_accuracy(model)`). It runs on the CPU with
# one thread: the network is small enough for that to be fastest, and the grader can repeat your measurements.
#
# ### What to implement
#
# **`train_mlp(make_optimizer, seed=0, epochs=EPOCHS)`** trains one network and returns `(model, losses)`:
# 1. `model = make_mlp(seed)`, then `optimizer = make_optimizer(model.parameters())`.
# 2. The mini-batches come from `TensorLoader(train_images, train_labels, batch_size=BATCH, shuffle=True, seed=seed)`,
#    made **once**, before the first epoch: iterating over it again gives the next epoch, in a new order.
# 3. For each epoch and each batch `(x, y)`: `loss = F.cross_entropy(model(x), y)` (the mean over the batch),
#    `optimizer.zero_grad()`, `loss.backward()`, `optimizer.step()`, and append `loss.item()` to `losses`.
#
# `losses` is a list of Python floats, one per batch, in order: `epochs * N_TRAIN // BATCH` of them.
#
# **`lr_sweep(make_optimizer, learning_rates, seed=0)`** returns a dict `{lr: accuracy}`: for each `lr` in
# `learning_rates`, the `val_accuracy` of the model that `train_mlp` trains with the optimizer
# `make_optimizer(params, lr=lr)` and `seed`. `make_optimizer` is an optimizer class such as `torch.optim.Adam`,
# or a `functools.partial` of one that fixes other hyper-parameters.
#
# **`SWEEPS`**: `{name: lr_sweep(OPTIMIZERS[name], LEARNING_RATES)}` for every name in `OPTIMIZERS` (default seed).
# **`BEST_LR`**: `{name: the lr in SWEEPS[name] with the highest accuracy}` (the first such lr on a tie, as
# `max(sweep, key=sweep.get)` gives).
#
# `OPTIMIZERS` holds PyTorch's classes so that this part does not depend on Parts 1-4; yours give the same numbers
# (try it: replace `torch.optim.Adam` by your `Adam`).

# %% nbgrader={"grade": false, "grade_id": "fashion_setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
N_TRAIN, N_VAL, BATCH, EPOCHS = 5000, 2000, 100, 2
train_images, train_labels = image_tensors(load_fashion_mnist(train=True), limit=N_TRAIN)
val_images, val_labels = image_tensors(load_fashion_mnist(train=False), limit=N_VAL)
LEARNING_RATES = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
OPTIMIZERS = {  # name -> an optimizer class, called as OPTIMIZERS[name](params, lr=...)
    "sgd": torch.optim.SGD,
    "momentum": functools.partial(torch.optim.SGD, momentum=0.9),
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
}


def make_mlp(seed):
    """A fresh MLP 784 -> 64 -> 10 on the CPU; the same seed gives the same initial weights."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def val_accuracy(model):
    """The fraction of the N_VAL validation images that the model classifies correctly."""
    with torch.no_grad():
        return (model(val_images).argmax(dim=1) == val_labels).double().mean().item()


print(f"{len(train_labels)} training and {len(val_labels)} validation images of shape {tuple(train_images.shape[1:])}")

# %% nbgrader={"grade": false, "grade_id": "fashion", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_mlp(make_optimizer, seed=0, epochs=EPOCHS):
    """Train make_mlp(seed) with make_optimizer(model.parameters()); return (model, the per-batch training losses)."""
    ### BEGIN SOLUTION
    model = make_mlp(seed)
    optimizer = make_optimizer(model.parameters())
    batches = TensorLoader(train_images, train_labels, batch_size=BATCH, shuffle=True, seed=seed)
    losses = []
    for _ in range(epochs):
        for x, y in batches:
            loss = F.cross_entropy(model(x), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
    return model, losses
    ### END SOLUTION


def lr_sweep(make_optimizer, learning_rates, seed=0):
    """{lr: val_accuracy of the model train_mlp trains with make_optimizer(params, lr=lr)} for each lr."""
    ### BEGIN SOLUTION
    accuracies = {}
    for lr in learning_rates:
        model, _ = train_mlp(lambda params: make_optimizer(params, lr=lr), seed)  # noqa: B023 (called at once)
        accuracies[lr] = val_accuracy(model)
    return accuracies
    ### END SOLUTION


# SWEEPS = {name: lr_sweep(...) for every optimizer in OPTIMIZERS}; BEST_LR = {name: the best lr of SWEEPS[name]}
### BEGIN SOLUTION
SWEEPS = {name: lr_sweep(make, LEARNING_RATES) for name, make in OPTIMIZERS.items()}
BEST_LR = {name: max(sweep, key=sweep.get) for name, sweep in SWEEPS.items()}
### END SOLUTION
print("best learning rates:", BEST_LR)

# %% nbgrader={"grade": true, "grade_id": "test_fashion", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# with lr = 0 nothing changes, so the losses are those of make_mlp(seed) on the batches, in the loader's order
frozen = lambda params: torch.optim.SGD(params, lr=0.0)
model, losses = train_mlp(frozen, seed=0, epochs=1)
assert isinstance(model, nn.Module), f"train_mlp must return (model, losses); got a {type(model).__name__} first"
assert type(losses) is type([]) and all(type(v) is float for v in losses), \
    "losses must be a list of Python floats (loss.item() after each batch)"
assert len(losses) == N_TRAIN // BATCH, f"one loss per batch: expected {N_TRAIN // BATCH} for one epoch, got {len(losses)}"
start = make_mlp(0)
assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), start.state_dict().values())), \
    "with lr = 0 the model must come back as make_mlp(seed) made it: train make_mlp(seed) with make_optimizer(model.parameters())"
x, y = next(iter(TensorLoader(train_images, train_labels, batch_size=BATCH, shuffle=True, seed=0)))
with torch.no_grad():
    first, everything = F.cross_entropy(start(x), y).item(), F.cross_entropy(start(train_images), train_labels).item()
T.assert_close(losses[0], first, atol=1e-6, rtol=0,
               name="the first loss: the mean cross-entropy on the first batch of TensorLoader(..., shuffle=True, seed=seed)")
T.assert_close(sum(losses) / len(losses), everything, atol=1e-5, rtol=0,
               name="the mean of one epoch's losses: every training image once, the mean loss over all of them")
_, two_epochs = train_mlp(frozen, seed=0, epochs=2)
assert len(two_epochs) == 2 * len(losses) and two_epochs[:len(losses)] == losses, \
    "epochs=2 runs the first epoch exactly as epochs=1 does, then a second one"
assert two_epochs[len(losses):] != losses, \
    "the second epoch repeats the first one's batches: make the TensorLoader once, before the epochs, so it reshuffles"

# a real run learns, and lr_sweep measures what train_mlp trains
model, losses = train_mlp(lambda params: torch.optim.Adam(params, lr=1e-3), seed=0)
accuracy = val_accuracy(model)
assert sum(losses[-10:]) < sum(losses[:10]), "Adam with lr = 1e-3: the loss should fall during training"
assert accuracy > 0.7, f"Adam with lr = 1e-3 for {EPOCHS} epochs should classify most validation images, got {accuracy:.1%}"
sweep = lr_sweep(torch.optim.Adam, [0.0, 1e-3], seed=0)
assert type(sweep) is type({}) and list(sweep) == [0.0, 1e-3], f"lr_sweep must return {{lr: accuracy}} in the given order, got {sweep}"
T.assert_close(sweep[0.0], val_accuracy(start), atol=1e-9, rtol=0, name="lr_sweep at lr = 0: the untrained network's accuracy")
T.assert_close(sweep[1e-3], accuracy, atol=1e-9, rtol=0, name="lr_sweep at lr = 1e-3: the accuracy of train_mlp's model")

# the experiment
assert type(SWEEPS) is type({}) and list(SWEEPS) == list(OPTIMIZERS), f"SWEEPS needs one entry per optimizer: {list(OPTIMIZERS)}"
assert all(list(sweep) == LEARNING_RATES for sweep in SWEEPS.values()), "each sweep runs every lr of LEARNING_RATES"
assert all(type(a) is float and 0 <= a <= 1 for sweep in SWEEPS.values() for a in sweep.values()), \
    "each sweep maps a learning rate to an accuracy, a Python float between 0 and 1 (as val_accuracy returns)"
T.assert_close(SWEEPS["adam"][1e-3], accuracy, atol=1e-9, rtol=0, name='SWEEPS["adam"][1e-3] (the run above)')
assert BEST_LR == {name: max(sweep, key=sweep.get) for name, sweep in SWEEPS.items()}, \
    f"BEST_LR must hold each optimizer's best lr in SWEEPS, got {BEST_LR}"
print("✓ Part 6: train_mlp, lr_sweep, SWEEPS and BEST_LR pass the tests")

# %% [markdown]
# Each optimizer's accuracy against its learning rate (a log scale: each step of the grid is ten times the last).
# Before reading the summary under the figure, look for three things: where each optimizer's best learning rate
# lies, how wide its range of good learning rates is, and how far apart the optimizers are once each has its
# best.

# %%
fig, ax = plt.subplots(figsize=(7, 4))
for name, sweep in SWEEPS.items():
    ax.semilogx(list(sweep), list(sweep.values()), "o-", label=name)
ax.set(xlabel="learning rate", ylabel="validation accuracy", ylim=(0, 1),
       title=f"MLP 784-64-10 on Fashion-MNIST: {EPOCHS} epochs on {N_TRAIN} images")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()

tuned = {name: SWEEPS[name][lr] for name, lr in BEST_LR.items()}
shared_lr = 1e-3
at_shared = {name: sweep[shared_lr] for name, sweep in SWEEPS.items()}
good = {name: [lr for lr, a in sweep.items() if a >= tuned[name] - 0.02] for name, sweep in SWEEPS.items()}
display(Markdown(
    f"**Tuned**, each with its best learning rate, the optimizers end between {min(tuned.values()):.1%} "
    f"({min(tuned, key=tuned.get)}) and {max(tuned.values()):.1%} ({max(tuned, key=tuned.get)}): "
    f"{max(tuned.values()) - min(tuned.values()):.1%} apart. **With one shared learning rate**, "
    f"{shared_lr:g}, the same optimizers span {min(at_shared.values()):.1%} ({min(at_shared, key=at_shared.get)}) to "
    f"{max(at_shared.values()):.1%} ({max(at_shared, key=at_shared.get)}). The best learning rates themselves range from "
    f"{min(BEST_LR.values()):g} to {max(BEST_LR.values()):g}. Learning rates within two points of the best: "
    + "; ".join(f"{name} {', '.join(f'{lr:g}' for lr in lrs)}" for name, lrs in good.items()) + "."))
