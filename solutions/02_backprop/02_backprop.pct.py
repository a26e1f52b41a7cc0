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
# | 4 | a two-layer MLP built from your `Linear` layers, backpropagated through them, trained on a small regression | 3 |
#
# **How grading works.** Write your code in the cells marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part is followed by a locked test cell. The tests you can see
# run on tiny, hand-checkable examples: run them as often as you like. At grading time the grader calls your
# functions from outside your notebook on other, randomly generated inputs (other expression graphs, shapes
# and seeds) and compares the results with a reference, so code that only works on the visible examples will
# not get the points. A test cell gives all of its points or none. The parts are graded independently: a
# missing Part 2 does not cost you Part 4.
#
# **Rules.** Everything here is computed by your own code with Python's `math` module and NumPy: no PyTorch
# inside your answers (no tensors, no `torch.autograd`); the grader records the operations your code runs.
# Follow the specifications exactly (names, argument order,
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
def _check(actual, expected, name, tol=1e-9):
    assert type(actual) is float, f"{name}: grad must be a Python float, got {type(actual).__name__} (use math, not NumPy)"
    assert abs(actual - expected) <= tol * (1.0 + abs(expected)), f"{name}: got {actual}, expected {expected}"


# 1. backward() on a lone Value only seeds the gradient: d(out)/d(out) = 1
a = Value(2.0)
a.backward()
assert a.grad == 1.0 and type(a.grad) is float, f"backward() must start with self.grad = 1.0, got {a.grad!r}"

# 2. each primitive on its own, one use of each input: only that operation's _backward runs
a, b = Value(2.0), Value(-3.0)
(a + b).backward()
_check(a.grad, 1.0, "c = a + b: dc/da")
_check(b.grad, 1.0, "c = a + b: dc/db")
a, b = Value(2.0), Value(-3.0)
(a * b).backward()
_check(a.grad, -3.0, "c = a * b at (2, -3): dc/da = b")
_check(b.grad, 2.0, "c = a * b at (2, -3): dc/db = a")
for name, build, x_value, expected in [
    ("d a**3/da at a = 2 (k a^(k-1))", lambda v: v ** 3, 2.0, 12.0),
    ("d a**0.5/da at a = 4", lambda v: v ** 0.5, 4.0, 0.25),
    ("d a**-1/da at a = 4", lambda v: v ** -1, 4.0, -1.0 / 16.0),
    ("d exp(a)/da at a = 1", lambda v: v.exp(), 1.0, math.e),
    ("d tanh(a)/da at a = 0.5 (1 - tanh^2)", lambda v: v.tanh(), 0.5, 1.0 - math.tanh(0.5) ** 2),
    ("d sigmoid(a)/da at a = 1 (s (1 - s))", lambda v: v.sigmoid(), 1.0, math.exp(-1.0) / (1.0 + math.exp(-1.0)) ** 2),
    ("d relu(a)/da at a = 2", lambda v: v.relu(), 2.0, 1.0),
    ("d relu(a)/da at a = -1", lambda v: v.relu(), -1.0, 0.0),
    ("d relu(a)/da at a = 0 (0 there: the 'a > 0' branch is for a > 0 only)", lambda v: v.relu(), 0.0, 0.0),
]:
    v = Value(x_value)
    build(v).backward()
    _check(v.grad, expected, name)

# 3. the composite operators are built from the primitives, so they work once the primitives do
for name, build, x_value, expected in [
    ("d (3 - 2a)/da", lambda v: 3 - 2 * v, 1.5, -2.0),
    ("d (1 / a)/da at a = 4", lambda v: 1 / v, 4.0, -1.0 / 16.0),
    ("d ((a - 1) / 4)/da", lambda v: (v - 1) / 4, 3.0, 0.25),
]:
    v = Value(x_value)
    build(v).backward()
    _check(v.grad, expected, name)

# 4. a value used twice: the contributions of both uses add up (+=), they do not overwrite each other
a = Value(3.0)
(a * a).backward()
assert a.grad == 6.0, f"b = a * a at a = 3: db/da = 2a = 6, got {a.grad}. Use += so both factors contribute"
a = Value(3.0)
(a + a).backward()
assert a.grad == 2.0, f"b = a + a: db/da = 2, got {a.grad}. Use += so both terms contribute"

