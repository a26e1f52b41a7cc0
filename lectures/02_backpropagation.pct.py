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
# # Lecture 02 — Backpropagation
#
# A neural network is a long chain of simple, differentiable operations, and we train it by gradient
# descent: nudge every parameter a little against the gradient of the loss. Networks have millions of
# parameters, so we need all the partial derivatives $\partial L / \partial \theta$ at once, and cheaply.
# **Backpropagation** gives them. It is the chain rule from calculus, applied to a graph in a clever
# order, and the backward pass costs only about as much as one or two forward passes.
#
# In this lecture you will
#
# 1. draw a function as a **computational graph** and push gradients through it by hand with the chain rule;
# 2. learn the **local gradient** of each simple "gate" (add, multiply, max, exp, …), and why gradients
#    **add up** when a value is used twice;
# 3. backpropagate through **logistic regression** one gate at a time, then step through a forward and
#    backward pass in an interactive widget;
# 4. move to **matrices**: Jacobians, shape rules, and the two formulas behind every linear layer;
# 5. write a small **`Layer` API** (`forward`, `backward`, `update`) in plain tensors, with no autograd,
#    check it against PyTorch's autograd, and train it by gradient descent on a synthetic curve and on
#    a regression task built from real MNIST images.
#
# Throughout, `torch.autograd` (PyTorch's automatic differentiation) is our answer key: every gradient
# we compute by hand is compared with it.

# %%
import math
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from ipywidgets import IntSlider
from torch.autograd.functional import jacobian

from course_utils import (TensorLoader, choose_device, explore, image_tensors, load_mnist, seed_everything,
                          show_images)

# This lecture's tensors are tiny: on a CPU one thread is faster than splitting each operation.
choice = choose_device(cpu_threads=1)
print(choice.summary())
device = choice.device
seed_everything(0)

# %% [markdown]
# ## 1. Why gradients, and why backpropagation
#
# Training means minimising a loss $L(\theta)$ over the parameters $\theta$. Gradient descent repeats
#
# $$\theta \leftarrow \theta - \text{lr}\cdot\frac{\partial L}{\partial \theta},$$
#
# because the gradient points where $L$ grows fastest, so a small step against it lowers $L$. We write the
# gradient of the final output with respect to some value `x` as `dx` in code (so `dx` means
# $\partial L/\partial x$, or $\partial f/\partial x$), and the update reads `x ← x − lr·dx`.
#
# We could estimate each partial derivative numerically, $\big(L(\theta + \varepsilon e_i) - L(\theta -
# \varepsilon e_i)\big)/2\varepsilon$, but that costs two forward passes *per parameter*: for a million
# parameters, two million passes per step. Backpropagation gets all of them from **one forward and one
# backward pass**. (We will still use finite differences, on a few entries, to check our code.)

# %% [markdown]
# ## 2. The chain rule on a computational graph
#
# Take the function from the lecture notes,
#
# $$f(x, y, z) = (x + y)\cdot z \qquad\text{at}\qquad x=-2,\ y=5,\ z=-4 .$$
#
# Give the intermediate result a name, $q = x + y$, so that $f = q\cdot z$. The function is now two
# small operations, or **nodes**, connected into a graph: $x, y \to [+] \to q$, then $q, z \to [\times] \to f$.
#
# **Forward pass** (left to right): $q = -2 + 5 = 3$, $f = 3\cdot(-4) = -12$.
#
# **Backward pass** (right to left). Each node knows its own **local** derivatives:
# $\partial q/\partial x = \partial q/\partial y = 1$, and $\partial f/\partial q = z$, $\partial f/\partial z = q$.
# The **chain rule** glues them: $f$ depends on $x$ only through $q$, so
#
# $$\frac{\partial f}{\partial x} = \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial x} = z\cdot 1 = -4,
# \qquad \frac{\partial f}{\partial y} = \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial y} = -4,
# \qquad \frac{\partial f}{\partial z} = q = 3 .$$
#
# Each node only multiplies the gradient that arrives from above (its **upstream** gradient) by its own
# local derivative and passes the product down. No node needs to know what the rest of the graph does.
# In code, by hand:

# %%
x, y, z = -2.0, 5.0, -4.0

# forward pass
q = x + y            # 3
f = q * z            # -12

# backward pass: start from df/df = 1 and walk back through the graph
df_df = 1.0
df_dq = z * df_df    # local gradient of q·z with respect to q is z
df_dz = q * df_df    # ... and with respect to z it is q
df_dx = 1.0 * df_dq  # local gradient of x + y with respect to x is 1
df_dy = 1.0 * df_dq  # ... and with respect to y it is 1

print(f"forward : q = {q:g}, f = {f:g}")
print(f"backward: df/dq = {df_dq:g}, df/dx = {df_dx:g}, df/dy = {df_dy:g}, df/dz = {df_dz:g}")

# %% [markdown]
# ### A tiny graph engine and a drawing
#
# To draw graphs (and later animate them) we write a small engine. A `Graph` holds named nodes: inputs with
# a value, and operations on earlier nodes. Because each node may only use nodes added before it, the order
# in which nodes are added is a **topological order**: the forward pass walks it front to back, the
# backward pass back to front. Each operation is described by three things: how to compute it, its local
# gradients, and a formula for printing.
#
# The backward loop is the whole algorithm. For each node, from the output back: take the node's gradient,
# multiply it by each local gradient, and **add** (`+=`) the product to the gradient of that input.
# Section 3 explains why it is `+=` and not `=`.

# %%
# op symbol -> (forward function, local gradients given (inputs..., output), formula for printing)
OPS = {
    "+":   (lambda a, b: a + b, lambda a, b, out: (1.0, 1.0),                     "{0} + {1}"),
    "×":   (lambda a, b: a * b, lambda a, b, out: (b, a),                         "{0} · {1}"),
    "max": (max,                lambda a, b, out: (float(a >= b), float(a < b)), "max({0}, {1})"),
    "×2":  (lambda a: 2 * a,    lambda a, out: (2.0,),                            "2 · {0}"),
    "−":   (lambda a: -a,       lambda a, out: (-1.0,),                           "−({0})"),
    "exp": (math.exp,           lambda a, out: (out,),                            "exp({0})"),
    "+1":  (lambda a: a + 1,    lambda a, out: (1.0,),                            "{0} + 1"),
    "1/x": (lambda a: 1 / a,    lambda a, out: (-1 / a ** 2,),                    "1 / {0}"),
}


