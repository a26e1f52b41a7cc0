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
# # Assignment 02 — Backpropagation
#
# Backpropagation is the chain rule applied to a computational graph, from the output back to the inputs:
# every operation multiplies the gradient that arrives from above by its own **local** derivative and
# passes the product down. In this assignment you build it yourself, four times, at growing scale:
#
# | part | what you build | points |
# |---|---|---|
# | 1 | a scalar autograd engine: a `Value` class that records operations and runs `backward()` | 3 |
# | 2 | a `Linear` layer in NumPy with `forward`, `backward` and `update` | 2 |
# | 3 | a finite-difference gradient checker, to test any gradient you derive | 2 |
# | 4 | a two-layer MLP backpropagated by hand, matching `torch.autograd`, trained on a small regression | 3 |
#
# **How grading works.** Write your code in the cells marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part is followed by a locked test cell. The tests you can see
# run on tiny, hand-checkable examples: run them as often as you like. At grading time the same cells also
# run **hidden tests** on other, randomly generated inputs (other expression graphs, shapes and seeds) and
# compare your results with a reference, so code that only works on the visible examples will not get the
# points. A test cell gives all of its points or none. The parts are graded independently: a missing Part 2
# does not cost you Part 4.
#
# **Rules.** Everything here is computed by your own code with Python's `math` module and NumPy. Do not call
# `torch.autograd` (`.backward()`, `torch.autograd.grad`, `torch.func`, …) inside your answers: the hidden
# tests run your code with those calls disabled. Follow the specifications exactly (names, argument order,
# return types, dtypes): the tests check them. Run the whole notebook top to bottom
# (*Kernel → Restart & Run All*) before you submit; it takes a few seconds on a laptop CPU, no GPU needed.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import matplotlib.pyplot as plt
import numpy as np

from course_utils import seed_everything

seed_everything(0)
np.set_printoptions(precision=4, suppress=True)

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — A scalar autograd engine (3 points)
#
# ### The chain rule on a graph
#
# Take the lecture's example $f(x, y, z) = (x + y)\,z$ at $x = -2,\ y = 5,\ z = -4$. Name the intermediate
# value $q = x + y$, so $f = q\,z$. The **forward pass** computes $q = 3$ and $f = -12$. The **backward
# pass** starts from $\partial f/\partial f = 1$ and walks back, multiplying by local derivatives:
#
# $$\frac{\partial f}{\partial z} = q = 3, \qquad \frac{\partial f}{\partial q} = z = -4, \qquad
# \frac{\partial f}{\partial x} = \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial x} = -4 \cdot 1 = -4,
# \qquad \frac{\partial f}{\partial y} = \frac{\partial f}{\partial q}\,\frac{\partial q}{\partial y} = -4 .$$
#
# An autograd engine automates exactly this. Each `Value` stores its number `data`, the Values it was
# computed from (`_prev`), and a function `_backward` that knows the operation's local derivatives. After
# `out.backward()`, every Value `v` in the graph holds `v.grad` $= \partial\,\text{out} / \partial v$.
#
# ### What each operation's `_backward` does
#
# For `out = op(a, b)`, `_backward` takes the gradient that has reached `out` (`out.grad`) and **adds**
# `out.grad × (local derivative)` to the `grad` of each input:
#
# | operation | forward (given) | local derivative(s) |
# |---|---|---|
# | `a + b` | $a + b$ | $\partial/\partial a = 1,\ \partial/\partial b = 1$ |
# | `a * b` | $a\,b$ | $\partial/\partial a = b,\ \partial/\partial b = a$ |
# | `a ** k` ($k$ an `int` or `float` constant) | $a^k$ | $k\,a^{k-1}$ |
# | `a.exp()` | $e^a$ | $e^a$ (the output itself) |
# | `a.tanh()` | $t = \tanh a$ | $1 - t^2$ |
# | `a.sigmoid()` | $s = 1/(1 + e^{-a})$ | $s\,(1 - s)$ |
# | `a.relu()` | $\max(0, a)$ | $1$ if $a > 0$, else $0$ (also $0$ at $a = 0$, like PyTorch) |
#
# The other operators are already written in terms of these, so their gradients come for free: `-a` is
# `a * -1`, `a - b` is `a + (-b)`, `a / b` is `a * b**-1`, and the reflected forms `2 + a`, `3 * a`,
# `1 - a`, `1 / a` (a Python number on the left) call the same primitives.
#
# **Why add (`+=`) and never assign?** When a value is used more than once, the output depends on it
# along several paths and the multivariable chain rule **sums** the paths. For `b = a * a` at $a = 3$,
# `__mul__` gets `self` and `other` both equal to `a`, each contributes $3 \cdot$ `out.grad`, and
# `a.grad` must end at $6 = \partial(a^2)/\partial a$. With `=` one contribution would overwrite the other.
#
# ### `backward()`: the order matters
#
# A node's `_backward` may only run once its own `grad` is complete, i.e. after **every** node that uses it
# has passed its contribution down. A **topological order** lists each node after all the nodes it was
# computed from; walking it **in reverse** guarantees this. Build it with a depth-first search from the
# output: visit a node's `_prev` first, then append the node itself, and visit every node **only once**
# (keep a `set` of visited nodes, otherwise a shared node would be processed twice). Then:
#
# 1. set `self.grad = 1.0` (the seed $\partial\,\text{out}/\partial\,\text{out} = 1$),
# 2. call `node._backward()` for every node, from the output back (the reversed topological order).
#
# `backward()` does not reset gradients: it is meant to be called once on a freshly built graph. The graphs
# in the tests have at most a few hundred nodes, so a recursive search is fine.
#
# ### What to implement
#
# Fill in the `_backward` body of `__add__`, `__mul__`, `__pow__`, `exp`, `tanh`, `sigmoid` and `relu`, and
# the body of `backward`. The forward computations are given; do not change them.
#
# **Types:** `data` and `grad` must stay Python `float`s (`type(v.grad) is float`), so use `math` and plain
# arithmetic, not NumPy (`np.float64` is not a Python `float`) and not PyTorch.