# 5. a shared intermediate node: c = b*b + b with b = 2a. Its grad is complete only after both uses
a = Value(3.0)
b = a * 2
c = b * b + b
c.backward()
assert b.grad == 13.0, f"c = b*b + b at b = 6: dc/db = 2b + 1 = 13, got {b.grad}"
assert a.grad == 26.0, (f"dc/da = 13 * 2 = 26, got {a.grad}. If b.grad is right but a.grad is not, b's _backward ran "
                        "before b.grad was complete (reverse topological order) or more than once (visit each node once)")

# 6. whole expressions: the lecture's f = (x + y) * z, and a logistic neuron built two ways
x, y, z = Value(-2.0), Value(5.0), Value(-4.0)
f = (x + y) * z
assert f.data == -12.0, f"the forward pass should give f = -12, got {f.data} (do not change the forward code)"
f.backward()
assert type(f.grad) is float and f.grad == 1.0, f"backward() must seed the output's grad with 1.0, got {f.grad!r}"
assert (x.grad, y.grad, z.grad) == (-4.0, -4.0, 3.0), f"expected (df/dx, df/dy, df/dz) = (-4, -4, 3), got {(x.grad, y.grad, z.grad)}"
s = 1.0 / (1.0 + math.exp(-1.0))
ds = s * (1.0 - s)  # sigma'(1) = 0.19661...
for build in (lambda t: t.sigmoid(), lambda t: 1 / (1 + (-t).exp())):
    w0, x0, w1, x1, w2 = Value(2.0), Value(-1.0), Value(-3.0), Value(-2.0), Value(-3.0)
    out = build(w0 * x0 + w1 * x1 + w2)  # sigma(w0 x0 + w1 x1 + w2) at a sum of 1
    out.backward()
    for name, v, expected in [("dw0", w0, -1.0 * ds), ("dx0", x0, 2.0 * ds), ("dw1", w1, -2.0 * ds),
                              ("dx1", x1, -3.0 * ds), ("dw2", w2, ds)]:
        _check(v.grad, expected, f"logistic neuron {name}")

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
        return np.einsum("ni,ij->nj", x, self.W) + self.b  # Y_nj = sum_i X_ni W_ij + b_j
        ### END SOLUTION

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        """dL/dY (N, out) -> dL/dX (N, in); stores (overwrites) self.dW (in, out) and self.db (out,)."""
        ### BEGIN SOLUTION
        self.dW = np.einsum("ni,nj->ij", self.x, grad_out)  # dL/dW_ij = sum_n G_nj X_ni
        self.db = grad_out.sum(axis=0)                        # dL/db_j = sum_n G_nj
        return np.einsum("nj,ij->ni", grad_out, self.W)       # dL/dX_ni = sum_j G_nj W_ij
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

# forward: row 0 gives (1 - 5 + 0.5, 2 - 6 - 0.5), row 1 gives (2 + 3 + 0.5, 4 + 4 - 0.5)
y = layer.forward(x)
_same(y, [[-3.5, -4.5], [5.5, 7.5]], "forward(x)")

# backward, one gradient at a time
g = np.array([[1.0, 0.0], [0.0, 1.0]])
dx = layer.backward(g)
_same(layer.db, [1.0, 1.0], "db = grad_out summed over the batch (axis 0)")
_same(layer.dW, [[1.0, 2.0], [0.0, 1.0], [-1.0, 0.0]], "dW = x.T @ grad_out")
_same(dx, [[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]], "backward's return value dL/dx = grad_out @ W.T")
assert x.tolist() == [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]] and g.tolist() == [[1.0, 0.0], [0.0, 1.0]], \
    "forward and backward must not modify their inputs"

layer.backward(g)  # a second call with the same grad_out: overwrite, do not accumulate
_same(layer.dW, [[1.0, 2.0], [0.0, 1.0], [-1.0, 0.0]], "dW after a second backward() (it must overwrite, not add)")

# backward belongs to the most recent forward: here forward(2 * x) came last, so dW doubles
layer.forward(x)
layer.forward(2.0 * x)
layer.backward(g)
_same(layer.dW, [[2.0, 4.0], [0.0, 2.0], [-2.0, 0.0]], "dW after forward(x), forward(2x), backward(g) (use the last input)")