class Graph:
    """A scalar computational graph. Add inputs first, then operations on nodes already added."""

    def __init__(self):
        self.nodes = {}  # name -> {"op": symbol or None, "args": input names, "pos": (x, y) for drawing}
        self.values = {}

    def input(self, name, value, pos):
        self.nodes[name] = {"op": None, "args": (), "pos": pos}
        self.values[name] = float(value)

    def op(self, name, op, args, pos):
        assert all(a in self.nodes for a in args), f"{name}: add its inputs {args} first"
        self.nodes[name] = {"op": op, "args": tuple(args), "pos": pos}

    def run(self):
        """Forward pass in insertion order, backward pass in reverse; record one step per node for drawing."""
        inputs = [n for n, node in self.nodes.items() if node["op"] is None]
        ops = [n for n, node in self.nodes.items() if node["op"] is not None]
        out = self.output = ops[-1]
        self.steps = [(None, "inputs: " + ", ".join(f"{n} = {self.values[n]:g}" for n in inputs))]
        self.value_at = dict.fromkeys(inputs, 0)          # step at which each value becomes known

        for n in ops:                                      # forward pass
            op, args = self.nodes[n]["op"], self.nodes[n]["args"]
            forward, _, formula = OPS[op]
            self.values[n] = forward(*(self.values[a] for a in args))
            self.value_at[n] = len(self.steps)
            numbers = formula.format(*(f"{self.values[a]:.2f}" for a in args))
            self.steps.append((n, f"forward: {n} = {formula.format(*args)} = {numbers} = {self.values[n]:.2f}"))

        self.grads = dict.fromkeys(self.nodes, 0.0)        # backward pass
        self.grads[out] = 1.0
        self.seed_at = len(self.steps)
        self.steps.append((out, f"backward starts at the output: ∂{out}/∂{out} = 1"))
        self.edge_grads, self.grad_at = {}, {}             # per edge (input, node, slot): its contribution
        for n in reversed(ops):
            op, args = self.nodes[n]["op"], self.nodes[n]["args"]
            local = OPS[op][1](*(self.values[a] for a in args), self.values[n])
            parts = []
            for slot, (a, local_grad) in enumerate(zip(args, local)):
                contribution = self.grads[n] * local_grad  # upstream gradient × local gradient
                self.grads[a] += contribution              # += : a value used twice collects both
                self.edge_grads[(a, n, slot)] = contribution
                self.grad_at[(a, n, slot)] = len(self.steps)
                parts.append(f"∂{out}/∂{a} += {self.grads[n]:.2f} · {local_grad:.2f}")
            self.steps.append((n, f"backward through '{op}': " + ";  ".join(parts)))
        return self


# %% [markdown]
# The drawing shows each edge with the **forward value** travelling along it **above** the arrow (green)
# and the **gradient** of the output with respect to that value **below** it (red). The output gets a stub
# edge on the right whose gradient is 1 ($\partial f/\partial f$). `step` draws the graph part-way through
# the computation and highlights the node being computed; we use it for the widget in Section 5. A node
# whose value feeds several edges also shows the sum of their gradients ("Σ", see Section 3).

# %%
VALUE_COLOR, GRAD_COLOR, ACTIVE_COLOR, HOT_EDGE = "#1a7f37", "#c62828", "#ffd54f", "#ef6c00"
RADIUS = 0.3  # node radius, in the graph's coordinates


def draw_graph(graph, step=None, ax=None, title=None):
    """Draw `graph` (after `run()`) as it is after `step` steps, highlighting that step's node.

    With `step=None`, draw the finished computation without highlighting.
    """
    last = len(graph.steps) - 1
    if step is None:
        step, active, description = last, None, "forward values and gradients"
    else:
        step = max(0, min(int(step), last))
        active, description = graph.steps[step]
        description = f"step {step}/{last}: {description}"
    backward = step >= graph.seed_at
    pos = {n: np.array(node["pos"], dtype=float) for n, node in graph.nodes.items()}
    out = graph.output
    xs, ys = [p[0] for p in pos.values()], [p[1] for p in pos.values()]
    x0, x1, y0, y1 = min(xs) - 0.7, max(xs) + 2.0, min(ys) - 0.9, max(ys) + 0.8
    if ax is None:
        _, ax = plt.subplots(figsize=(0.85 * (x1 - x0), 0.85 * (y1 - y0) + 0.7))
    ax.set(xlim=(x0, x1), ylim=(y0, y1), aspect="equal")
    ax.axis("off")

    def label(point, text, color):
        ax.text(*point, text, color=color, ha="center", va="center", fontsize=9, fontweight="bold",
                bbox=dict(boxstyle="round,pad=0.12", fc="white", ec="none", alpha=0.85), zorder=4)

    def edge(start, end, value, grad, hot, from_input=False):
        direction = (end - start) / np.linalg.norm(end - start)
        a, b = start + (0.45 if from_input else RADIUS) * direction, end - RADIUS * direction
        ax.annotate("", xy=b, xytext=a, zorder=1, arrowprops=dict(
            arrowstyle="-|>", color=HOT_EDGE if hot else "0.45", lw=2.6 if hot else 1.2))
        normal = np.array([-direction[1], direction[0]])
        normal = normal if normal[1] >= 0 else -normal     # "above" the edge
        middle = a + 0.4 * (b - a)                           # before the middle: edges converge
        if value is not None:
            label(middle + 0.18 * normal, f"{value:.2f}", VALUE_COLOR)
        if grad is not None:
            label(middle - 0.18 * normal, f"{grad:.2f}", GRAD_COLOR)

    for n, node in graph.nodes.items():                     # edges into each operation
        for slot, a in enumerate(node["args"]):
            key = (a, n, slot)
            edge(pos[a], pos[n],
                 graph.values[a] if graph.value_at[a] <= step else None,
                 graph.edge_grads[key] if graph.grad_at[key] <= step else None,
                 hot=active == n and step != graph.seed_at, from_input=graph.nodes[a]["op"] is None)
    edge(pos[out], pos[out] + np.array([1.8, 0.0]),          # the output's stub edge
         graph.values[out] if graph.value_at[out] <= step else None,
         1.0 if backward else None, hot=active is not None and step == graph.seed_at)

    for n, node in graph.nodes.items():                      # nodes on top of the edges
        face = ACTIVE_COLOR if n == active else "white"
        if node["op"] is None:
            ax.text(*pos[n], n, ha="center", va="center", fontsize=11, zorder=5,
                    bbox=dict(boxstyle="round,pad=0.3", fc=face, ec="0.3"))
        else:
            ax.add_patch(plt.Circle(pos[n], RADIUS, fc=face, ec="0.2", lw=1.4, zorder=3))
            ax.text(*pos[n], node["op"], ha="center", va="center", fontsize=10 if len(node["op"]) < 3 else 8,
                    zorder=5)
            ax.text(pos[n][0], pos[n][1] + RADIUS + 0.12, n, ha="center", va="bottom", fontsize=9,
                    color="0.4", zorder=5)
        outgoing = [k for k in graph.edge_grads if k[0] == n]
        if len(outgoing) > 1 and all(graph.grad_at[k] <= step for k in outgoing):
            label(pos[n] + np.array([0, RADIUS + 0.25]), f"Σ = {graph.grads[n]:.2f}", GRAD_COLOR)

    ax.text(x0, y0, "green: forward value   red: gradient of the output w.r.t. that value",
            fontsize=8, color="0.35", va="bottom")
    heading = f"{title}\n" if title else ""
    ax.set_title(heading + description, fontsize=9, loc="left")
    return ax