# %% nbgrader={"grade": false, "grade_id": "value_engine", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Value:
    """A scalar that remembers how it was computed, so that backward() can fill in gradients."""

    def __init__(self, data, _children=(), _op=""):
        self.data = float(data)          # the number itself (a Python float)
        self.grad = 0.0                  # d(output)/d(self), filled in by backward()
        self._backward = lambda: None    # passes out.grad down to the inputs (set by each operation)
        self._prev = tuple(_children)    # the Values this one was computed from
        self._op = _op                   # the operation's name, for printing

    def __repr__(self):
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # ---- primitive operations: the forward pass is given, you write each _backward ----

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += out.grad
            other.grad += out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "only a constant int or float exponent is supported"
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += k * self.data ** (k - 1) * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += out.data * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += (1.0 - out.data ** 2) * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data  # computed without overflow for large |x|
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += out.data * (1.0 - out.data) * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            ### BEGIN SOLUTION
            self.grad += (1.0 if self.data > 0 else 0.0) * out.grad
            ### END SOLUTION

        out._backward = _backward
        return out

    # ---- composite operations (given): their gradients come from the primitives ----

    def __neg__(self):            # -a
        return self * -1

    def __sub__(self, other):     # a - b
        return self + (-other)

    def __truediv__(self, other):  # a / b
        return self * other ** -1

    def __radd__(self, other):    # 2 + a
        return self + other

    def __rmul__(self, other):    # 3 * a
        return self * other

    def __rsub__(self, other):    # 1 - a
        return (-self) + other

    def __rtruediv__(self, other):  # 1 / a
        return Value(other) * self ** -1

    # ---- the backward pass ----

    def backward(self):
        """Set self.grad = 1.0, then call _backward() of every node in reverse topological order."""
        ### BEGIN SOLUTION
        order, visited = [], set()
        stack = [(self, False)]
        while stack:  # iterative depth-first search: a node is appended after everything it depends on
            node, inputs_done = stack.pop()
            if inputs_done:
                order.append(node)
                continue
            if node in visited:
                continue
            visited.add(node)
            stack.append((node, True))
            for child in node._prev:
                if child not in visited:
                    stack.append((child, False))
        self.grad = 1.0
        for node in reversed(order):
            node._backward()
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_value_engine", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def _close(actual, expected, tol=1e-9, name="value"):
    assert abs(actual - expected) <= tol * (1.0 + abs(expected)), f"{name} is {actual}, expected {expected}"


# the lecture's example f = (x + y) * z at x = -2, y = 5, z = -4
x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
f = (x + y) * z
assert f.data == -12.0, f"the forward pass should give f = -12, got {f.data} (do not change the forward code)"
f.backward()
assert f.grad == 1.0, f"backward() must seed the output's grad with 1.0, got {f.grad}"
assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0), f"expected (df/dx, df/dy, df/dz) = (-4, -4, 3), got {(x.grad, y.grad, z.grad)}"
assert type(x.grad) is float and type(z.grad) is float, f"grads must be Python floats, got {type(x.grad).__name__}"

# a value used twice: the contributions of both uses add up (+=), they do not overwrite each other
a = Value(3.0)
(a * a).backward()
assert a.grad == 6.0, f"b = a * a at a = 3: db/da = 2a = 6, got {a.grad}. Use += so both factors contribute"
a = Value(3.0)
(a + a).backward()
assert a.grad == 2.0, f"b = a + a: db/da = 2, got {a.grad}. Use += so both terms contribute"

# a shared intermediate node: c = b*b + b with b = 2a. Its grad is complete only after both uses
a = Value(3.0)
b = a * 2
c = b * b + b
c.backward()
assert b.grad == 13.0, f"c = b*b + b at b = 6: dc/db = 2b + 1 = 13, got {b.grad}"
assert a.grad == 26.0, (f"dc/da = 13 * 2 = 26, got {a.grad}. If b.grad is right but a.grad is not, b's _backward ran "
                        "before b.grad was complete (reverse topological order) or more than once (visit each node once)")

# logistic regression: sigma(w0*x0 + w1*x1 + w2) at w = (2, -3, -3), x = (-1, -2), so the sum is 1
w0, x0, w1, x1, w2 = Value(2.0), Value(-1.0), Value(-3.0), Value(-2.0), Value(-3.0)
out = (w0 * x0 + w1 * x1 + w2).sigmoid()
out.backward()
s = 1.0 / (1.0 + math.exp(-1.0))
ds = s * (1.0 - s)  # sigma'(1) = 0.19661...
_close(out.data, s, name="sigma(1)")
for name, v, expected in [("dw0", w0, -1.0 * ds), ("dx0", x0, 2.0 * ds), ("dw1", w1, -2.0 * ds),
                          ("dx1", x1, -3.0 * ds), ("dw2", w2, ds)]:
    _close(v.grad, expected, name=f"logistic example {name}")
# the same neuron built from primitives, 1 / (1 + exp(-z)), must give the same gradients
w0, x0, w1, x1, w2 = Value(2.0), Value(-1.0), Value(-3.0), Value(-2.0), Value(-3.0)
out = 1 / (1 + (-(w0 * x0 + w1 * x1 + w2)).exp())
out.backward()
_close(w0.grad, -ds, name="dw0 with sigma built from 1 / (1 + exp(-z))")
_close(x1.grad, -3.0 * ds, name="dx1 with sigma built from 1 / (1 + exp(-z))")

# each remaining primitive at one point
for name, build, x_value, expected in [
    ("d tanh(x)/dx at 0.5", lambda v: v.tanh(), 0.5, 1.0 - math.tanh(0.5) ** 2),
    ("d exp(x)/dx at 1", lambda v: v.exp(), 1.0, math.e),
    ("d x**3/dx at 2", lambda v: v ** 3, 2.0, 12.0),
    ("d x**0.5/dx at 4", lambda v: v ** 0.5, 4.0, 0.25),
    ("d relu(x)/dx at 2", lambda v: v.relu(), 2.0, 1.0),
    ("d relu(x)/dx at -1", lambda v: v.relu(), -1.0, 0.0),
    ("d (1/x)/dx at 4", lambda v: 1 / v, 4.0, -1.0 / 16.0),
    ("d (3 - 2x)/dx", lambda v: 3 - 2 * v, 1.5, -2.0),
]:
    v = Value(x_value)
    build(v).backward()
    assert type(v.grad) is float, f"{name}: grad must be a Python float, got {type(v.grad).__name__} (use math, not NumPy)"
    _close(v.grad, expected, name=name)

### BEGIN HIDDEN TESTS
import torch
from course_grading import testing as T

_FORBID = (torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward)
_OPS = ("add", "mul", "sub", "div", "add", "mul", "neg", "exp", "tanh", "sigmoid", "relu", "pow",
        "addc", "radd", "mulc", "rmul", "subc", "rsub", "divc", "rdiv")


def _apply(op, a, b, c):
    """One operation, written with operators and methods that Value and torch tensors share."""
    if op == "add":
        return a + b
    if op == "mul":
        return a * b
    if op == "sub":
        return a - b
    if op == "div":
        return a / b
    if op == "neg":
        return -a
    if op == "exp":
        return a.exp()
    if op == "tanh":
        return a.tanh()
    if op == "sigmoid":
        return a.sigmoid()
    if op == "relu":
        return a.relu()
    if op == "pow":
        return a ** c
    if op == "addc":
        return a + c
    if op == "radd":
        return c + a
    if op == "mulc":
        return a * c
    if op == "rmul":
        return c * a
    if op == "subc":
        return a - c
    if op == "rsub":
        return c - a
    if op == "divc":
        return a / c
    if op == "rdiv":
        return c / a
    raise ValueError(op)


def _allowed(op, a, b, c):
    """Keep the random graph away from poles, complex powers and overflow."""
    if op == "div":
        return abs(b) > 0.3
    if op == "rdiv":
        return abs(a) > 0.3
    if op == "exp":
        return abs(a) < 3.0
    if op == "pow":
        if c != int(c):
            return a > 0.2
        return abs(a) > 0.3 if c < 0 else abs(a) < 4.0
    return True