layer.update(0.1)
_same(layer.W, [[0.8, 1.6], [3.0, 3.8], [5.2, 6.0]], "W after update(0.1)", tol=1e-12)
_same(layer.b, [0.4, -0.6], "b after update(0.1)", tol=1e-12)

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


# relative_error first: it is a formula
assert type(relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))) is float, "relative_error must return a Python float"
assert relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0.0, "equal arrays have relative error 0"
err = relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.5]))
assert abs(err - 0.5 / 4.5) < 1e-12, f"relative_error([1, 2], [1, 2.5]) = 0.5 / 4.5 = 0.1111..., got {err}"
assert abs(relative_error(np.array([1.0, -3.0]), np.array([-1.0, 3.0])) - 1.0) < 1e-12, "opposite arrays have relative error 1"
assert relative_error(np.zeros(3), np.zeros(3)) == 0.0, "two zero arrays: 0 / max(0, 1e-12) = 0"
err = relative_error(np.full(2, 1e-14), np.zeros(2))
assert abs(err - 1e-2) < 1e-12, f"relative_error([1e-14, 1e-14], [0, 0]) = 1e-14 / max(1e-14, 1e-12) = 0.01, got {err}"

# f(x) = sum(x^2) has gradient 2x
x = np.array([1.0, 2.0, -3.0])
_check(numerical_gradient(lambda v: float(np.sum(v ** 2)), x), [2.0, 4.0, -6.0],
       "gradient of sum(x**2) at (1, 2, -3) (the central difference is exact here; a one-sided one is off by eps)", tol=1e-7)
assert x.tolist() == [1.0, 2.0, -3.0], f"x changed to {x.tolist()}: numerical_gradient must leave x unchanged (put each saved entry back)"

# a 2-D x: f(X) = X[0, 0] * X[1, 1] + X[0, 1]
X = np.array([[2.0, 5.0], [7.0, -1.0]])
_check(numerical_gradient(lambda v: v[0, 0] * v[1, 1] + v[0, 1], X), [[-1.0, 1.0], [0.0, 2.0]],
       "gradient of X[0,0]*X[1,1] + X[0,1] (a 2-D x)")

# a 3-D x: f = sum(x * c) has gradient c, whatever the shape
c = np.arange(12.0).reshape(2, 3, 2)
_check(numerical_gradient(lambda v: float(np.sum(v * c)), np.ones((2, 3, 2))), c, "gradient of sum(x * c) for a (2, 3, 2) x")

# x must come back exactly: for these numbers, x + eps - 2*eps + eps is not x
x = np.array([0.3, 0.7, 1.1, 2.3])
numerical_gradient(lambda v: float(np.sum(np.sin(v))), x)
assert x.tolist() == [0.3, 0.7, 1.1, 2.3], f"x changed to {x.tolist()}: save each entry and put the saved value back"