seed_graph = Graph()
seed_graph.input("x", -2, (0, 2.4))
seed_graph.input("y", 5, (0, 1.2))
seed_graph.input("z", -4, (0, 0))
seed_graph.op("q", "+", ["x", "y"], (2, 1.8))
seed_graph.op("f", "×", ["q", "z"], (4, 0.9))
seed_graph.run()

draw_graph(seed_graph, title="f(x, y, z) = (x + y) · z")
plt.show()
print("the engine's gradients:", {n: seed_graph.grads[n] for n in "xyzq"})

# %% [markdown]
# ### Checking with `torch.autograd`
#
# PyTorch records the operations on tensors created with `requires_grad=True` and runs exactly this
# backward pass when we call `.backward()` on the output; afterwards each leaf's `.grad` holds
# $\partial f/\partial(\text{leaf})$.

# %%
xt, yt, zt = (torch.tensor(v, requires_grad=True) for v in (x, y, z))
ft = (xt + yt) * zt
ft.backward()

print(f"f = {ft.item():g}")
print(f"{'':6}{'by hand':>9}{'engine':>9}{'autograd':>10}")
for name, hand, auto in [("df/dx", df_dx, xt.grad), ("df/dy", df_dy, yt.grad), ("df/dz", df_dz, zt.grad)]:
    engine = seed_graph.grads[name[-1]]
    print(f"{name:6}{hand:9.2f}{engine:9.2f}{auto.item():10.2f}")
    assert hand == engine == auto.item()
assert (q, f, df_dx, df_dy, df_dz) == (3, -12, -4, -4, 3)  # the numbers from the lecture notes

# %% [markdown]
# ## 3. Local gradients: how simple gates route gradients
#
# Every operation only needs its **local gradient**, and the common ones behave in easy-to-remember ways:
#
# | gate | forward | local gradients | what it does with the upstream gradient $g$ |
# |---|---|---|---|
# | add | $a + b$ | $1,\ 1$ | **distributes**: both inputs get $g$ unchanged |
# | multiply | $a\cdot b$ | $b,\ a$ | **swaps**: $a$ gets $g\cdot b$, $b$ gets $g\cdot a$ |
# | max | $\max(a, b)$ | $1$ for the larger, $0$ for the other | **routes**: all of $g$ goes to the winner |
# | exp | $e^{a}$ | $e^{a}$ (its own output) | scales $g$ by the output |
# | $1/x$ | $1/a$ | $-1/a^2$ | scales $g$ by $-1/a^2$ |
#
# A classic example, $f = 2\,(x\,y + \max(z, w))$ at $x=3,\ y=-4,\ z=2,\ w=-1$, shows all three behaviours
# on the left below: the add gate hands $2$ to both branches; the multiply gate sends $2\cdot y = -8$ to
# $x$ and $2\cdot x = 6$ to $y$ (swapped); the max gate routes all of its $2$ to $z$ (the larger) and $0$
# to $w$.
#
# ### Gradients accumulate when a value is used twice
#
# If a value feeds two operations, a small change in it changes the output along **both** paths, and the
# two effects add up (the multivariable chain rule sums over paths). So in the backward pass each
# contribution is **added** to the gradient, `grad[x] += upstream · local`, never assigned. On the right:
# $f = x\,y + x$ at $x=3,\ y=-4$. The path through the multiply contributes $y = -4$, the direct path
# contributes $1$, and $\partial f/\partial x = y + 1 = -3$ (the "Σ" above $x$). With `=` instead of `+=`
# one contribution would overwrite the other and we would get $-4$ or $1$, both wrong.

# %%
gates = Graph()
for name, value, height in [("x", 3, 3.6), ("y", -4, 2.4), ("z", 2, 1.2), ("w", -1, 0)]:
    gates.input(name, value, (0, height))
gates.op("a", "×", ["x", "y"], (2, 3.0))
gates.op("b", "max", ["z", "w"], (2, 0.6))
gates.op("c", "+", ["a", "b"], (4, 1.8))
gates.op("f", "×2", ["c"], (6, 1.8))
gates.run()

reuse = Graph()
reuse.input("x", 3, (0, 1.6))
reuse.input("y", -4, (0, 0))
reuse.op("a", "×", ["x", "y"], (2, 0.5))
reuse.op("f", "+", ["a", "x"], (4, 1.2))
reuse.run()

fig, axes = plt.subplots(1, 2, figsize=(13, 4.6), gridspec_kw={"width_ratios": [8.7, 6.7]})
draw_graph(gates, ax=axes[0], title="f = 2·(x·y + max(z, w)): add distributes, × swaps, max routes")
draw_graph(reuse, ax=axes[1], title="f = x·y + x: x is used twice, its gradients add up")
fig.tight_layout()
plt.show()

# the same with autograd
xt, yt, zt, wt = (torch.tensor(v, requires_grad=True) for v in (3.0, -4.0, 2.0, -1.0))
(2 * (xt * yt + torch.maximum(zt, wt))).backward()
print("gates   engine  :", {n: gates.grads[n] for n in "xyzw"})
print("gates   autograd:", {n: t.grad.item() for n, t in zip("xyzw", (xt, yt, zt, wt))})
assert all(gates.grads[n] == t.grad.item() for n, t in zip("xyzw", (xt, yt, zt, wt)))

xt, yt = torch.tensor(3.0, requires_grad=True), torch.tensor(-4.0, requires_grad=True)
(xt * yt + xt).backward()
print("reuse   engine  :", {n: reuse.grads[n] for n in "xy"}, "  autograd:", {"x": xt.grad.item(), "y": yt.grad.item()})
assert reuse.grads["x"] == xt.grad.item() == -3.0

# %% [markdown]
# PyTorch applies the same `+=` to the `.grad` of a leaf tensor **across** `backward()` calls: it never
# overwrites, it accumulates. That is what lets you sum gradients over several pieces of a batch, and it is
# why every training loop clears the gradients (`optimizer.zero_grad()`) before the next backward pass:

# %%
(xt * yt + xt).backward()  # a second backward pass of the same function, without zeroing x.grad first
print("x.grad after a second backward():", xt.grad.item(), " (= 2 × -3)")
xt.grad = None             # what optimizer.zero_grad() does
(xt * yt + xt).backward()
print("after clearing and one backward():", xt.grad.item())

# %% [markdown]
# ## 4. Logistic regression, backpropagated by hand
#
# Logistic regression with two features computes
#
# $$f(w, x) = \sigma(w_0x_0 + w_1x_1 + w_2) = \frac{1}{1 + e^{-(w_0x_0 + w_1x_1 + w_2)}} .$$
#
# The inputs $x$ are data (we cannot change them), but we need the gradients with respect to the weights
# $w$ to train the model. Take $w = [2, -3, -3]$, $x = [-1, -2]$ and split $f$ into gates:
#
# $$a = w_0x_0,\quad b = w_1x_1,\quad c = a + b,\quad d = c + w_2,\quad n = -d,\quad g = \exp(n),\quad
# h = g + 1,\quad f = 1/h .$$
#
# Backward, each line is "upstream gradient × local gradient", using the table above.

# %%
w = [2.0, -3.0, -3.0]
xs = [-1.0, -2.0]