def _ref_random_graph(seed, n_leaves, n_ops):
    """A random expression DAG with shared nodes, evaluated (and differentiated) on float64 torch tensors."""
    r = T.py_rng(seed)
    leaves = [r.uniform(-2.0, 2.0) for _ in range(n_leaves)]
    nodes = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in leaves]
    program = []
    while len(program) < n_ops:
        op = r.choice(_OPS)
        i = len(nodes) - 1 - r.randrange(3) if r.random() < 0.6 else r.randrange(len(nodes))
        i = i if i >= 0 else 0
        j = r.randrange(len(nodes))
        c = r.choice([2, 3, -1, -2, 0.5, 1.5]) if op == "pow" else r.choice([-2.5, -1.0, 0.5, 1.5, 3.0])
        if not _allowed(op, nodes[i].item(), nodes[j].item(), c):
            continue
        out = _apply(op, nodes[i], nodes[j], c)
        if not abs(out.item()) < 20.0:
            continue
        out.retain_grad()
        program.append((op, i, j, c))
        nodes.append(out)
    nodes[-1].backward()
    grads = [0.0 if t.grad is None else t.grad.item() for t in nodes]
    return leaves, program, [t.item() for t in nodes], grads


def _check_graph(nodes, ref_data, ref_grads, what):
    for k, v in enumerate(nodes):
        T.assert_type(v, Value, f"{what}: node {k}")
        T.assert_type(v.data, float, f"{what}: node {k}.data")
        T.assert_type(v.grad, float, f"{what}: node {k}.grad")
    T.assert_close([v.data for v in nodes], ref_data, atol=1e-9, rtol=1e-9, name=f"{what}: forward values")
    scale = 1.0
    for g in ref_grads:
        scale = abs(g) if abs(g) > scale else scale
    T.assert_close([v.grad for v in nodes], ref_grads, atol=1e-9 * scale, rtol=1e-9, name=f"{what}: gradients")


_r = T.py_rng(2101)
for case in range(40):
    leaves, program, ref_data, ref_grads = _ref_random_graph(21000 + case, _r.randint(1, 5), _r.randint(1, 45))
    with T.forbidden(*_FORBID):
        nodes = [Value(v) for v in leaves]
        for op, i, j, c in program:
            nodes.append(_apply(op, nodes[i], nodes[j], c))
        nodes[-1].backward()
    _check_graph(nodes, ref_data, ref_grads, "random expression graph with shared nodes")

# a long chain that reuses one weight at every step (its grad collects 60 contributions)
_w0, _x0 = _r.uniform(0.5, 1.2), _r.uniform(-1.0, 1.0)
wt, xt = torch.tensor(_w0, dtype=torch.float64, requires_grad=True), torch.tensor(_x0, dtype=torch.float64, requires_grad=True)
h = xt
for _ in range(60):
    h = (h * wt + 0.1).tanh()
h.backward()
with T.forbidden(*_FORBID):
    wv, xv = Value(_w0), Value(_x0)
    hv = xv
    for _ in range(60):
        hv = (hv * wv + 0.1).tanh()
    hv.backward()
_check_graph([wv, xv, hv], [_w0, _x0, h.item()], [wt.grad.item(), xt.grad.item(), 1.0], "a 60-step chain")

# backward() on a single leaf, and on an intermediate node of a larger graph
v = Value(_r.uniform(-3.0, 3.0))
with T.forbidden(*_FORBID):
    v.backward()
assert v.grad == 1.0 and type(v.grad) is float, "backward() on a lone Value must set its grad to 1.0"
p, q = Value(1.5), Value(-0.5)
mid = p * q + p
top = mid.tanh() * 3.0
with T.forbidden(*_FORBID):
    mid.backward()
_check_graph([p, q, mid], [1.5, -0.5, 0.75], [0.5, 1.5, 1.0], "backward() called on an intermediate node")
assert top.grad == 0.0, "backward() must only touch the nodes the starting Value depends on"
v = Value(0.0)
with T.forbidden(*_FORBID):
    v.relu().backward()
assert v.grad == 0.0, "relu's derivative at exactly 0 must be 0 (as in PyTorch)"
### END HIDDEN TESTS
print("✓ Part 1: the Value engine passes the tests")

# %% [markdown]
# Your engine can already train something (ungraded). Below, a single neuron $\tanh(w x + b)$ learns
# $y = \tanh(2x - 1)$ from eight points by gradient descent: each step builds a fresh graph for the mean
# squared error, calls `backward()`, and moves $w$ and $b$ against their gradients.

# %%
try:
    xs = [-1.5 + 3.0 * i / 7 for i in range(8)]
    ys = [math.tanh(2.0 * x_i - 1.0) for x_i in xs]
    w_val, b_val = 0.1, 0.0
    for step in range(201):
        w, b = Value(w_val), Value(b_val)
        loss = Value(0.0)
        for x_i, y_i in zip(xs, ys):
            loss = loss + ((w * x_i + b).tanh() - y_i) ** 2
        loss = loss / len(xs)
        loss.backward()
        w_val, b_val = w_val - 0.5 * w.grad, b_val - 0.5 * b.grad
        if step % 50 == 0:
            print(f"step {step:3d}: loss {loss.data:.5f}, w = {w_val:+.3f}, b = {b_val:+.3f}")
    print("target: w = +2, b = -1")