# central, not one-sided, and with the eps given: for sum(x^3) the central difference is exactly 3x^2 + eps^2
x = np.array([1.0, -2.0])
_check(numerical_gradient(lambda v: float(np.sum(v ** 3)), x, eps=1e-2), [3.0001, 12.0001],
       "gradient of sum(x**3) with eps=1e-2 (central difference: 3x^2 + eps^2)", tol=1e-9)

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
# ## Part 4 — A two-layer MLP from your `Linear` layers (3 points)
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
# You build it from two of your Part 2 layers, `layer1 = Linear(D, H)` and `layer2 = Linear(H, K)`. Each layer
# does its own forward and backward pass; the network only chains them, with the tanh and the loss in
# between. This is how every framework composes modules, and it is why you never derive the gradient of a
# whole network at once.
#
# **Backward**, from the loss down, one chain-rule step at a time:
#
# 1. $\partial L/\partial \hat{Y} = \frac{2}{NK}(\hat{Y} - Y)$, shape $(N, K)$.
# 2. `layer2.backward(dL/dŶ)` stores $\partial L/\partial W_2$ and $\partial L/\partial b_2$ in `layer2` and
#    returns $\partial L/\partial A$.
# 3. $\tanh$ acts entrywise with derivative $1 - \tanh^2$: $\partial L/\partial Z = \partial L/\partial A
#    \odot (1 - A^2)$ ($\odot$ is the entrywise product; $A = \tanh Z$ is already computed).
# 4. `layer1.backward(dL/dZ)` stores $\partial L/\partial W_1$ and $\partial L/\partial b_1$ in `layer1`
#    (its return value, $\partial L/\partial X$, is not needed).
#
# ### What to implement
#
# **`make_mlp(n_in, hidden, n_out, seed)`**: with `rng = np.random.default_rng(seed)`, create
# `layer1 = Linear(n_in, hidden, rng)` **first**, then `layer2 = Linear(hidden, n_out, rng)` from the same
# `rng` (so $W_2$ is drawn after $W_1$), and return the tuple `(layer1, layer2)`. `Linear.__init__` draws the
# weights; do not set them yourself.
#
# **`mlp_forward_backward(layer1, layer2, x, y)`**: `x` a float64 array $(N, D)$, `y` a float64 array
# $(N, K)$. One forward pass (`layer1.forward`, tanh, `layer2.forward`: each layer's `forward` called once),
# the loss, and one backward pass as above (`layer2.backward`, then `layer1.backward`: once each). Return the
# loss as a Python `float`; the gradients stay in the layers (`layer1.dW`, `layer1.db`, `layer2.dW`,
# `layer2.db`). The linear parts are the layers' job: do not read or compute `W`, `b`, `dW`, `db` yourself,
# do not call `update`, and do not modify `x` or `y`.
#
# **`train_mlp(layer1, layer2, x, y, steps=2000, lr=0.1)`**: full-batch gradient descent. Repeat `steps`
# times: `loss = mlp_forward_backward(layer1, layer2, x, y)`, append `loss` to a list, then
# `layer1.update(lr)` and `layer2.update(lr)`. Return the list of the `steps` losses (Python `float`s), each
# the loss **before** its update.
#
# Everything stays in NumPy: no PyTorch. Your Part 3 checker is the tool to verify the gradients the
# layers end up with (the visible tests do it with finite differences too).
#
# **Grading on its own.** The grader also hands your three functions *stand-in layers* that return prepared
# arrays and record what your code passes to them (as the first visible tests below do), so Part 4 is judged
# even if your `Linear` has a bug; where your `Linear` passes the Part 2 checks, the grader also trains with it.
#
# On the visible task below, $y = \sin(\pi x)$ at 64 points of $[-1, 1]$, `train_mlp(*make_mlp(1, 16, 1, seed=0),
# x, y)` must bring the loss **below 0.02**. The grader also trains on other small regression sets (other
# targets, 2-D inputs, several outputs, other seeds and widths) and requires the final loss to be below 5 % of
# the variance of $y$.

# %% nbgrader={"grade": false, "grade_id": "make_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def make_mlp(n_in: int, hidden: int, n_out: int, seed: int) -> tuple[Linear, Linear]:
    """(Linear(n_in, hidden), Linear(hidden, n_out)), both drawn from default_rng(seed), layer1 first."""
    ### BEGIN SOLUTION
    rng = np.random.default_rng(seed)
    layer1 = Linear(n_in, hidden, rng)
    layer2 = Linear(hidden, n_out, rng)
    return layer1, layer2
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "mlp_forward_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def mlp_forward_backward(layer1, layer2, x: np.ndarray, y: np.ndarray) -> float:
    """MSE loss of layer2(tanh(layer1(x))) against y; the backward pass leaves the gradients in the layers."""
    ### BEGIN SOLUTION
    a = np.tanh(layer1.forward(x))
    y_hat = layer2.forward(a)
    diff = y_hat - y
    loss = float(np.mean(diff ** 2))
    d_a = layer2.backward(2.0 * diff / diff.size)
    layer1.backward(d_a * (1.0 - a ** 2))
    return loss
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_mlp", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_mlp(layer1, layer2, x: np.ndarray, y: np.ndarray, steps: int = 2000, lr: float = 0.1) -> list[float]:
    """Full-batch gradient descent on the two layers; the loss before each step."""
    ### BEGIN SOLUTION
    losses = []
    for _ in range(steps):
        losses.append(mlp_forward_backward(layer1, layer2, x, y))
        layer1.update(lr)
        layer2.update(lr)
    return losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_mlp", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
class _StandIn:
    """Stands in for a layer: forward and backward return prepared arrays; every call is recorded."""

    def __init__(self, forward_returns, backward_returns):
        self.forward_returns, self.backward_returns, self.calls = forward_returns, backward_returns, []

    def forward(self, x):
        self.calls.append(("forward", np.array(x, dtype=np.float64)))
        return self.forward_returns.copy()

    def backward(self, grad_out):
        self.calls.append(("backward", np.array(grad_out, dtype=np.float64)))
        return self.backward_returns.copy()

    def update(self, lr):
        self.calls.append(("update", lr))