# forward, one gate at a time
a = w[0] * xs[0]        # -2
b = w[1] * xs[1]        #  6
c = a + b               #  4
d = c + w[2]            #  1
n = -d                  # -1
g = math.exp(n)         #  0.37
h = g + 1               #  1.37
f = 1 / h               #  0.73

# backward, in reverse order
df_dh = -1 / h ** 2                     # (1/h)'   = -1/h²
df_dg = 1.0 * df_dh                     # (g + 1)' = 1
df_dn = math.exp(n) * df_dg             # exp'     = exp
df_dd = -1.0 * df_dn                    # (-d)'    = -1
df_dc, df_dw2 = df_dd, df_dd            # add distributes
df_da, df_db = df_dc, df_dc             # add distributes
df_dw0, df_dx0 = xs[0] * df_da, w[0] * df_da   # multiply swaps
df_dw1, df_dx1 = xs[1] * df_db, w[1] * df_db   # multiply swaps

for name, value in [("f", f), ("df/dh", df_dh), ("df/dg", df_dg), ("df/dn", df_dn), ("df/dd", df_dd),
                    ("df/dc", df_dc), ("df/da", df_da), ("df/db", df_db)]:
    print(f"{name:6} = {value:7.4f}")
gate_dw, gate_dx = [df_dw0, df_dw1, df_dw2], [df_dx0, df_dx1]

# %% [markdown]
# ### The sigmoid as one gate
#
# The last four gates together are the sigmoid, and its derivative has a famous short form:
#
# $$\sigma(t) = \frac{1}{1+e^{-t}}, \qquad
# \sigma'(t) = \frac{e^{-t}}{(1+e^{-t})^2} = \frac{1}{1+e^{-t}}\cdot\frac{e^{-t}}{1+e^{-t}}
# = \sigma(t)\,\big(1-\sigma(t)\big).$$
#
# So we may treat $\sigma$ as a single gate whose local gradient is computed from its **output** alone.
# Choosing how big the gates are is up to us: any piece whose local gradient is easy to write down will do.
# The whole backward pass then takes three lines:

# %%
dot = w[0] * xs[0] + w[1] * xs[1] + w[2]
f = 1 / (1 + math.exp(-dot))                        # forward: the sigmoid
ddot = (1 - f) * f                                  # backward through the sigmoid gate: σ' = σ(1 − σ)
dx = [w[0] * ddot, w[1] * ddot]                     # backward through the dot product
dw = [xs[0] * ddot, xs[1] * ddot, 1.0 * ddot]

# autograd as the answer key (float64, so the comparison is exact up to rounding)
wt = torch.tensor(w, dtype=torch.float64, requires_grad=True)
xt = torch.tensor(xs, dtype=torch.float64, requires_grad=True)
ft = torch.sigmoid(wt[0] * xt[0] + wt[1] * xt[1] + wt[2])
ft.backward()

print(f"f = σ({dot:g}) = {f:.4f}   (autograd: {ft.item():.4f})")
print(f"{'':8}{'gate by gate':>30}{'σ(1−σ) shortcut':>30}{'autograd':>30}")
for name, by_gates, short, auto in [("dw", gate_dw, dw, wt.grad.tolist()), ("dx", gate_dx, dx, xt.grad.tolist())]:
    show = lambda v: "[" + ", ".join(f"{u:6.3f}" for u in v) + "]"
    print(f"{name:8}{show(by_gates):>30}{show(short):>30}{show(auto):>30}")
    assert max(abs(p - q) for p, q in zip(by_gates, auto)) < 1e-12
    assert max(abs(p - q) for p, q in zip(short, auto)) < 1e-12

# %% [markdown]
# The output is $\sigma(1) \approx 0.73$; the gradients are $dw \approx [-0.20, -0.39, 0.20]$ and
# $dx \approx [0.39, -0.59]$. Look at $dw$: it is the input $[x_0, x_1, 1]$ scaled by one number,
# $\sigma'(d) \approx 0.20$. That is a general pattern: the gradient of a weight is "its input × the
# gradient arriving at the neuron". We will meet it again as $X^\top\cdot dY$ in matrix form.

# %% [markdown]
# ## 5. Step through a forward and a backward pass
#
# Here is the same logistic regression as a graph. Move the **step** slider: from step 0 (only the inputs)
# the forward values appear one node at a time, left to right; then the backward pass starts from
# $\partial f/\partial f = 1$ and walks right to left, each step multiplying the upstream gradient by one
# local gradient. The highlighted node is the one being computed and the thick orange edges are the ones it
# reads (forward) or writes (backward). The title prints the arithmetic of that step. (A static copy of
# this notebook shows the final step.)

# %%
logistic = Graph()
for name, value, height in [("w0", 2, 4.8), ("x0", -1, 3.6), ("w1", -3, 2.4), ("x1", -2, 1.2), ("w2", -3, 0)]:
    logistic.input(name, value, (0, height))
logistic.op("a", "×", ["w0", "x0"], (1.8, 4.2))
logistic.op("b", "×", ["w1", "x1"], (1.8, 1.8))
logistic.op("c", "+", ["a", "b"], (3.6, 3.0))
logistic.op("d", "+", ["c", "w2"], (5.4, 1.8))
for name, op, arg, col in [("n", "−", "d", 7.2), ("g", "exp", "n", 9.0), ("h", "+1", "g", 10.8), ("f", "1/x", "h", 12.6)]:
    logistic.op(name, op, [arg], (col, 1.8))
logistic.run()
assert all(abs(logistic.grads[n] - v) < 1e-12 for n, v in zip(["w0", "w1", "w2", "x0", "x1"], dw + dx))
n_steps = len(logistic.steps) - 1


def show_step(step):
    draw_graph(logistic, step, title="σ(w0·x0 + w1·x1 + w2), one gate per node")
    plt.show()


explore(show_step, step=IntSlider(value=n_steps, min=0, max=n_steps, description="step"))
for i, (_, text) in enumerate(logistic.steps):
    print(f"{i:2d}  {text}")

# %% [markdown]
# ## 6. Matrix form
#
# Real layers work on vectors and matrices. The chain rule is the same, but derivatives become arrays, and
# keeping track of their **shapes** is most of the work.
#
# ### 6.1 Shapes of derivatives
#
# | derivative of ↓ with respect to → | scalar $x$ | vector $x \in \mathbb{R}^n$ | matrix $X \in \mathbb{R}^{n\times d}$ |
# |---|---|---|---|
# | scalar $y$ | scalar | vector, $n$ (the gradient) | matrix, $n\times d$ |
# | vector $y \in \mathbb{R}^m$ | vector, $m$ | matrix, $m\times n$ (the **Jacobian**) | tensor, $m\times n\times d$ |
#
# For a vector function $y = f(x)$ the **Jacobian** collects all partial derivatives,
# $J_{ij} = \partial y_i/\partial x_j$: row $i$ is the gradient of $y_i$. The chain rule for vectors is a
# matrix product of Jacobians. Training always ends in a **scalar** loss $L$, so what flows backwards is
# a gradient $\partial L/\partial y$ with the **shape of $y$**, and one backward step is a
# **vector–Jacobian product**:
#
# $$\frac{\partial L}{\partial x} = J^\top\,\frac{\partial L}{\partial y},
# \qquad\text{i.e.}\qquad \frac{\partial L}{\partial x_j} = \sum_i \frac{\partial L}{\partial y_i}\,\frac{\partial y_i}{\partial x_j}.$$
#
# Two examples: for $y = Wx$ the Jacobian is $W$ itself; for an elementwise function such as the sigmoid it
# is **diagonal**, so nobody ever builds it: the vector–Jacobian product is just an elementwise product.