except NotImplementedError:
    print("Implement Part 1 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — A `Linear` layer in NumPy (2 points)
#
# A linear (fully connected) layer maps a batch $X$ of $N$ rows with `in` features to $N$ rows with `out`
# features:
#
# $$Y = X W + b, \qquad X \in \mathbb{R}^{N\times \text{in}},\ W \in \mathbb{R}^{\text{in}\times\text{out}},\
# b \in \mathbb{R}^{\text{out}},\ Y \in \mathbb{R}^{N\times\text{out}},$$
#
# with $b$ added to every row. In a network, the layers above hand back $G = \partial L/\partial Y$ (shape
# $N\times\text{out}$, like $Y$). Since $Y_{nj} = \sum_i X_{ni} W_{ij} + b_j$, the chain rule gives
#
# $$\frac{\partial L}{\partial W_{ij}} = \sum_n G_{nj}\,X_{ni}, \qquad
# \frac{\partial L}{\partial b_j} = \sum_n G_{nj}, \qquad
# \frac{\partial L}{\partial X_{ni}} = \sum_j G_{nj}\,W_{ij},$$
#
# or, as matrices:
#
# | gradient | formula | shape |
# |---|---|---|
# | $\partial L/\partial W$ | $X^\top G$ | $(\text{in}, \text{out})$, like $W$ |
# | $\partial L/\partial b$ | $G$ summed over the batch (axis 0) | $(\text{out},)$, like $b$ |
# | $\partial L/\partial X$ | $G\,W^\top$ | $(N, \text{in})$, like $X$ |
#
# The bias is used by all $N$ rows, so its gradient is the **sum** of the rows' contributions (the same
# "add over uses" rule as in Part 1). A handy check: every gradient has the shape of what it is the gradient
# of, and there is only one way to multiply the available arrays into that shape.
#
# ### What to implement
#
# The class follows the lecture's `Layer` API. `__init__` is given (it creates `W`, `b` and zero `dW`, `db`).
#
# - **`forward(x)`**: `x` is a float64 `np.ndarray` of shape `(N, in)`. Remember `x` (in `self.x`; `backward`
#   needs it) and return $Y$, a float64 array `(N, out)`.
# - **`backward(grad_out)`**: `grad_out` $= \partial L/\partial Y$, float64 `(N, out)`, for the input of the
#   **most recent** `forward` call. Store `self.dW` `(in, out)` and `self.db` `(out,)` and return
#   $\partial L/\partial X$ `(N, in)`. Each call **overwrites** `dW` and `db` (it does not add to the
#   previous values).
# - **`update(lr)`**: one gradient-descent step, $W \leftarrow W - \text{lr}\cdot dW$ and
#   $b \leftarrow b - \text{lr}\cdot db$, using the gradients of the last `backward`.
#
# All arrays are `np.ndarray` with dtype float64. Do not modify `x` or `grad_out`.

# %% nbgrader={"grade": false, "grade_id": "linear_layer", "locked": false, "schema_version": 3, "solution": true, "task": false}
class Linear:
    """y = x @ W + b for a batch x of shape (N, in_features); W is (in_features, out_features)."""

    def __init__(self, in_features: int, out_features: int, rng: np.random.Generator):
        bound = 1.0 / math.sqrt(in_features)  # like torch.nn.Linear: U(-1/sqrt(in), 1/sqrt(in))
        self.W = rng.uniform(-bound, bound, size=(in_features, out_features))
        self.b = np.zeros(out_features)
        self.dW = np.zeros_like(self.W)  # filled in by backward()
        self.db = np.zeros_like(self.b)
        self.x = None                    # the input of the last forward()

    def forward(self, x: np.ndarray) -> np.ndarray:
        """(N, in) -> (N, out); remembers x for backward()."""
        ### BEGIN SOLUTION
        self.x = x
        return x @ self.W + self.b
        ### END SOLUTION

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dY (N, out) -> dL/dX (N, in); stores (overwrites) self.dW (in, out) and self.db (out,)."""
        ### BEGIN SOLUTION
        self.dW = self.x.T @ grad_out
        self.db = grad_out.sum(axis=0)
        return grad_out @ self.W.T
        ### END SOLUTION

    def update(self, lr: float) -> None:
        """One gradient-descent step: W -= lr * dW, b -= lr * db."""
        ### BEGIN SOLUTION
        self.W = self.W - lr * self.dW
        self.b = self.b - lr * self.db
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_linear_layer", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def _same(actual, expected, name, tol=1e-12):
    assert type(actual) is np.ndarray, f"{name} must be a np.ndarray, got {type(actual).__name__}"
    assert actual.dtype == np.float64, f"{name} must have dtype float64, got {actual.dtype}"
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name} has shape {actual.shape}, expected {expected.shape}"
    worst = float(np.abs(actual - expected).max()) if expected.size else 0.0
    assert worst <= tol, f"{name} is {actual.tolist()}, expected {expected.tolist()}"


layer = Linear(3, 2, np.random.default_rng(0))
assert layer.W.shape == (3, 2) and layer.b.shape == (2,), "do not change __init__: W is (in, out), b is (out,)"
layer.W = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
layer.b = np.array([0.5, -0.5])
x = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]])
y = layer.forward(x)
# row 0: (1 - 5 + 0.5, 2 - 6 - 0.5); row 1: (2 + 3 + 0.5, 4 + 4 - 0.5)
_same(y, [[-3.5, -4.5], [5.5, 7.5]], "forward(x)")

g = np.array([[1.0, 0.0], [0.0, 1.0]])
dx = layer.backward(g)
_same(layer.dW, [[1.0, 2.0], [0.0, 1.0], [-1.0, 0.0]], "dW = x.T @ grad_out")
_same(layer.db, [1.0, 1.0], "db = grad_out summed over the batch (axis 0)")
_same(dx, [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]], "backward's return value dL/dx = grad_out @ W.T")
assert x.tolist() == [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]] and g.tolist() == [[1.0, 0.0], [0.0, 1.0]], \
    "forward and backward must not modify their inputs"

layer.backward(g)  # a second call with the same grad_out: overwrite, do not accumulate
_same(layer.dW, [[1.0, 2.0], [0.0, 1.0], [-1.0, 0.0]], "dW after a second backward() (it must overwrite, not add)")

layer.update(0.1)
_same(layer.W, [[0.9, 1.8], [3.0, 3.9], [5.1, 6.0]], "W after update(0.1)", tol=1e-12)
_same(layer.b, [0.4, -0.6], "b after update(0.1)", tol=1e-12)

### BEGIN HIDDEN TESTS
import torch
from course_grading import testing as T

_FORBID = (torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward)


def _ref_linear(x, W, b, g):
    """y, dL/dx, dL/dW, dL/db by torch.autograd in float64, for L = sum(y * g)."""
    xt, Wt, bt = (torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, W, b))
    y_ref = xt @ Wt + bt
    y_ref.backward(torch.tensor(g, dtype=torch.float64))
    return y_ref.detach().numpy(), xt.grad.numpy(), Wt.grad.numpy(), bt.grad.numpy()


def _check_array(actual, expected, name):
    T.assert_type(actual, np.ndarray, name)
    assert actual.dtype == np.float64, f"{name} must have dtype float64"
    T.assert_close(actual, expected, atol=1e-11, rtol=1e-10, name=name)


_gen = T.rng(2202)
_r = T.py_rng(2201)


def _randn(*shape):
    return (torch.randn(*shape, generator=_gen, dtype=torch.float64) * _r.choice([0.5, 1.0, 3.0])).numpy().copy()


for case in range(20):
    n, d_in, d_out = _r.randint(1, 9), _r.randint(1, 7), _r.randint(1, 6)
    layer = Linear(d_in, d_out, np.random.default_rng(case))
    W, b = _randn(d_in, d_out), _randn(d_out)
    layer.W, layer.b = W.copy(), b.copy()
    x_other, x, g, g2 = _randn(n, d_in), _randn(n, d_in), _randn(n, d_out), _randn(n, d_out)
    x0, g0 = x.copy(), g.copy()
    with T.forbidden(*_FORBID):
        layer.forward(x_other)
        y = layer.forward(x)          # backward must use the most recent input
        dx = layer.backward(g)
    ry, rdx, rdW, rdb = _ref_linear(x0, W, b, g0)
    _check_array(y, ry, "forward(x) on a random batch")
    _check_array(dx, rdx, "backward(grad_out) return value dL/dx")
    _check_array(layer.dW, rdW, "dW on a random batch")
    _check_array(layer.db, rdb, "db on a random batch")
    T.assert_close(x, x0, atol=0.0, rtol=0.0, name="x after forward/backward (must not be modified)")
    T.assert_close(g, g0, atol=0.0, rtol=0.0, name="grad_out after backward (must not be modified)")
    with T.forbidden(*_FORBID):
        layer.backward(g2)
    _, _, rdW2, rdb2 = _ref_linear(x0, W, b, g2)
    _check_array(layer.dW, rdW2, "dW after a second backward() (must overwrite)")
    _check_array(layer.db, rdb2, "db after a second backward() (must overwrite)")
    lr = _r.choice([0.01, 0.1, 0.5])
    with T.forbidden(*_FORBID):
        layer.update(lr)
    _check_array(layer.W, W - lr * rdW2, "W after update(lr)")
    _check_array(layer.b, b - lr * rdb2, "b after update(lr)")
### END HIDDEN TESTS
print("✓ Part 2: the Linear layer passes the tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — Checking gradients with finite differences (2 points)
#
# A derived gradient can be wrong in ways that still "train a bit". The standard test compares it with a
# **numerical** derivative. For a function $f$ of an array $x$ and each entry $x_i$ (with $e_i$ the array
# that is 1 at entry $i$ and 0 elsewhere), the **central difference**
#
# $$\frac{\partial f}{\partial x_i} \approx \frac{f(x + \varepsilon e_i) - f(x - \varepsilon e_i)}{2\varepsilon}$$
#
# has an error of order $\varepsilon^2$ (the $\varepsilon^2$ terms of the two Taylor expansions cancel),
# while the one-sided $\big(f(x + \varepsilon e_i) - f(x)\big)/\varepsilon$ is only accurate to order
# $\varepsilon$. The step cannot be arbitrarily small either: $f$ is computed with a rounding error of about
# $10^{-16}\,|f|$, which the division by $2\varepsilon$ magnifies. In float64, $\varepsilon = 10^{-6}$ is a
# good compromise (about 10 correct digits). It costs two evaluations of $f$ per entry, which is why we
# use it to **check** backpropagation on small examples, never to train.
#
# To compare two gradients independently of their scale, use the relative error
#
# $$\text{rel}(a, b) = \frac{\max_i |a_i - b_i|}{\max\!\big(\max_i (|a_i| + |b_i|),\ 10^{-12}\big)},$$
#
# the largest absolute difference divided by the largest magnitude (the floor $10^{-12}$ avoids $0/0$ when
# both are zero). It is $0$ for equal arrays and at most $1$. With float64 and $\varepsilon = 10^{-6}$, a
# correct gradient typically gives below $10^{-8}$; anything above $10^{-4}$ means a bug.
#
# ### What to implement
#
# **`numerical_gradient(f, x, eps=1e-6)`**
# - `f` takes a float64 array shaped like `x` and returns a scalar (a Python or NumPy float); `x` is a
#   float64 `np.ndarray` of **any shape** (1-D, 2-D, 3-D, …).
# - Return a float64 `np.ndarray` of the same shape as `x`, entry by entry the central difference above with
#   step `eps`.
# - You may change entries of `x` in place while you work, but when the function returns, `x` must hold
#   **exactly** its original values. Save each entry and put the saved value back: adding $\varepsilon$,
#   subtracting $2\varepsilon$ and adding $\varepsilon$ again does not always give back the same float.
#
# **`relative_error(a, b)`**: the formula above for two float64 arrays of the same shape, returned as a
# Python `float`. (`np.ndindex(x.shape)` iterates over the index tuples of an array of any shape.)

# %% nbgrader={"grade": false, "grade_id": "gradient_check", "locked": false, "schema_version": 3, "solution": true, "task": false}
def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function f at x (same shape as x); x is left unchanged."""
    ### BEGIN SOLUTION
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        f_plus = float(f(x))
        x[index] = saved - eps
        f_minus = float(f(x))
        x[index] = saved
        grad[index] = (f_plus - f_minus) / (2.0 * eps)
    return grad
    ### END SOLUTION


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(max(|a| + |b|), 1e-12), as a Python float."""
    ### BEGIN SOLUTION
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.abs(a - b).max() / max(float((np.abs(a) + np.abs(b)).max()), 1e-12))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gradient_check", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
def _check(actual, expected, name, tol=1e-6):
    assert type(actual) is np.ndarray, f"{name} must be a np.ndarray, got {type(actual).__name__}"
    assert actual.dtype == np.float64, f"{name} must have dtype float64, got {actual.dtype}"
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name} has shape {actual.shape}, expected {expected.shape}"
    assert float(np.abs(actual - expected).max()) <= tol, f"{name} is {actual.tolist()}, expected {expected.tolist()}"


# f(x) = sum(x^2) has gradient 2x
x = np.array([1.0, 2.0, -3.0])
_check(numerical_gradient(lambda v: float(np.sum(v ** 2)), x), [2.0, 4.0, -6.0], "gradient of sum(x**2) at (1, 2, -3)")
assert x.tolist() == [1.0, 2.0, -3.0], f"x changed to {x.tolist()}: numerical_gradient must leave x unchanged (put each saved entry back)"

# a 2-D x: f(X) = X[0, 0] * X[1, 1] + X[0, 1]
X = np.array([[2.0, 5.0], [7.0, -1.0]])
_check(numerical_gradient(lambda v: v[0, 0] * v[1, 1] + v[0, 1], X), [[-1.0, 1.0], [0.0, 2.0]],
       "gradient of X[0,0]*X[1,1] + X[0,1] (a 2-D x)")

# x must come back exactly: for these numbers, x + eps - 2*eps + eps is not x
x = np.array([0.3, 0.7, 1.1, 2.3])
numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
assert x.tolist() == [0.3, 0.7, 1.1, 2.3], f"x changed to {x.tolist()}: save each entry and put the saved value back"

# central, not one-sided: for sum(x^3) the central difference is exactly 3x^2 + eps^2
x = np.array([1.0, -2.0])
_check(numerical_gradient(lambda v: float(np.sum(v ** 3)), x, eps=1e-2), [3.0001, 12.0001],
       "gradient of sum(x**3) with eps=1e-2 (central difference: 3x^2 + eps^2)", tol=1e-9)

# relative_error
assert type(relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))) is float, "relative_error must return a Python float"
assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0, "equal arrays have relative error 0"
err = relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
assert abs(err - 0.5 / 4.5) < 1e-12, f"relative_error([1, 2], [1, 2.5]) = 0.5 / 4.5 = 0.1111..., got {err}"
assert relative_error(np.zeros(3), np.zeros(3)) == 0.0, "two zero arrays: 0 / max(0, 1e-12) = 0"
assert abs(relative_error(np.array([1.0, -3.0]), np.array([-1.0, 3.0])) - 1.0) < 1e-12, "opposite arrays have relative error 1"

### BEGIN HIDDEN TESTS
import torch
from course_grading import testing as T

_FORBID = (torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward)


def _ref_relative_error(a, b):
    a, b = np.asarray(a, dtype=np.float64).ravel().tolist(), np.asarray(b, dtype=np.float64).ravel().tolist()
    num, den = 0.0, 0.0
    for p, q in zip(a, b):
        num = abs(p - q) if abs(p - q) > num else num
        den = abs(p) + abs(q) if abs(p) + abs(q) > den else den
    return num / (den if den > 1e-12 else 1e-12)


_gen = T.rng(2302)
_r = T.py_rng(2301)


def _randn(*shape):
    return torch.randn(*shape, generator=_gen, dtype=torch.float64).numpy().copy()


def _ref_problems():
    """(name, f, analytic gradient, x) for functions with known gradients on random shapes."""
    n = _r.randint(2, 6)
    A, c = _randn(n, n), _randn(n)
    yield ("0.5 x.Ax + c.x", lambda v: 0.5 * float(v @ A @ v) + float(c @ v), lambda v: 0.5 * (A + A.T) @ v + c, _randn(n))
    shape = (_r.randint(1, 4), _r.randint(1, 4))
    k = _r.choice([0.3, -0.5, 0.8])
    yield ("sum(sin(X) exp(kX))", lambda v: float(np.sum(np.sin(v) * np.exp(k * v))),
           lambda v: (np.cos(v) + k * np.sin(v)) * np.exp(k * v), _randn(*shape))
    w = _randn(n)
    yield ("log(1 + exp(w.x))", lambda v: float(np.log1p(np.exp(w @ v))),
           lambda v: w / (1.0 + np.exp(-(w @ v))), _randn(n))
    B = _randn(3, _r.randint(1, 4))
    yield ("sum(tanh(X B))", lambda v: float(np.sum(np.tanh(v @ B))),
           lambda v: (1.0 - np.tanh(v @ B) ** 2) @ B.T, _randn(_r.randint(1, 3), 3))
    yield ("sum(X^2 * cos(X)) on a 3-D array", lambda v: float(np.sum(v ** 2 * np.cos(v))),
           lambda v: 2 * v * np.cos(v) - v ** 2 * np.sin(v), _randn(2, _r.randint(1, 3), 2))


for _round in range(3):
    for name, f, grad_f, x in _ref_problems():
        x0 = x.copy()
        with T.forbidden(*_FORBID):
            num = numerical_gradient(f, x)
        T.assert_type(num, np.ndarray, f"numerical_gradient of {name}")
        assert num.dtype == np.float64 and num.shape == x0.shape, f"numerical_gradient of {name}: dtype float64, shape of x"
        T.assert_close(x, x0, atol=0.0, rtol=0.0, name=f"x after numerical_gradient of {name} (must be restored exactly)")
        analytic = grad_f(x0)
        T.assert_close(num, analytic, atol=1e-6, rtol=1e-6, name=f"numerical gradient of {name}")
        with T.forbidden(*_FORBID):
            err_right = relative_error(num, analytic)
            wrong = analytic.copy()
            wrong.flat[0] += 0.1 * (1.0 + float(np.abs(analytic).max()))  # one entry off by 10 % of the scale
            err_wrong = relative_error(num, wrong)
        T.assert_type(err_right, float, "relative_error")
        T.assert_close(err_right, _ref_relative_error(num, analytic), atol=1e-14, rtol=1e-9, name=f"relative_error for {name}")
        assert err_right < 1e-6, f"{name}: a correct gradient should have a tiny relative error"
        assert err_wrong > 1e-3, f"{name}: relative_error must flag a gradient with one wrong entry"

# eps is used, and the difference is central: sum(x^3) gives exactly 3x^2 + eps^2
x = _randn(_r.randint(2, 5))
for eps in (1e-2, 1e-3):
    with T.forbidden(*_FORBID):
        num = numerical_gradient(lambda v: float(np.sum(v ** 3)), x, eps=eps)
    T.assert_close(num, 3 * x ** 2 + eps ** 2, atol=1e-8, rtol=1e-9, name=f"central difference of sum(x**3) with eps={eps}")

# relative_error on random pairs of arrays (and its edge cases)
for _ in range(10):
    shape = (_r.randint(1, 4), _r.randint(1, 5))
    a, b = _randn(*shape), _randn(*shape) * _r.choice([1e-3, 1.0, 1e3])
    err = relative_error(a, b)
    T.assert_type(err, float, "relative_error")
    T.assert_close(err, _ref_relative_error(a, b), atol=1e-15, rtol=1e-12, name="relative_error on random arrays")
    assert relative_error(a, a.copy()) == 0.0, "relative_error of equal arrays must be 0"
    T.assert_close(relative_error(a, -a), 1.0, atol=1e-12, rtol=0.0, name="relative_error(a, -a)")
tiny = np.full((2, 2), 1e-14)
T.assert_close(relative_error(tiny, np.zeros((2, 2))), 1e-14 / 1e-12, atol=1e-15, rtol=1e-9,
               name="relative_error with the 1e-12 floor")
### END HIDDEN TESTS
print("✓ Part 3: numerical_gradient and relative_error pass the tests")

# %% [markdown]
# Now use the checker on Part 2 (ungraded). For $L = \sum_{n,j} Y_{nj} G_{nj}$ with a fixed random $G$ we
# have $\partial L/\partial Y = G$, so `backward(G)` must return $\partial L/\partial X$ and store
# $\partial L/\partial W$ and $\partial L/\partial b$. The finite differences perturb $W$, $b$ and $X$ in place,
# one entry at a time.

# %%
try:
    rng = np.random.default_rng(1)
    layer = Linear(4, 3, rng)
    layer.b = rng.normal(size=3)
    X_check, G_check = rng.normal(size=(5, 4)), rng.normal(size=(5, 3))
    loss_of = lambda: float(np.sum(layer.forward(X_check) * G_check))
    layer.forward(X_check)
    dX_check = layer.backward(G_check)
    dW_check, db_check = layer.dW.copy(), layer.db.copy()
    for name, analytic, param in [("dW", dW_check, layer.W), ("db", db_check, layer.b), ("dX", dX_check, X_check)]:
        numeric = numerical_gradient(lambda _: loss_of(), param)
        print(f"{name}: relative error backprop vs finite differences = {relative_error(analytic, numeric):.1e}")
except NotImplementedError:
    print("Implement Parts 2 and 3 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — A two-layer MLP by hand, checked against `torch.autograd` (3 points)
#
# The network has one hidden layer of $H$ tanh units and a linear output, and is trained with the mean
# squared error:
#
# $$Z = X W_1 + b_1,\qquad A = \tanh(Z),\qquad \hat{Y} = A W_2 + b_2,\qquad
# L = \frac{1}{N K}\sum_{n,k} (\hat{Y}_{nk} - Y_{nk})^2,$$
#
# with $X$: $(N, D)$, $W_1$: $(D, H)$, $b_1$: $(H,)$, $Z$ and $A$: $(N, H)$, $W_2$: $(H, K)$, $b_2$: $(K,)$,
# $\hat{Y}$ and $Y$: $(N, K)$. The mean runs over **all** $N\cdot K$ entries.
#
# **Backward**, from the loss down, one chain-rule step at a time:
#
# 1. $\partial L/\partial \hat{Y} = \frac{2}{NK}(\hat{Y} - Y)$, shape $(N, K)$.
# 2. $\hat{Y} = A W_2 + b_2$ is a linear layer, so Part 2's formulas give $\partial L/\partial W_2$,
#    $\partial L/\partial b_2$ and $\partial L/\partial A$.
# 3. $\tanh$ acts entrywise with derivative $1 - \tanh^2$: $\partial L/\partial Z = \partial L/\partial A
#    \odot (1 - A^2)$ ($\odot$ is the entrywise product).
# 4. $Z = X W_1 + b_1$ is a linear layer again: $\partial L/\partial W_1$ and $\partial L/\partial b_1$.
#    ($\partial L/\partial X$ is not needed.)
#
# ### What to implement
#
# **`mlp_forward_backward(W1, b1, W2, b2, x, y)`** — all arguments float64 `np.ndarray`s with the shapes
# above. Return the tuple `(loss, grads)`: `loss` a Python `float`, `grads` a `dict` with exactly the keys
# `"W1"`, `"b1"`, `"W2"`, `"b2"`, each a float64 `np.ndarray` shaped like its parameter. Write it with NumPy
# only, self-contained (do not use your `Linear` class, so this part is graded on its own), and do not
# modify the inputs. The hidden tests compare your loss and gradients with `torch.autograd` in float64 on
# random shapes, to a relative tolerance of $10^{-8}$: you can do the same comparison yourself in a scratch
# cell, or check entries with your Part 3 checker.
#
# **`train_mlp(x, y, steps=2000, lr=0.1, seed=0, hidden=16)`** — full-batch gradient descent:
# 1. With `rng = np.random.default_rng(seed)`, initialise `W1 = rng.normal(0, 1/sqrt(D), size=(D, hidden))`,
#    then `W2 = rng.normal(0, 1/sqrt(hidden), size=(hidden, K))`; `b1` and `b2` are zeros.
# 2. Repeat `steps` times: `loss, grads = mlp_forward_backward(...)`, append `loss` to a list, then update
#    every parameter $p \leftarrow p - \text{lr}\cdot \partial L/\partial p$.
# 3. Return the list of the `steps` losses (Python `float`s), each the loss **before** its update.
#
# The same arguments must give the same list. On the visible task below, $y = \sin(\pi x)$ at 64 points of
# $[-1, 1]$, the loss must fall **below 0.02** with the defaults (it starts near 0.25 for `seed=0`). The
# hidden tests train on other small regression sets (other targets, 2-D inputs, several outputs, other
# seeds and widths) and require the final loss to be below 5 % of the variance of $y$.

# %% nbgrader={"grade": false, "grade_id": "mlp_forward_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mlp_forward_backward(W1: np.ndarray, b1: np.ndarray, W2: np.ndarray, b2: np.ndarray,
                         x: np.ndarray, y: np.ndarray) -> tuple[float, dict]:
    """MSE loss of tanh(x @ W1 + b1) @ W2 + b2 against y, and its gradients {"W1", "b1", "W2", "b2"}."""
    ### BEGIN SOLUTION
    z = x @ W1 + b1
    a = np.tanh(z)
    y_hat = a @ W2 + b2
    diff = y_hat - y
    loss = float(np.mean(diff ** 2))
    d_yhat = 2.0 * diff / diff.size
    dW2 = a.T @ d_yhat
    db2 = d_yhat.sum(axis=0)
    d_a = d_yhat @ W2.T
    d_z = d_a * (1.0 - a ** 2)
    dW1 = x.T @ d_z
    db1 = d_z.sum(axis=0)
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_mlp(x: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 0.1, seed: int = 0,
              hidden: int = 16) -> list[float]:
    """Full-batch gradient descent on the MLP of mlp_forward_backward; the loss before each step."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    d_in, d_out = x.shape[1], y.shape[1]
    params = {"W1": rng.normal(0.0, 1.0 / math.sqrt(d_in), size=(d_in, hidden)), "b1": np.zeros(hidden)}
    params["W2"] = rng.normal(0.0, 1.0 / math.sqrt(hidden), size=(hidden, d_out))
    params["b2"] = np.zeros(d_out)
    losses = []
    for _ in range(steps):
        loss, grads = mlp_forward_backward(params["W1"], params["b1"], params["W2"], params["b2"], x, y)
        losses.append(loss)
        for name in params:
            params[name] = params[name] - lr * grads[name]
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mlp", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
def _close(actual, expected, name, tol=1e-9):
    actual_arr = np.asarray(actual, dtype=np.float64)
    expected = np.asarray(expected, dtype=np.float64)
    assert actual_arr.shape == expected.shape, f"{name} has shape {actual_arr.shape}, expected {expected.shape}"
    assert float(np.abs(actual_arr - expected).max()) <= tol, f"{name} is {actual_arr.tolist()}, expected {expected.tolist()}"


# by hand: one sample, one hidden unit with W1 = 0, so a = tanh(0) = 0, y_hat = 0, loss = (0 - 1)^2 = 1
# dL/dy_hat = 2 * (0 - 1) = -2; dW2 = a * (-2) = 0; db2 = -2; dL/da = -2 * W2 = -2; dL/dz = -2 * (1 - 0^2) = -2
# dW1 = x * (-2) = -3 (x = 1.5); db1 = -2
args = (np.array([[0.0]]), np.array([0.0]), np.array([[1.0]]), np.array([0.0]), np.array([[1.5]]), np.array([[1.0]]))
loss, grads = mlp_forward_backward(*args)
assert type(loss) is float, f"the loss must be a Python float, got {type(loss).__name__} (use float(...))"
assert loss == 1.0, f"hand example: loss should be 1.0, got {loss}"
assert type(grads) is type({}) and len(grads) == 4 and all(k in grads for k in ("W1", "b1", "W2", "b2")), \
    f"grads must be a dict with the keys W1, b1, W2, b2, got {grads!r}"
for k, expected in [("W1", [[-3.0]]), ("b1", [-2.0]), ("W2", [[0.0]]), ("b2", [-2.0])]:
    assert type(grads[k]) is np.ndarray and grads[k].dtype == np.float64, f"grads[{k!r}] must be a float64 np.ndarray"
    _close(grads[k], expected, f"hand example grads[{k!r}]")

# shapes on a small random net, and one finite-difference check per parameter
rng = np.random.default_rng(0)
params = {"W1": rng.normal(size=(3, 4)), "b1": rng.normal(size=4), "W2": rng.normal(size=(4, 2)), "b2": rng.normal(size=2)}
x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
loss, grads = mlp_forward_backward(params["W1"], params["b1"], params["W2"], params["b2"], x, y)
for k, p in params.items():
    assert grads[k].shape == p.shape, f"grads[{k!r}] has shape {grads[k].shape}, expected {p.shape} (the shape of {k})"
    index = (0,) * p.ndim
    saved = p[index]
    p[index] = saved + 1e-6
    up = mlp_forward_backward(params["W1"], params["b1"], params["W2"], params["b2"], x, y)[0]
    p[index] = saved - 1e-6
    down = mlp_forward_backward(params["W1"], params["b1"], params["W2"], params["b2"], x, y)[0]
    p[index] = saved
    numeric = (up - down) / 2e-6
    assert abs(grads[k][index] - numeric) <= 1e-6 * (1 + abs(numeric)), \
        f"grads[{k!r}]{list(index)} = {grads[k][index]:.8f}, but the finite difference of your loss gives {numeric:.8f}"

# training on y = sin(pi x)
x_train = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
y_train = np.sin(np.pi * x_train)
losses = train_mlp(x_train, y_train)
assert type(losses) is type([]) and len(losses) == 2000, "train_mlp must return a list with one loss per step (2000 by default)"
assert all(type(v) is float for v in losses), "each loss must be a Python float"
assert losses[-1] < losses[0], f"the loss did not decrease: {losses[0]:.4f} -> {losses[-1]:.4f}"
assert losses[-1] < 0.02, f"final loss {losses[-1]:.4f}, expected below 0.02 (start {losses[0]:.4f}); check the gradients and the update"
assert train_mlp(x_train, y_train, steps=50) == losses[:50], \
    "train_mlp must be deterministic: the first 50 losses must not depend on the number of steps"

### BEGIN HIDDEN TESTS
import torch
from course_grading import testing as T

_FORBID = (torch.Tensor.backward, torch.autograd.grad, torch.autograd.backward)
_KEYS = ("W1", "b1", "W2", "b2")


def _ref_mlp(W1, b1, W2, b2, x, y):
    """Loss and gradients by torch.autograd, float64."""
    t = {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in t.items()}
    pred = torch.tanh(torch.tensor(x) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    ref_loss = ((pred - torch.tensor(y)) ** 2).mean()
    ref_loss.backward()
    return ref_loss.item(), {k: v.grad.numpy() for k, v in t.items()}


_gen = T.rng(2402)
_r = T.py_rng(2401)


def _randn(*shape, scale=1.0):
    return (torch.randn(*shape, generator=_gen, dtype=torch.float64) * scale).numpy().copy()


for case in range(14):
    n, d, h, k = _r.randint(1, 20), _r.randint(1, 5), _r.randint(1, 10), (1 + case % 3)
    s = _r.choice([0.3, 1.0, 2.0])
    inputs = (_randn(d, h, scale=s), _randn(h, scale=s), _randn(h, k, scale=s), _randn(k, scale=s),
              _randn(n, d), _randn(n, k, scale=_r.choice([0.5, 2.0])))
    copies = [a.copy() for a in inputs]
    with T.forbidden(*_FORBID):
        loss, grads = mlp_forward_backward(*inputs)
    ref_loss, ref_grads = _ref_mlp(*copies)
    T.assert_type(loss, float, "the loss")
    T.assert_close(loss, ref_loss, atol=1e-12, rtol=1e-8, name=f"loss (N={n}, D={d}, H={h}, K={k})")
    T.assert_type(grads, type({}), "grads")
    assert len(grads) == 4 and all(key in grads for key in _KEYS), "grads must have exactly the keys W1, b1, W2, b2"
    for key in _KEYS:
        T.assert_type(grads[key], np.ndarray, f"grads[{key!r}]")
        assert grads[key].dtype == np.float64, f"grads[{key!r}] must be float64"
        T.assert_close(grads[key], ref_grads[key], atol=1e-12, rtol=1e-8, name=f"grads[{key!r}] (N={n}, D={d}, H={h}, K={k})")
    for original, copy in zip(inputs, copies):
        T.assert_close(original, copy, atol=0.0, rtol=0.0, name="an input of mlp_forward_backward (must not be modified)")

# training: other targets, 2-D inputs and two outputs, other seeds and widths
x1 = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
x2 = (torch.rand(100, 2, generator=_gen, dtype=torch.float64) * 2 - 1).numpy().copy()
tasks = [("cos(pi x)", x1, np.cos(np.pi * x1), 16),
         ("|x|", x1, np.abs(x1), 12),
         ("two outputs of a 2-D input", x2, np.hstack([x2[:, :1] * x2[:, 1:], np.sin(2 * x2[:, 1:])]), 24)]
for name, x_task, y_task, width in tasks:
    seed = _r.randint(1, 999)
    with T.forbidden(*_FORBID):
        losses = train_mlp(x_task, y_task, seed=seed, hidden=width)
    T.assert_type(losses, type([]), "train_mlp's result")
    assert len(losses) == 2000 and all(type(v) is float for v in losses), "train_mlp: 2000 Python floats by default"
    target = 0.05 * float(np.var(y_task))
    assert losses[-1] < target, f"train_mlp on {name}: final loss {losses[-1]:.4f}, needs to be below {target:.4f}"
    with T.forbidden(*_FORBID):
        again = train_mlp(x_task, y_task, steps=30, seed=seed, hidden=width)
        frozen = train_mlp(x_task, y_task, steps=5, lr=0.0, seed=seed, hidden=width)
        other = train_mlp(x_task, y_task, steps=1, seed=seed + 1, hidden=width)
        wider = train_mlp(x_task, y_task, steps=1, seed=seed, hidden=width + 1)
    assert again == losses[:30], f"train_mlp on {name}: the same seed must give the same losses"
    assert len(frozen) == 5 and all(v == losses[0] for v in frozen), "train_mlp with lr=0.0 must keep the initial loss"
    assert other[0] != losses[0], "train_mlp: another seed must give another initialisation"
    assert wider[0] != losses[0], "train_mlp: the hidden argument must set the number of hidden units"
### END HIDDEN TESTS
print("✓ Part 4: mlp_forward_backward and train_mlp pass the tests")

# %% [markdown]
# Learning curves for three learning rates (ungraded). Too small a step is slow: `lr = 0.02` needs about
# 1500 steps to get below the dashed line that `lr = 0.1` crosses after about 200. Too large a step overshoots: with `lr = 0.3` the loss
# drops fast at first, then keeps jumping up by one or two orders of magnitude and recovering (a little
# larger and it diverges). Gradient descent only promises progress for steps small enough for the local
# linear approximation of the loss to hold.

# %%
try:
    x_train = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
    y_train = np.sin(np.pi * x_train)
    fig, ax = plt.subplots(figsize=(7, 4))
    for lr in (0.02, 0.1, 0.3):
        curve = train_mlp(x_train, y_train, lr=lr)
        ax.semilogy(curve, label=f"lr = {lr}: final loss {curve[-1]:.4f}")
    ax.axhline(0.02, color="gray", linestyle="--", linewidth=1, label="the visible test's threshold")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("MSE loss (log scale)")
    ax.set_title("Two-layer tanh MLP fitting sin(πx), full-batch gradient descent")
    ax.set_ylim(1e-4, 2.0)
    ax.legend(loc="lower left", fontsize=9)
    plt.show()
except NotImplementedError:
    print("Implement Part 4 first.")