def _close(actual, expected, name, tol=1e-9):
    actual, expected = np.asarray(actual, dtype=np.float64), np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape, f"{name} has shape {actual.shape}, expected {expected.shape}"
    assert float(np.abs(actual - expected).max()) <= tol, f"{name} is {actual.tolist()}, expected {expected.tolist()}"


# 1. mlp_forward_backward on stand-in layers (N = 2, H = 2, K = 2), checked in the order the data flows
x, y = np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
Z = np.array([[0.0, 0.5], [1.0, -2.0]])   # what layer1.forward returns
Y_hat = np.array([[1.0, 3.0], [0.0, 0.0]])  # what layer2.forward returns
dA = np.array([[1.0, 2.0], [-1.0, 0.5]])    # what layer2.backward returns
first, second = _StandIn(Z, np.zeros((2, 3))), _StandIn(Y_hat, dA)
loss = mlp_forward_backward(first, second, x, y)
assert [c[0] for c in first.calls] == ["forward", "backward"] and [c[0] for c in second.calls] == ["forward", "backward"], \
    (f"call each layer's forward once, then its backward once (no update); layer1 saw {[c[0] for c in first.calls]}, "
     f"layer2 saw {[c[0] for c in second.calls]}")
_close(first.calls[0][1], x, "the input of layer1.forward (x itself)")
_close(second.calls[0][1], np.tanh(Z), "the input of layer2.forward (A = tanh of what layer1.forward returned)")
assert type(loss) is float, f"the loss must be a Python float, got {type(loss).__name__} (use float(...))"
_close(loss, 0.75, "the loss: the mean of (Ŷ - Y)² = (1 + 1 + 1 + 0) / 4")
_close(second.calls[1][1], [[0.5, 0.5], [-0.5, 0.0]],
       "the gradient passed to layer2.backward: dL/dŶ = 2 (Ŷ - Y) / (N K), with N K = 4 entries")
_close(first.calls[1][1], dA * (1.0 - np.tanh(Z) ** 2),
       "the gradient passed to layer1.backward: dL/dZ = dL/dA * (1 - A²), with dL/dA what layer2.backward returned")
assert x.tolist() == [[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]] and y.tolist() == [[0.0, 2.0], [1.0, 0.0]], \
    "mlp_forward_backward must not modify x or y"

# 2. train_mlp on stand-ins: per step, forward, backward, then update(lr) of each layer; the losses in a list
first, second = _StandIn(Z, np.zeros((2, 3))), _StandIn(Y_hat, dA)
losses = train_mlp(first, second, x, y, steps=3, lr=0.5)
assert type(losses) is type([]) and losses == [0.75, 0.75, 0.75], f"3 steps on the stand-ins: expected [0.75] * 3, got {losses!r}"
for name, layer in [("layer1", first), ("layer2", second)]:
    assert [c[0] if c[0] != "update" else c for c in layer.calls] == ["forward", "backward", ("update", 0.5)] * 3, \
        f"train_mlp(steps=3, lr=0.5): {name} should see forward, backward, update(0.5) each step, got {layer.calls}"

# 3. make_mlp: layer1 first, both from default_rng(seed)
layer1, layer2 = make_mlp(2, 3, 1, seed=7)
assert type(layer1) is Linear and type(layer2) is Linear, "make_mlp must return two Linear layers"
assert layer1.W.shape == (2, 3) and layer2.W.shape == (3, 1), f"expected W shapes (2, 3) and (3, 1), got {layer1.W.shape}, {layer2.W.shape}"
_rng = np.random.default_rng(7)
_close(layer1.W, _rng.uniform(-1 / math.sqrt(2), 1 / math.sqrt(2), size=(2, 3)),
       "layer1.W (the first draw of default_rng(seed): create layer1 before layer2)")
_close(layer2.W, _rng.uniform(-1 / math.sqrt(3), 1 / math.sqrt(3), size=(3, 1)), "layer2.W (drawn after W1, same rng)")