# %%
W = torch.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])     # y = W x maps R^2 -> R^3
x_vec = torch.tensor([0.5, -1.0])
print("Jacobian of y = W x (3×2), equal to W:\n", jacobian(lambda v: W @ v, x_vec))
print("Jacobian of the elementwise sigmoid (diagonal):\n", jacobian(torch.sigmoid, torch.tensor([-1.0, 0.0, 2.0])))

# backward() computes exactly J^T · (dL/dy), without forming J
x_leaf = x_vec.clone().requires_grad_()
upstream = torch.tensor([1.0, -2.0, 0.5])                  # pretend this is dL/dy
(W @ x_leaf).backward(upstream)
print("J^T · dL/dy =", (W.T @ upstream).tolist(), "  autograd x.grad =", x_leaf.grad.tolist())

# %% [markdown]
# ### 6.2 The linear layer: $Y = XW$
#
# A batch of $N$ examples with $D$ features, $X \in \mathbb{R}^{N\times D}$, times weights
# $W \in \mathbb{R}^{D\times M}$ gives $Y = XW \in \mathbb{R}^{N\times M}$. Suppose the rest of the network
# has handed us $\partial L/\partial Y$ (shape $N\times M$, like $Y$). Since $Y_{ij} = \sum_k X_{ik}W_{kj}$,
#
# $$\frac{\partial L}{\partial X_{ik}} = \sum_j \frac{\partial L}{\partial Y_{ij}}\,W_{kj}
# \;\Rightarrow\; \boxed{\frac{\partial L}{\partial X} = \frac{\partial L}{\partial Y}\,W^\top},
# \qquad
# \frac{\partial L}{\partial W_{kj}} = \sum_i X_{ik}\,\frac{\partial L}{\partial Y_{ij}}
# \;\Rightarrow\; \boxed{\frac{\partial L}{\partial W} = X^\top\,\frac{\partial L}{\partial Y}} .$$
#
# With a bias, $Y = XW + b$, the bias is added to every row, so it collects the gradient of every row:
# $\partial L/\partial b = \sum_i \partial L/\partial Y_{i,:}$ (a use-it-many-times `+=`, as in Section 3).
#
# | quantity | shape | how the shapes fit |
# |---|---|---|
# | $X$ | $N\times D$ | |
# | $W$ | $D\times M$ | |
# | $Y = XW$ | $N\times M$ | $(N\times D)(D\times M)$ |
# | $\partial L/\partial Y$ | $N\times M$ | same as $Y$ |
# | $\partial L/\partial X = \partial L/\partial Y\cdot W^\top$ | $N\times D$ | $(N\times M)(M\times D)$ |
# | $\partial L/\partial W = X^\top\cdot\partial L/\partial Y$ | $D\times M$ | $(D\times N)(N\times M)$ |
# | $\partial L/\partial b = \sum_{\text{rows}} \partial L/\partial Y$ | $M$ | sum over the batch |
#
# A handy rule: **the gradient has the shape of the thing it is the gradient of**, and there is usually
# only one way to multiply the available matrices to get that shape. If you forget the formulas, rebuild
# them from the shapes.
#
# Let us check them against autograd with an arbitrary scalar function of $Y$ downstream, and compare
# with the full Jacobian of $Y$ with respect to $X$, a 4-D array of shape $(N, M, N, D)$ that the formula
# never builds.

# %%
gen = torch.Generator().manual_seed(0)
N, D, M = 4, 3, 2
X = torch.randn(N, D, generator=gen, dtype=torch.float64, requires_grad=True)
W = torch.randn(D, M, generator=gen, dtype=torch.float64, requires_grad=True)
b = torch.randn(M, generator=gen, dtype=torch.float64, requires_grad=True)

Y = X @ W + b
L = (torch.tanh(Y) ** 2).sum()                      # any scalar function of Y will do
dY, = torch.autograd.grad(L, Y, retain_graph=True)  # the gradient arriving from above
L.backward()

with torch.no_grad():
    dX, dW, db = dY @ W.T, X.T @ dY, dY.sum(0)
    J = jacobian(lambda X_: X_ @ W + b, X)          # (N, M, N, D)
    dX_from_J = torch.einsum("nm,nmkd->kd", dY, J)  # vector-Jacobian product, the slow way
for name, ours, auto in [("dL/dX", dX, X.grad), ("dL/dW", dW, W.grad), ("dL/db", db, b.grad)]:
    diff = (ours - auto).abs().max().item()
    print(f"{name}: shape {tuple(ours.shape)}, max |formula − autograd| = {diff:.1e}")
    assert diff < 1e-12
print(f"Jacobian dY/dX has shape {tuple(J.shape)}; contracted with dL/dY it also gives dL/dX "
      f"(max diff {(dX_from_J - X.grad).abs().max().item():.1e})")
batch, fan_in, fan_out = 128, 784, 256
print(f"For a {fan_in}→{fan_out} layer and a batch of {batch}, that Jacobian would hold "
      f"{batch * fan_out * batch * fan_in:.2e} numbers ({batch * fan_out * batch * fan_in * 4 / 2**30:.0f} GiB "
      f"in float32); dL/dY·Wᵀ needs one {batch}×{fan_out} by {fan_out}×{fan_in} product.")

# %% [markdown]
# ### 6.3 Gradient descent with matrix gradients: $x \leftarrow x - \text{lr}\cdot dx$
#
# With $\partial L/\partial W$ in hand, gradient descent is one line. A quick sanity check on linear
# regression, $Y \approx XW$, with the **mean squared error** $L = \frac{1}{NM}\sum (XW - Y)^2$, whose
# gradient with respect to the prediction $P = XW$ is $\frac{2}{NM}(P - Y)$. We know the true weights, so
# we can watch gradient descent find them:

# %%
gen = torch.Generator().manual_seed(1)
X = torch.randn(200, 3, generator=gen)
W_true = torch.tensor([[2.0, -1.0], [0.5, 0.0], [-3.0, 1.0]])
Y = X @ W_true + 0.1 * torch.randn(200, 2, generator=gen)

W = torch.zeros(3, 2)
lr = 0.1
for step in range(101):
    P = X @ W                         # forward
    L = ((P - Y) ** 2).mean()
    dP = 2 * (P - Y) / P.numel()      # backward through the MSE
    dW = X.T @ dP                     # backward through the matrix product
    W -= lr * dW                      # W ← W − lr·dW
    if step in (0, 5, 20, 50, 100):
        print(f"step {step:3d}: MSE = {L.item():.4f}")
print("learned W:\n", W.round(decimals=2), "\ntrue W:\n", W_true)