# 4. with your own Linear layers (needs Part 2): the gradients against finite differences, then training
probe = Linear(2, 1, np.random.default_rng(0))
probe.W, probe.b = np.array([[1.0], [2.0]]), np.array([0.5])
try:
    linear_works = probe.forward(np.ones((1, 2))).tolist() == [[3.5]] and probe.backward(np.ones((1, 1))).tolist() == [[1.0, 2.0]]
except NotImplementedError:
    linear_works = False
if linear_works:
    rng = np.random.default_rng(0)
    layer1, layer2 = make_mlp(3, 4, 2, seed=1)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    mlp_forward_backward(layer1, layer2, x, y)
    grads = {"W1": layer1.dW.copy(), "b1": layer1.db.copy(), "W2": layer2.dW.copy(), "b2": layer2.db.copy()}
    for key, layer, name in [("W2", layer2, "W"), ("b2", layer2, "b"), ("W1", layer1, "W"), ("b1", layer1, "b")]:
        p = getattr(layer, name)
        assert grads[key].shape == p.shape, f"the gradient for {key} has shape {grads[key].shape}, expected {p.shape}"
        index = (0,) * p.ndim
        saved = p[index]
        p[index] = saved + 1e-6
        up = mlp_forward_backward(layer1, layer2, x, y)
        p[index] = saved - 1e-6
        down = mlp_forward_backward(layer1, layer2, x, y)
        p[index] = saved
        numeric = (up - down) / 2e-6
        assert abs(grads[key][index] - numeric) <= 1e-6 * (1 + abs(numeric)), \
            f"d{key}{list(index)} = {grads[key][index]:.8f}, but the finite difference of your loss gives {numeric:.8f}"

    x_train = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
    y_train = np.sin(np.pi * x_train)
    losses = train_mlp(*make_mlp(1, 16, 1, seed=0), x_train, y_train)
    assert type(losses) is type([]) and len(losses) == 2000, "train_mlp must return a list with one loss per step (2000 by default)"
    assert all(type(v) is float for v in losses), "each loss must be a Python float"
    assert losses[-1] < losses[0], f"the loss did not decrease: {losses[0]:.4f} -> {losses[-1]:.4f}"
    assert losses[-1] < 0.02, f"final loss {losses[-1]:.4f}, expected below 0.02 (start {losses[0]:.4f}); check the gradients and the update"
    assert train_mlp(*make_mlp(1, 16, 1, seed=0), x_train, y_train, steps=50) == losses[:50], \
        "the same seed must give the same losses: the first 50 must not depend on the number of steps"
else:
    print("Skipped the checks with your own Linear layers: Part 2's Linear does not work yet.")

print("✓ Part 4: make_mlp, mlp_forward_backward and train_mlp pass the tests")

# %% [markdown]
# Learning curves for three learning rates (ungraded). Too small a step is slow, and too large a step
# overshoots: the loss drops fast at first, then climbs back up now and then, by orders of magnitude, and
# recovers (a little larger and it diverges). Gradient descent only promises progress for steps small enough for the local linear
# approximation of the loss to hold. The printed numbers come from your run.

# %%
try:
    x_train = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
    y_train = np.sin(np.pi * x_train)
    fig, ax = plt.subplots(figsize=(7, 4))
    for lr in (0.02, 0.1, 0.3):
        curve = train_mlp(*make_mlp(1, 16, 1, seed=0), x_train, y_train, lr=lr)
        below = next((step for step, value in enumerate(curve) if value < 0.02), None)
        rises = sum(later > earlier for earlier, later in zip(curve, curve[1:]))
        print(f"lr = {lr}: below 0.02 " + (f"after {below} steps" if below is not None else "never")
              + f"; the loss went up in {rises} of {len(curve) - 1} steps; highest loss after step 100: "
              f"{max(curve[100:]):.3f}; final loss {curve[-1]:.4f}")
        ax.semilogy(curve, label=f"lr = {lr}: final loss {curve[-1]:.4f}")
    ax.axhline(0.02, color="gray", linestyle="--", linewidth=1, label="the visible test's threshold")
    ax.set_xlabel("gradient-descent step")
    ax.set_ylabel("MSE loss (log scale)")
    ax.set_title("Two-layer tanh MLP fitting sin(πx), full-batch gradient descent")
    ax.set_ylim(1e-4, 2.0)
    ax.legend(loc="lower left", fontsize=9)
    plt.show()
except NotImplementedError:
    print("Implement Parts 2 and 4 first.")