# %% [markdown]
# ## 7. A `Layer` API: forward, backward, update
#
# Backpropagation is modular: each layer only needs three methods (this is the design from the lecture
# notes, and the one every deep-learning library uses under the hood):
#
# * `forward(x)` computes the output and **remembers** whatever `backward` will need (the input, a mask, …);
# * `backward(grad_out)` receives $\partial L/\partial(\text{output})$, stores the gradients of the layer's
#   own parameters, and returns $\partial L/\partial(\text{input})$ for the layer below;
# * `update(lr)` takes a gradient-descent step on the parameters: `W ← W − lr·dW`.
#
# A network is a list of layers: forward goes through them in order, backward in reverse. We write them
# with plain tensors. None of them has `requires_grad`, so autograd never records anything: every gradient
# below comes from our own formulas (and we train inside `torch.no_grad()` to make that explicit).

# %%
class Layer:
    """A differentiable building block."""

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad_out):
        raise NotImplementedError

    def update(self, lr):
        pass  # layers without parameters have nothing to update


class Linear(Layer):
    """y = x W + b, with W (n_in, n_out) initialised like torch.nn.Linear: U(-1/√n_in, 1/√n_in)."""

    def __init__(self, n_in, n_out, generator=None, device="cpu", dtype=torch.float32):
        bound = 1 / math.sqrt(n_in)
        uniform = lambda *shape: (torch.rand(*shape, generator=generator, dtype=dtype) * 2 - 1) * bound
        self.W, self.b = uniform(n_in, n_out).to(device), uniform(n_out).to(device)

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad_out):
        self.dW = self.x.T @ grad_out     # (n_in, N) @ (N, n_out)
        self.db = grad_out.sum(0)         # b was added to every row
        return grad_out @ self.W.T        # (N, n_out) @ (n_out, n_in)

    def update(self, lr):
        self.W -= lr * self.dW
        self.b -= lr * self.db


class ReLU(Layer):
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad_out):
        return grad_out * self.mask       # max(0, x) routes the gradient where x > 0


class Sigmoid(Layer):
    def forward(self, x):
        self.out = 1 / (1 + torch.exp(-x))
        return self.out

    def backward(self, grad_out):
        return grad_out * self.out * (1 - self.out)   # σ' = σ(1 − σ)


class Tanh(Layer):
    def forward(self, x):
        self.out = torch.tanh(x)
        return self.out

    def backward(self, grad_out):
        return grad_out * (1 - self.out ** 2)          # tanh' = 1 − tanh²


class Sequential(Layer):
    def __init__(self, *layers):
        self.layers = layers

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad_out):
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def update(self, lr):
        for layer in self.layers:
            layer.update(lr)


class MSELoss:
    """L = mean((prediction − target)²); backward() returns dL/dprediction."""

    def forward(self, prediction, target):
        self.diff = prediction - target
        return (self.diff ** 2).mean()

    def backward(self):
        return 2 * self.diff / self.diff.numel()


# %% [markdown]
# ### Gradient check
#
# Before training anything, check the backward passes. We build a small network using every layer type,
# run our forward and backward passes, then rebuild **the same computation** from the same weights with
# autograd and compare every gradient. We use float64 on the CPU so that the two agree up to float64
# rounding (the cell asserts a difference below $10^{-12}$); a bug shows up as a difference many orders of
# magnitude larger. A second, independent
# check is the finite difference $\big(L(W_{ij}+\varepsilon) - L(W_{ij}-\varepsilon)\big)/2\varepsilon$ for
# a few entries, which does not trust autograd either.

# %%
gen = torch.Generator().manual_seed(2)
net = Sequential(Linear(4, 8, gen, dtype=torch.float64), Tanh(),
                 Linear(8, 8, gen, dtype=torch.float64), ReLU(),
                 Linear(8, 3, gen, dtype=torch.float64), Sigmoid())
loss_fn = MSELoss()
X = torch.randn(16, 4, generator=gen, dtype=torch.float64)
T = torch.rand(16, 3, generator=gen, dtype=torch.float64)

with torch.no_grad():
    loss = loss_fn.forward(net.forward(X), T)
    dX = net.backward(loss_fn.backward())

# the same computation with autograd, from copies of the same weights
linears = [layer for layer in net.layers if isinstance(layer, Linear)]
params = [(layer.W.clone().requires_grad_(), layer.b.clone().requires_grad_()) for layer in linears]
X_leaf = X.clone().requires_grad_()
(W1, b1), (W2, b2), (W3, b3) = params
out = torch.sigmoid(torch.relu(torch.tanh(X_leaf @ W1 + b1) @ W2 + b2) @ W3 + b3)
loss_auto = ((out - T) ** 2).mean()
loss_auto.backward()

print(f"loss: ours {loss.item():.10f}, autograd {loss_auto.item():.10f}")
worst = 0.0
for i, (layer, (Wa, ba)) in enumerate(zip(linears, params), start=1):
    for name, ours, auto in [(f"dW{i}", layer.dW, Wa.grad), (f"db{i}", layer.db, ba.grad)]:
        diff = (ours - auto).abs().max().item()
        worst = max(worst, diff)
        print(f"{name:4} shape {str(tuple(ours.shape)):7}  max |ours − autograd| = {diff:.1e}")
print(f"dX   shape {tuple(dX.shape)}  max |ours − autograd| = {(dX - X_leaf.grad).abs().max().item():.1e}")
assert worst < 1e-12 and (dX - X_leaf.grad).abs().max() < 1e-12

eps = 1e-6
W1 = linears[0].W
with torch.no_grad():
    for i, j in [(0, 0), (1, 3), (3, 7)]:
        original = W1[i, j].item()
        W1[i, j] = original + eps
        up = loss_fn.forward(net.forward(X), T).item()
        W1[i, j] = original - eps
        down = loss_fn.forward(net.forward(X), T).item()
        W1[i, j] = original
        numeric = (up - down) / (2 * eps)
        print(f"dW1[{i},{j}]: backprop {linears[0].dW[i, j].item(): .10f}, finite difference {numeric: .10f}")
        assert abs(numeric - linears[0].dW[i, j].item()) < 1e-8

# %% [markdown]
# ## 8. Training with plain gradient descent
#
# ### 8.1 A nonlinear curve
#
# First a task where we know the answer: 200 noisy samples of $y = \sin(x) + \varepsilon$,
# $\varepsilon \sim \mathcal{N}(0, 0.15^2)$, for $x$ uniform in $[-3, 3]$. A straight line cannot fit it;
# a network with two hidden layers of 32 tanh units can. We train with the full data set at every step
# (plain gradient descent) and the MSE loss. Because the noise has variance $0.15^2 = 0.0225$, no model
# can get a much lower MSE than that on fresh data: a training loss well below it would mean the network
# is memorising the noise.

# %%
gen = torch.Generator().manual_seed(0)
x_train = (torch.rand(200, 1, generator=gen) * 6 - 3).to(device)
y_train = torch.sin(x_train) + 0.15 * torch.randn(200, 1, generator=gen).to(device)
x_grid = torch.linspace(-3.2, 3.2, 300, device=device)[:, None]

net = Sequential(Linear(1, 32, gen, device), Tanh(), Linear(32, 32, gen, device), Tanh(), Linear(32, 1, gen, device))
loss_fn = MSELoss()
lr, steps, snapshots = 0.05, 3000, {}
losses = []
start = time.perf_counter()
with torch.no_grad():                                  # proof that autograd plays no part
    for step in range(steps + 1):
        if step in (0, 50, 300, steps):
            snapshots[step] = net.forward(x_grid).cpu()
        loss = loss_fn.forward(net.forward(x_train), y_train)
        losses.append(loss)
        if step < steps:
            net.backward(loss_fn.backward())
            net.update(lr)
losses = torch.stack(losses).cpu()
print(f"{steps} gradient-descent steps in {time.perf_counter() - start:.1f} s")
for step in (0, 50, 300, 1000, 2000, steps):
    print(f"step {step:4d}: training MSE = {losses[step].item():.4f}")
noise_floor = 0.15 ** 2
assert abs(losses[-1].item() / noise_floor - 1) < 0.5  # it levels off near the noise variance (see below)

fig, (ax_loss, ax_fit) = plt.subplots(1, 2, figsize=(11, 3.8))
ax_loss.semilogy(losses.numpy(), label="training MSE")
ax_loss.axhline(noise_floor, ls="--", color="0.4", label="noise variance 0.15²")
ax_loss.set(xlabel="gradient-descent step", ylabel="MSE (log scale)", title="loss curve")
ax_loss.legend()
ax_fit.scatter(x_train.cpu(), y_train.cpu(), s=10, color="0.6", label="training data")
ax_fit.plot(x_grid.cpu(), torch.sin(x_grid).cpu(), "k--", lw=1, label="sin(x)")
for step, prediction in snapshots.items():
    ax_fit.plot(x_grid.cpu(), prediction, lw=2 if step == steps else 1.2, label=f"network after {step} steps")
ax_fit.set(xlabel="x", ylabel="y", title="the fit, during training")
ax_fit.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The loss falls quickly at first (the network learns the overall slope), then slowly as it bends the
# curve into the two humps; it levels off near the noise variance, which is as good as any model can do.
#
# ### 8.2 A regression task on real data: how much ink is in the bottom half of a digit?
#
# Now a real data set. MNIST is a classification data set, but we can pose an honest regression question
# about its images: **given the top half of a handwritten digit (rows 0–13), predict how many pixels of
# the bottom half (rows 14–27) are "on"** (brighter than $0.5$). The target is a real count measured from the
# image, not something we invented, and it is not a trivial function of the input: the top half hints at
# which digit it is (a 7 has little ink below, a 0 or 8 a lot), at the stroke thickness and at the size of
# the writing, but two writers can finish the same top half quite differently, so some error is unavoidable.
#
# We use 20 000 training images and 5 000 images from the separate test set and feed the 14·28 = 392
# top-half pixels to the model. Two small preprocessing steps make plain gradient descent behave:
#
# * we **centre** the inputs by subtracting the average training image. Raw pixels are all $\ge 0$, which
#   makes the loss a long, narrow valley along the "average image" direction; gradient descent then needs
#   a tiny learning rate or it bounces from wall to wall (try it: use `x_tr_raw` below);
# * we **standardise** the target (subtract its mean, divide by its standard deviation), so one learning
#   rate suits every model. Errors are reported back in pixels.

# %%
def top_and_bottom_ink(train, limit):
    images, labels = image_tensors(load_mnist(train=train), limit=limit, normalize=False)  # (N, 1, 28, 28) in [0, 1]
    top = images[:, 0, :14].reshape(len(images), -1)         # 392 inputs
    ink = (images[:, 0, 14:] > 0.5).sum(dim=(1, 2)).float()  # target: "on" pixels in the bottom half
    return top, ink, images, labels


x_tr_raw, ink_tr, images_tr, labels_tr = top_and_bottom_ink(train=True, limit=20_000)
x_te_raw, ink_te, _, _ = top_and_bottom_ink(train=False, limit=5_000)
average_top = x_tr_raw.mean(0)                               # the average training image (top half)
x_tr, x_te = x_tr_raw - average_top, x_te_raw - average_top  # centred inputs
mean, std = ink_tr.mean(), ink_tr.std()
y_tr, y_te = ((ink_tr - mean) / std)[:, None], ((ink_te - mean) / std)[:, None]
print(f"train {tuple(x_tr.shape)}, test {tuple(x_te.shape)}")
print(f"bottom-half ink: train mean {mean:.1f} px, std {std:.1f} px; test mean {ink_te.mean():.1f} px, "
      f"std {ink_te.std():.1f} px")

fig = show_images(images_tr[:8], labels=[f"{d}: {int(k)} px below" for d, k in zip(labels_tr[:8].tolist(), ink_tr[:8])],
                  ncols=8, size=1.5)
for ax in fig.axes:
    ax.axhline(13.5, color="red", lw=1)
fig.suptitle("the model sees the part above the red line and predicts the ink below it", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Three models, each trained with our `Layer` classes and the same loop, against the simplest baseline
# (always predict the mean count):
#
# * **one feature**: a line through a single number, the count of "on" pixels in the top half;
# * **linear**: a linear function of all 392 pixels, `Linear(392, 1)`;
# * **MLP**: `Linear(392, 128) → ReLU → Linear(128, 1)`.
#
# Each step uses a random **mini-batch** of 128 images instead of all 20 000: the same update,
# `W ← W − lr·dW`, with a noisier but 150× cheaper gradient (Lecture 05 is about exactly this trade-off).
# After every pass over the data (an **epoch**) we measure the error on the training and test sets, as a
# root-mean-square error (RMSE) in pixels, and report $R^2 = 1 - \text{MSE}/\text{MSE}_\text{mean only}$:
# the fraction of the baseline's squared error that a model removes.

# %%
def rmse_pixels(net, x, y):
    with torch.no_grad():
        return (((net.forward(x) - y) ** 2).mean().sqrt() * std).item()


def train_regression(net, x_train, y_train, x_test, y_test, epochs=15, lr=0.02, batch_size=128):
    """Mini-batch gradient descent with MSE; returns the train/test RMSE (pixels) after every epoch."""
    x_train, y_train, x_test, y_test = (t.to(device) for t in (x_train, y_train, x_test, y_test))
    loader = TensorLoader(x_train, y_train, batch_size=batch_size, shuffle=True, seed=0)
    loss_fn, history = MSELoss(), {"train": [], "test": []}
    with torch.no_grad():
        for _ in range(epochs):
            for xb, yb in loader:
                loss_fn.forward(net.forward(xb), yb)
                net.backward(loss_fn.backward())
                net.update(lr)
            history["train"].append(rmse_pixels(net, x_train, y_train))
            history["test"].append(rmse_pixels(net, x_test, y_test))
    return history


def count_params(net):
    return sum(layer.W.numel() + layer.b.numel() for layer in net.layers if isinstance(layer, Linear))


top_ink_tr = (x_tr_raw > 0.5).sum(1, keepdim=True).float()   # the single feature of the first model
top_ink_te = (x_te_raw > 0.5).sum(1, keepdim=True).float()
f_mean, f_std = top_ink_tr.mean(), top_ink_tr.std()
features = {"one feature": ((top_ink_tr - f_mean) / f_std, (top_ink_te - f_mean) / f_std),
            "linear": (x_tr, x_te), "MLP": (x_tr, x_te)}
gen = torch.Generator().manual_seed(0)
models = {"one feature": Sequential(Linear(1, 1, gen, device)),
          "linear": Sequential(Linear(392, 1, gen, device)),
          "MLP": Sequential(Linear(392, 128, gen, device), ReLU(), Linear(128, 1, gen, device))}

histories = {}
baseline = (y_te ** 2).mean().sqrt().item() * std.item()  # predicting the training mean: y = 0
print(f"{'model':12}{'params':>8}{'train RMSE':>12}{'test RMSE':>11}{'test R²':>9}{'time':>8}")
print(f"{'mean only':12}{1:8d}{'':12}{baseline:9.2f} px{0:9.2f}")
for name, net in models.items():
    start = time.perf_counter()
    x_train, x_test = features[name]
    histories[name] = train_regression(net, x_train, y_tr, x_test, y_te)
    test = histories[name]["test"][-1]
    r2 = 1 - test ** 2 / baseline ** 2
    print(f"{name:12}{count_params(net):8d}{histories[name]['train'][-1]:9.2f} px{test:9.2f} px{r2:9.2f}"
          f"{time.perf_counter() - start:7.1f}s")
final = {name: (history["train"][-1], history["test"][-1]) for name, history in histories.items()}
# What the text below says, checked on this run:
assert final["MLP"][1] < baseline / 2                                              # well under half the baseline
assert final["one feature"][1] > final["linear"][1] > final["MLP"][1]              # each step up helps
assert all(abs(train - test) < 0.2 * test for train, test in final.values())       # train and test stay close
assert all(test < train for train, test in final.values()) and ink_te.std() < ink_tr.std()  # test a bit lower

# %%
mlp = models["MLP"]
with torch.no_grad():
    predicted = (mlp.forward(x_te.to(device)).cpu()[:, 0] * std + mean)

fig, (ax_curve, ax_scatter) = plt.subplots(1, 2, figsize=(11, 4))
epochs = range(1, len(histories["MLP"]["test"]) + 1)
for (name, history), color in zip(histories.items(), ["tab:blue", "tab:orange", "tab:green"]):
    ax_curve.plot(epochs, history["test"], color=color, marker="o", ms=3, label=f"{name} (test)")
    ax_curve.plot(epochs, history["train"], color=color, ls=":", label=f"{name} (train)")
ax_curve.axhline(baseline, color="0.4", ls="--", label="predict the mean")
ax_curve.set(xlabel="epoch", ylabel="RMSE (pixels)", title="error during training", ylim=(0, baseline * 1.1))
ax_curve.legend(fontsize=8, ncol=2)
ax_scatter.scatter(ink_te, predicted, s=4, alpha=0.3)
top = float(max(ink_te.max(), predicted.max()))
ax_scatter.plot([0, top], [0, top], "k--", lw=1, label="perfect prediction")
ax_scatter.set(xlabel="true bottom-half ink (pixels)", ylabel="MLP prediction (pixels)",
               title="MLP on the 5 000 test digits")
ax_scatter.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The top half carries a lot of information about the bottom half: the MLP's typical error is well under
# half that of always guessing the mean, and each step up in modelling helps (one number, then all pixels
# linearly, then a hidden layer). The remaining error is real uncertainty: the scatter plot is a cloud
# around the diagonal, not a line, and the largest counts are under-predicted, because when the top half
# is ambiguous the guess that minimises the squared error leans towards the average. The train and test
# curves stay close, so none of these models is memorising the training images. (The test errors are even
# a little lower: the bottom-half ink of the test digits varies a little less, as printed above.)
#
# Everything in this section was computed by the `forward`/`backward`/`update` methods we wrote, with
# autograd switched off. That is all a deep-learning framework does for a fully connected network; from
# the next lecture on we let `torch.autograd` and `torch.nn` do the bookkeeping.

# %% [markdown]
# ## Summary
#
# * A **computational graph** splits a function into simple nodes. The **forward pass** computes values in
#   topological order; the **backward pass** walks the reverse order and applies the **chain rule**:
#   gradient of an input = upstream gradient × local gradient. It reproduces the notes' example:
#   $f = (x+y)z$ at $(-2, 5, -4)$ has $\partial f/\partial x = \partial f/\partial y = -4$, $\partial f/\partial z = 3$.
# * Gates have simple local rules: **add distributes**, **multiply swaps**, **max routes**; sigmoid's local
#   gradient is $\sigma(1-\sigma)$. When a value is used more than once its gradients **accumulate** (`+=`),
#   which is also why PyTorch needs `zero_grad()`.
# * For logistic regression at $w=[2,-3,-3]$, $x=[-1,-2]$: $f \approx 0.73$, $dw \approx [-0.20, -0.39, 0.20]$,
#   $dx \approx [0.39, -0.59]$, by gates, by the $\sigma'$ shortcut and by autograd alike.
# * In matrix form one backward step is a vector–Jacobian product, never a full Jacobian. For $Y = XW + b$:
#   $\partial L/\partial X = \partial L/\partial Y\, W^\top$, $\partial L/\partial W = X^\top \partial L/\partial Y$,
#   $\partial L/\partial b = \sum_\text{rows}\partial L/\partial Y$, and a gradient has the shape of its variable.
# * A `Layer` needs only `forward` (remember the inputs), `backward` (return the input gradient, store the
#   parameter gradients) and `update` (`W ← W − lr·dW`). Ours matches autograd to float64 rounding, fits
#   $\sin x$ down to the noise level, and predicts the bottom-half ink of MNIST digits from the top half.
#
# ## Try it yourself
#
# 1. **Add a gate.** Put `"log": (math.log, lambda a, out: (1 / a,), "log({0})")` into `OPS`, then turn
#    `logistic` into the logistic-regression *loss* $-\log f$ (for a positive example) by adding two nodes,
#    a `"log"` and a `"−"`, and calling `run()` again. What gradient now arrives at $f$, and what is $dw$?
#    Check with autograd, and step through the new graph with `show_step`.
# 2. **Learning rate.** Rerun the $\sin x$ training (Section 8.1) with `lr = 0.5` and with `lr = 0.01`. One diverges
#    (the loss becomes `nan`), the other crawls. Then swap `Tanh()` for `ReLU()` or `Sigmoid()`: how do the
#    loss curve and the shape of the fit change?
# 3. **Break it on purpose.** In `Linear.backward`, replace `grad_out.sum(0)` with `grad_out.mean(0)`; in
#    `Tanh.backward`, replace `1 - self.out ** 2` with `1 - self.out`. Rerun the gradient check after each
#    change (comment out its first `assert` so that the finite differences run too). Which gradients does
#    each bug spoil, and why does one of the bugs slip past the finite differences on `W1`?
