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
# # Assignment 01 — The perceptron and XOR
#
# In 1958 Frank Rosenblatt built the **perceptron**, a single artificial neuron that *learns* its weights
# from examples. In 1969 Minsky and Papert pointed out that it cannot learn something as simple as
# **XOR** — and interest in neural networks collapsed for more than a decade. In this assignment you
# replay that story in a few lines of PyTorch:
#
# | part | what you build | points |
# |---|---|---|
# | 1 | the perceptron: its prediction and Rosenblatt's learning rule, from scratch | 3 |
# | 2 | evidence that no single linear threshold unit can fit XOR | 2 |
# | 3 | XOR solved two ways: a new feature $x_1 x_2$, and a small two-layer network | 3 |
# | 4 | proof by numbers that stacked linear layers collapse into one | 2 |
#
# **How grading works.** Write your code in the cells marked `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part is followed by a locked test cell. The tests you can see
# run on tiny, hand-checkable examples: run them as often as you like. At grading time the same cells also
# run **hidden tests** on other, randomly generated inputs and compare your results with a reference, so
# code that only works on the visible examples will not get the points. The parts are graded
# independently: a missing Part 1 does not cost you Part 3.
#
# Follow the specifications exactly (argument order, return types, dtypes): the tests check them. Run the
# whole notebook top to bottom (*Kernel → Restart & Run All*) before you submit; it should take well under
# a minute on a laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import matplotlib.pyplot as plt
import torch
import torch.nn as nn
import torch.nn.functional as F

from course_utils import make_xor, plot_decision_boundary, seed_everything, xor_truth_table

seed_everything(0)
X_xor, y_xor = xor_truth_table()
print("XOR truth table:")
for x, t in zip(X_xor.tolist(), y_xor.tolist()):
    print(f"  x = {x}  ->  y = {t}")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — The perceptron rule (3 points)
#
# A perceptron with weights $\mathbf{w} \in \mathbb{R}^d$ and bias $b$ computes a weighted sum and
# thresholds it (a *step function*):
#
# $$\hat{y} = \begin{cases} 1 & \text{if } \mathbf{w}\cdot\mathbf{x} + b > 0,\\ 0 & \text{otherwise.}\end{cases}$$
#
# Note the **strict** inequality: a score of exactly $0$ predicts class $0$.
#
# **Rosenblatt's learning rule** visits the training examples one at a time and nudges the weights
# towards every example it gets wrong:
#
# $$\mathbf{w} \leftarrow \mathbf{w} + \eta\,(y - \hat{y})\,\mathbf{x}, \qquad b \leftarrow b + \eta\,(y - \hat{y}),$$
#
# where $\eta$ is the learning rate. When $\hat{y} = y$ the update is zero; when the perceptron says $0$
# for a positive example ($y - \hat y = 1$) the example is added to $\mathbf{w}$, and when it says $1$ for a
# negative one it is subtracted. If the classes are linearly separable, this provably stops making
# mistakes after finitely many updates (the perceptron convergence theorem).
#
# ### What to implement
#
# **`perceptron_predict(X, w, b)`**
# - `X`: float32 tensor of shape `(N, d)`; `w`: float32 tensor of shape `(d,)`; `b`: float32 tensor of
#   shape `()` (a 0-dim tensor).
# - Returns an **int64** tensor of shape `(N,)`: `1` where `X[i]·w + b > 0`, else `0`.
#
# **`train_perceptron(X, y, lr=1.0, epochs=100)`** — follow these steps exactly, so that your result
# matches the reference bit for bit:
# 1. Start from `w = torch.zeros(d, dtype=torch.float32)` and `b = torch.zeros((), dtype=torch.float32)`.
# 2. For each epoch (at most `epochs` of them), visit the samples **in the given order** `i = 0, 1, …, N-1`.
#    For each one, compute $\hat y$ with the **current** `w`, `b` (the rule above, $\hat y = 0$ at exactly
#    0), then apply the update. Count the samples with $\hat y \ne y$: these are the epoch's *mistakes*.
# 3. After each epoch, append its number of mistakes (a Python `int`) to a list. If the epoch had **0
#    mistakes, stop** (that `0` is the last entry of the list).
# 4. Return the tuple `(w, b, mistakes_per_epoch)`: `w` a float32 tensor `(d,)`, `b` a float32 0-dim tensor,
#    `mistakes_per_epoch` a Python `list` of Python `int`s.
#
# `X` is float32 `(N, d)`, `y` is an int64 tensor `(N,)` of 0/1 labels, `lr` a Python float. Do not modify
# `X` or `y`. Try the AND function by hand on paper first: the visible tests spell out every epoch.

# %% nbgrader={"grade": false, "grade_id": "perceptron", "locked": false, "schema_version": 3, "solution": true, "task": false}
def perceptron_predict(X: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Step-function predictions of a perceptron: int64 (N,), 1 where X @ w + b > 0, else 0."""
    ### BEGIN SOLUTION
    return (X @ w + b > 0).to(torch.int64)
    ### END SOLUTION


def train_perceptron(X: torch.Tensor, y: torch.Tensor, lr: float = 1.0,
                     epochs: int = 100) -> tuple[torch.Tensor, torch.Tensor, list[int]]:
    """Rosenblatt's rule, sample by sample in order, from zeros; stop after an epoch without mistakes.

    Returns (w float32 (d,), b float32 0-dim, mistakes_per_epoch: list of int).
    """
    ### BEGIN SOLUTION
    w = torch.zeros(X.shape[1], dtype=torch.float32)
    b = torch.zeros((), dtype=torch.float32)
    mistakes_per_epoch = []
    for _ in range(epochs):
        mistakes = 0
        for x_i, y_i in zip(X, y.tolist()):
            y_hat = 1 if float(x_i @ w + b) > 0 else 0
            if y_hat != y_i:
                w = w + lr * (y_i - y_hat) * x_i
                b = b + lr * (y_i - y_hat)
                mistakes += 1
        mistakes_per_epoch.append(mistakes)
        if mistakes == 0:
            break
    return w, b, mistakes_per_epoch
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_perceptron", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


def _is_int_list(value):
    return type(value) is type([]) and all(type(v) is int for v in value)


T4 = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])

# perceptron_predict: the step function, with 0 at a score of exactly 0
pred = perceptron_predict(T4, torch.tensor([1.0, 1.0]), torch.tensor(-1.5))
assert type(pred) is torch.Tensor, "perceptron_predict must return a torch.Tensor"
assert pred.dtype == torch.int64, f"predictions must be int64 (0/1 class ids), got {pred.dtype}"
assert tuple(pred.shape) == (4,), f"predictions must have shape (N,) = (4,), got {tuple(pred.shape)}"
assert pred.tolist() == [0, 0, 0, 1], f"w=(1,1), b=-1.5 computes AND: expected [0, 0, 0, 1], got {pred.tolist()}"
pred = perceptron_predict(T4, torch.tensor([1.0, 1.0]), torch.tensor(-1.0))
assert pred.tolist() == [0, 0, 0, 1], ("a score of exactly 0 (here at (0,1) and (1,0)) must predict 0: "
                                       f"expected [0, 0, 0, 1], got {pred.tolist()}")

# train_perceptron on AND: by hand, the mistakes per epoch are 1, 3, 3, 2, 1, 0 and it ends at w=(2,1), b=-2
X_and, y_and = T4.clone(), torch.tensor([0, 0, 0, 1])
w, b, mistakes = train_perceptron(X_and, y_and)
assert type(w) is torch.Tensor and type(b) is torch.Tensor, "w and b must be torch.Tensors"
assert w.dtype == torch.float32 and b.dtype == torch.float32, f"w and b must be float32, got {w.dtype}, {b.dtype}"
assert tuple(w.shape) == (2,) and tuple(b.shape) == (), f"w must have shape (d,), b shape (); got {tuple(w.shape)}, {tuple(b.shape)}"
assert _is_int_list(mistakes), f"mistakes_per_epoch must be a Python list of Python ints, got {mistakes!r}"
assert mistakes == [1, 3, 3, 2, 1, 0], (f"AND: expected mistakes per epoch [1, 3, 3, 2, 1, 0], got {mistakes}. "
                                        "Update after every sample, in order, and stop after the first 0.")
T.assert_close(w, [2.0, 1.0], name="AND w")
T.assert_close(b, -2.0, name="AND b")
assert X_and.tolist() == T4.tolist() and y_and.tolist() == [0, 0, 0, 1], "train_perceptron must not modify X or y"

# OR converges faster; epochs limits the number of epochs
w, b, mistakes = train_perceptron(T4.clone(), torch.tensor([0, 1, 1, 1]))
assert mistakes == [1, 2, 1, 0], f"OR: expected mistakes [1, 2, 1, 0], got {mistakes}"
T.assert_close(w, [1.0, 1.0], name="OR w")
T.assert_close(b, 0.0, name="OR b")
w, b, mistakes = train_perceptron(T4.clone(), torch.tensor([0, 0, 0, 1]), lr=0.5, epochs=2)
assert mistakes == [1, 3], f"AND with lr=0.5, epochs=2: expected mistakes [1, 3], got {mistakes}"
T.assert_close(w, [1.0, 0.5], name="AND (lr=0.5, 2 epochs) w")
T.assert_close(b, 0.0, name="AND (lr=0.5, 2 epochs) b")

print("✓ Part 1: perceptron_predict and train_perceptron pass the tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — A perceptron cannot learn XOR (2 points)
#
# XOR is 1 exactly when one input is 1. No line separates its positives $(0,1), (1,0)$ from its negatives
# $(0,0), (1,1)$. The algebra is four inequalities: a threshold unit classifying all four points correctly
# would need
#
# $$b \le 0,\quad w_1 + w_2 + b \le 0,\quad w_2 + b > 0,\quad w_1 + b > 0 .$$
#
# Adding the last two gives $w_1 + w_2 + 2b > 0$, adding the first two gives $w_1 + w_2 + 2b \le 0$: a
# contradiction. So at most **3 of the 4** points can be right, and the perceptron rule never stops making
# mistakes. You will show both numerically.
#
# **`perceptron_xor_mistakes(train_fn, epochs)`**
# - `train_fn` is a training function with exactly the signature and return value of your
#   `train_perceptron` (`train_fn(X, y, lr=..., epochs=...) -> (w, b, mistakes_per_epoch)`). It is passed
#   in so that this part is graded on its own: the tests give it their own trainer.
# - Train with `train_fn` on the XOR truth table from `xor_truth_table()` (in that order), with `lr=1.0` and
#   the given `epochs`.
# - Return the tuple `(mistakes_per_epoch, accuracy)`: the list of ints that `train_fn` reports, and the
#   fraction of the four XOR points that the final `(w, b)` classifies correctly with the step rule of
#   Part 1 ($\hat y = 1$ if $\mathbf{w}\cdot\mathbf{x} + b > 0$), as a Python `float`.
#
# **`best_linear_accuracy(X, y, grid)`** — brute force over a grid of linear threshold units.
# - `X`: float32 `(N, 2)`, `y`: int64 `(N,)` of 0/1 labels, `grid`: a 1-D float32 tensor of `G` candidate
#   values.
# - Consider **every** unit $(w_1, w_2, b)$ with each of $w_1, w_2, b$ taken from `grid` ($G^3$ units), with
#   $\hat y = 1$ if $w_1 x_1 + w_2 x_2 + b > 0$ else $0$.
# - Return the highest accuracy (fraction of the $N$ points classified correctly) any of them reaches, as a
#   Python `float`. Vectorise it (`torch.cartesian_prod` helps): the tests call it with grids of a few
#   hundred units.

# %% nbgrader={"grade": false, "grade_id": "xor_failure", "locked": false, "schema_version": 3, "solution": true, "task": false}
def perceptron_xor_mistakes(train_fn, epochs: int) -> tuple[list[int], float]:
    """Train with `train_fn` on the XOR truth table (lr=1.0); return (mistakes_per_epoch, final accuracy)."""
    ### BEGIN SOLUTION
    X, y = xor_truth_table()
    w, b, mistakes = train_fn(X, y, lr=1.0, epochs=epochs)
    pred = (X @ w + b > 0).long()
    accuracy = (pred == y).double().mean().item()
    return [int(m) for m in mistakes], float(accuracy)
    ### END SOLUTION


def best_linear_accuracy(X: torch.Tensor, y: torch.Tensor, grid: torch.Tensor) -> float:
    """The best accuracy of any unit step(w1*x1 + w2*x2 + b) with w1, w2, b all taken from `grid`."""
    ### BEGIN SOLUTION
    units = torch.cartesian_prod(grid, grid, grid)            # (G^3, 3): columns w1, w2, b
    scores = X @ units[:, :2].T + units[:, 2]                 # (N, G^3)
    correct = ((scores > 0).long() == y[:, None]).double()    # (N, G^3)
    return float(correct.mean(dim=0).max().item())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_xor_failure", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


def _is_int_list(value):
    return type(value) is type([]) and all(type(v) is int for v in value)


class _SpyTrainer:
    """Stands in for train_perceptron: records how it is called and returns fixed (w, b, mistakes)."""

    def __init__(self, w, b, mistakes):
        self.result, self.calls = (w, b, mistakes), []

    def __call__(self, X, y, lr=1.0, epochs=100):
        self.calls.append((X.tolist(), y.tolist(), lr, epochs))
        w, b, mistakes = self.result
        return w.clone(), b.clone(), [m for m in mistakes]


# perceptron_xor_mistakes: trains on the XOR table through train_fn and scores the final (w, b)
spy = _SpyTrainer(torch.tensor([1.0, -1.0]), torch.tensor(0.5), [2, 3, 4, 4, 4, 4, 4])
result = perceptron_xor_mistakes(spy, 7)
assert len(spy.calls) == 1, f"perceptron_xor_mistakes must call train_fn exactly once, it called it {len(spy.calls)} times"
X_seen, y_seen, lr_seen, epochs_seen = spy.calls[0]
assert X_seen == [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], f"train on the XOR truth table, in order; got X = {X_seen}"
assert y_seen == [0, 1, 1, 0], f"the XOR labels are [0, 1, 1, 0]; got y = {y_seen}"
assert lr_seen == 1.0 and epochs_seen == 7, f"use lr=1.0 and the given epochs; got lr={lr_seen}, epochs={epochs_seen}"
mistakes, accuracy = result
assert _is_int_list(mistakes) and mistakes == [2, 3, 4, 4, 4, 4, 4], f"return the mistakes train_fn reported; got {mistakes!r}"
assert type(accuracy) is float, f"the accuracy must be a Python float, got {type(accuracy).__name__}"
# w=(1,-1), b=0.5 scores 0.5, -0.5, 1.5, 0.5 on the four points: predictions 1, 0, 1, 1 -> only (1,0) is right
T.assert_close(accuracy, 0.25, name="accuracy of w=(1,-1), b=0.5 on XOR")

# best_linear_accuracy: AND is linearly separable, XOR is not
T4 = torch.tensor([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
grid = torch.linspace(-2, 2, 9)  # -2, -1.5, ..., 2
acc_and = best_linear_accuracy(T4.clone(), torch.tensor([0, 0, 0, 1]), grid)
assert type(acc_and) is float, f"best_linear_accuracy must return a Python float, got {type(acc_and).__name__}"
T.assert_close(acc_and, 1.0, name="best accuracy on AND")
acc_xor = best_linear_accuracy(T4.clone(), torch.tensor([0, 1, 1, 0]), grid)
T.assert_close(acc_xor, 0.75, name="best accuracy on XOR")
# with only w1, w2, b in {0, 1}, the best unit for XOR outputs 0 everywhere (2 of 4 right) or OR (3 of 4)
T.assert_close(best_linear_accuracy(T4.clone(), torch.tensor([0, 1, 1, 0]), torch.tensor([0.0, 1.0])), 0.75,
       name="best accuracy on XOR with grid {0, 1}")
T.assert_close(best_linear_accuracy(T4.clone(), torch.tensor([1, 1, 1, 1]), torch.tensor([0.0])), 0.0,
       name="best accuracy with the single unit w=(0,0), b=0 (it predicts 0 everywhere)")

print("✓ Part 2: perceptron_xor_mistakes and best_linear_accuracy pass the tests")

# %% [markdown]
# Your perceptron on XOR (ungraded): the mistakes never reach 0, and no unit on a grid gets past 3 of 4.

# %%
try:
    xor_mistakes, xor_final_accuracy = perceptron_xor_mistakes(train_perceptron, 12)
    print("mistakes per epoch on XOR:", xor_mistakes)
    print("accuracy of the final perceptron on XOR:", xor_final_accuracy)
    xor_best = best_linear_accuracy(X_xor, y_xor, torch.linspace(-3, 3, 25))
    print("best accuracy of any unit with w1, w2, b in linspace(-3, 3, 25):", xor_best)
except NotImplementedError:
    print("Implement Parts 1 and 2 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — XOR solved two ways (3 points)
#
# ### (a) A new feature
#
# A linear unit can only draw a line in the space it is given, so give it a better space. Append the
# product $x_1 x_2$ as a third feature, $\varphi(\mathbf{x}) = (x_1, x_2, x_1 x_2)$. On $\{0, 1\}^2$,
#
# $$\operatorname{XOR}(x_1, x_2) = x_1 + x_2 - 2\,x_1 x_2 ,$$
#
# which is *linear* in $\varphi(\mathbf{x})$: in the new space a plane separates the classes.
#
# **`add_product_feature(X)`**: `X` a float tensor `(N, 2)`; return a new tensor `(N, 3)` of the same dtype
# whose columns are $x_1$, $x_2$, $x_1 x_2$. Do not modify `X`.
#
# **`xor_feature_weights()`**: return `(w, b)` — `w` a float32 tensor `(3,)`, `b` a float32 0-dim tensor —
# such that the perceptron $\hat y = [\mathbf{w}\cdot\varphi(\mathbf{x}) + b > 0]$ gets all four XOR points
# right **and** at least 95% of noisy XOR points `make_xor(noise=0.1)` (corners moved by Gaussian noise of
# std 0.1). Put the threshold halfway between the classes, not right next to a corner. (Training your
# perceptron on $\varphi$ of the truth table also separates it, but look at its margin before you use it.)
#
# ### (b) A hidden layer
#
# Instead of designing the feature, let a network learn it: one hidden layer with a nonlinearity,
#
# $$\mathbf{h} = f(W_1 \mathbf{x} + \mathbf{b}_1), \qquad \text{logits} = W_2 \mathbf{h} + \mathbf{b}_2 .$$
#
# **`XorNet(hidden=8)`**: an `nn.Module` with `nn.Linear(2, hidden)`, a nonlinearity of your choice
# (`tanh`, ReLU, …), and `nn.Linear(hidden, 2)`; `forward(x)` maps a float32 `(N, 2)` batch to float32
# logits `(N, 2)` (the predicted class is `logits.argmax(dim=1)`). At least 2 hidden units.
#
# **`train_xor_net(seed)`**: seed the randomness with `seed` (e.g. `seed_everything(seed)`), build a
# `XorNet`, train it (full batch, `F.cross_entropy`, e.g. Adam) on `make_xor(n=400, noise=0.1, seed=seed)`
# (adding the four corners of the truth table is fine) and return the trained `XorNet`. It must classify
# the truth table 100% and fresh noisy XOR data ≥ 95% correctly **for every seed**, within about 2 s on a
# laptop CPU (a few hundred full-batch steps are plenty).

# %% nbgrader={"grade": false, "grade_id": "xor_feature", "locked": false, "schema_version": 3, "solution": true, "task": false}
def add_product_feature(X: torch.Tensor) -> torch.Tensor:
    """(N, 2) -> (N, 3): the columns x1, x2, x1*x2 (same dtype as X)."""
    ### BEGIN SOLUTION
    return torch.cat([X, X[:, :1] * X[:, 1:2]], dim=1)
    ### END SOLUTION


def xor_feature_weights() -> tuple[torch.Tensor, torch.Tensor]:
    """(w float32 (3,), b float32 0-dim) of a perceptron on add_product_feature(X) that computes XOR."""
    ### BEGIN SOLUTION
    # XOR = x1 + x2 - 2 x1 x2 on the corners; threshold it halfway, at 0.5
    return torch.tensor([1.0, 1.0, -2.0]), torch.tensor(-0.5)
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "xor_net", "locked": false, "schema_version": 3, "solution": true, "task": false}
class XorNet(nn.Module):
    """Linear(2, hidden) -> nonlinearity -> Linear(hidden, 2): logits of the two classes."""

    def __init__(self, hidden: int = 8):
        super().__init__()
        ### BEGIN SOLUTION
        self.hidden = nn.Linear(2, hidden)
        self.out = nn.Linear(hidden, 2)
        ### END SOLUTION

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ### BEGIN SOLUTION
        return self.out(torch.tanh(self.hidden(x)))
        ### END SOLUTION


def train_xor_net(seed: int) -> XorNet:
    """Train a XorNet on noisy XOR data (make_xor(n=400, noise=0.1, seed=seed)); return it."""
    ### BEGIN SOLUTION
    seed_everything(seed)
    X, y = make_xor(n=400, noise=0.1, seed=seed)
    corners, corner_labels = xor_truth_table()
    X, y = torch.cat([X, corners]), torch.cat([y, corner_labels])
    net = XorNet(hidden=8)
    optimizer = torch.optim.Adam(net.parameters(), lr=0.05)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tensors this small: coordinating threads costs more than the arithmetic
    try:
        for _ in range(200):
            optimizer.zero_grad()
            loss = F.cross_entropy(net(X), y)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return net
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_xor_solved", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


def _accuracy(pred, y):
    pred, y = pred.tolist(), y.tolist()
    right = 0
    for p, t in zip(pred, y):
        right += int(p == t)
    return right / len(y)


# (a) the product feature
X = torch.tensor([[2.0, 3.0], [-1.0, 4.0], [0.5, 0.0]])
phi = add_product_feature(X)
assert type(phi) is torch.Tensor, "add_product_feature must return a torch.Tensor"
assert tuple(phi.shape) == (3, 3), f"add_product_feature: (N, 2) -> (N, 3); got shape {tuple(phi.shape)}"
assert phi.dtype == torch.float32, f"add_product_feature must keep the dtype (float32), got {phi.dtype}"
T.assert_close(phi, [[2, 3, 6], [-1, 4, -4], [0.5, 0, 0]], name="add_product_feature")
assert X.tolist() == [[2.0, 3.0], [-1.0, 4.0], [0.5, 0.0]], "add_product_feature must not modify X"

# (a) the weights: on the features (x1, x2, x1*x2) of the truth table they must compute XOR
w, b = xor_feature_weights()
assert type(w) is torch.Tensor and type(b) is torch.Tensor, "xor_feature_weights must return two torch.Tensors"
assert w.dtype == torch.float32 and b.dtype == torch.float32, "w and b must be float32"
assert tuple(w.shape) == (3,) and tuple(b.shape) == (), f"w must have shape (3,), b shape (); got {tuple(w.shape)}, {tuple(b.shape)}"
PHI_TABLE = torch.tensor([[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.0, 1.0]])
scores = (PHI_TABLE @ w + b).tolist()
assert [1 if s > 0 else 0 for s in scores] == [0, 1, 1, 0], f"the scores w·φ(x)+b on the truth table are {scores}: they must be > 0 exactly for (0,1) and (1,0)"
X_noisy, y_noisy = make_xor(n=400, noise=0.1, seed=0)
acc = _accuracy((add_product_feature(X_noisy) @ w + b > 0).long(), y_noisy)
assert acc >= 0.95, f"xor_feature_weights: only {acc:.1%} right on make_xor(noise=0.1, seed=0); put the threshold halfway between the classes"

# (b) the network
net = XorNet()
assert isinstance(net, nn.Module), "XorNet must be an nn.Module"
logits = net(torch.zeros(5, 2))
assert type(logits) is torch.Tensor and tuple(logits.shape) == (5, 2), f"XorNet()(x) must return logits (N, 2), got shape {tuple(logits.shape)}"
start = time.thread_time()  # CPU time of this thread: a busy grading machine does not count against you
net = train_xor_net(0)
seconds = time.thread_time() - start
assert type(net) is XorNet, f"train_xor_net must return a XorNet, got {type(net).__name__}"
with torch.no_grad():
    table_pred = net(X_xor).argmax(dim=1)
    noisy_pred = net(X_noisy).argmax(dim=1)
assert table_pred.tolist() == [0, 1, 1, 0], f"train_xor_net(0) predicts {table_pred.tolist()} on the truth table, expected [0, 1, 1, 0]"
acc = _accuracy(noisy_pred, y_noisy)
assert acc >= 0.95, f"train_xor_net(0) gets only {acc:.1%} of noisy XOR points right (need ≥ 95%)"
assert seconds <= 10.0, f"train_xor_net(0) took {seconds:.1f} s of CPU time; aim for about 2 s (fewer steps, full batch)"

print("✓ Part 3: the product feature and the XOR network pass the tests")

# %% [markdown]
# The two solutions side by side (ungraded): the product feature draws a hyperbola-shaped boundary, the
# network learns its own curved one.

# %%
try:
    w_feat, b_feat = xor_feature_weights()
    xor_net = train_xor_net(0)
    X_plot, y_plot = make_xor(n=200, noise=0.1, seed=1)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    plot_decision_boundary(lambda p: (add_product_feature(p) @ w_feat + b_feat > 0).long(), X_plot, y_plot,
                           ax=axes[0], title="perceptron on (x1, x2, x1·x2)")
    plot_decision_boundary(lambda p: xor_net(p).argmax(dim=1), X_plot, y_plot, ax=axes[1],
                           title="XorNet (one hidden layer)")
    fig.tight_layout()
    plt.show()
except NotImplementedError:
    print("Implement Part 3 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Stacked linear layers collapse into one (2 points)
#
# Why does the network of Part 3 need the nonlinearity? Without it, depth buys nothing. `nn.Linear` with
# weight $W$ (shape `(out, in)`) and bias $\mathbf{b}$ computes $\mathbf{x} \mapsto W\mathbf{x} + \mathbf{b}$
# (for a batch, $XW^\top + \mathbf{b}$). Composing $k$ of them,
#
# $$W_k(\cdots W_2(W_1\mathbf{x} + \mathbf{b}_1) + \mathbf{b}_2 \cdots) + \mathbf{b}_k
#   = \underbrace{W_k \cdots W_2 W_1}_{W}\,\mathbf{x}
#   + \underbrace{\textstyle\sum_{i=1}^{k} W_k \cdots W_{i+1}\,\mathbf{b}_i}_{\mathbf{b}},$$
#
# which is again one linear layer. Computed layer by layer: start from $W = W_1$, $\mathbf{b} = \mathbf{b}_1$,
# and for each next layer $W \leftarrow W_i W$, $\mathbf{b} \leftarrow W_i \mathbf{b} + \mathbf{b}_i$.
#
# **`collapse_linear(layers)`**
# - `layers`: a non-empty Python list of `nn.Linear` (float32) whose sizes chain
#   (`layers[i].out_features == layers[i+1].in_features`). A layer built with `bias=False` has
#   `layer.bias is None`: treat its bias as zero.
# - Return **one new** `nn.Linear(layers[0].in_features, layers[-1].out_features)` (always with a bias) such
#   that `out(x)` equals `layers[-1](...layers[0](x))` for every input `x`, up to float32 rounding.
# - Do not modify the input layers, and do not return one of them (even when there is only one).
#
# To set a layer's parameters without recording them for autograd: `with torch.no_grad(): layer.weight.copy_(W)`.

# %% nbgrader={"grade": false, "grade_id": "collapse", "locked": false, "schema_version": 3, "solution": true, "task": false}
def collapse_linear(layers: list[nn.Linear]) -> nn.Linear:
    """One new nn.Linear equal to applying `layers` in order (missing biases count as zero)."""
    ### BEGIN SOLUTION
    with torch.no_grad():
        W = layers[0].weight.detach().clone()
        b = layers[0].bias.detach().clone() if layers[0].bias is not None else torch.zeros(layers[0].out_features)
        for layer in layers[1:]:
            W = layer.weight @ W
            b = layer.weight @ b
            if layer.bias is not None:
                b = b + layer.bias
        out = nn.Linear(layers[0].in_features, layers[-1].out_features)
        out.weight.copy_(W)
        out.bias.copy_(b)
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_collapse", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


def _linear(in_features, out_features, weight, bias=None):
    layer = nn.utils.skip_init(nn.Linear, in_features, out_features, bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        if bias is not None:
            layer.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))
    return layer


# two layers by hand: W = W2 W1 = [[1, 1]], b = W2 b1 + b2 = 1 + 3 = 4
l1 = _linear(2, 2, [[1.0, 2.0], [0.0, 1.0]], [1.0, 0.0])
l2 = _linear(2, 1, [[1.0, -1.0]], [3.0])
out = collapse_linear([l1, l2])
assert type(out) is nn.Linear, f"collapse_linear must return an nn.Linear, got {type(out).__name__}"
assert out.in_features == 2 and out.out_features == 1, f"expected Linear(2 -> 1), got Linear({out.in_features} -> {out.out_features})"
assert out.bias is not None, "the collapsed layer must have a bias"
T.assert_close(out.weight, [[1.0, 1.0]], name="collapsed weight W2 @ W1")
T.assert_close(out.bias, [4.0], name="collapsed bias W2 @ b1 + b2")
x = torch.tensor([[1.0, 2.0], [-3.0, 0.5], [0.0, 0.0]])
with torch.no_grad():
    T.assert_close(out(x), l2(l1(x)), atol=1e-5, rtol=1e-5, name="collapsed output vs the stack")
assert l1.weight.tolist() == [[1.0, 2.0], [0.0, 1.0]] and l1.bias.tolist() == [1.0, 0.0], "collapse_linear must not modify its input layers"
assert l2.weight.tolist() == [[1.0, -1.0]] and l2.bias.tolist() == [3.0], "collapse_linear must not modify its input layers"

# a single layer without bias: a new layer, same weight, zero bias
l0 = _linear(3, 2, [[1.0, 0.0, 2.0], [0.5, -1.0, 0.0]])
out = collapse_linear([l0])
assert type(out) is nn.Linear and out is not l0, "return a new nn.Linear, not one of the inputs"
T.assert_close(out.weight, l0.weight, name="single layer weight")
T.assert_close(out.bias, [0.0, 0.0], name="single layer without bias: bias")

print("✓ Part 4: collapse_linear passes the tests")

# %% [markdown]
# And with a nonlinearity in between (ungraded): the stack is no longer one linear layer, so the collapse
# stops matching. That is exactly what lets `XorNet` fit XOR.

# %%
try:
    demo = [nn.Linear(2, 8), nn.Linear(8, 8), nn.Linear(8, 1)]
    single = collapse_linear(demo)
    x = torch.randn(256, 2)
    with torch.no_grad():
        linear_stack = demo[2](demo[1](demo[0](x)))
        relu_stack = demo[2](torch.relu(demo[1](torch.relu(demo[0](x)))))
        print(f"max |stack - collapsed|, no nonlinearity: {(linear_stack - single(x)).abs().max().item():.2e}")
        print(f"max |stack - collapsed|, with ReLU:        {(relu_stack - single(x)).abs().max().item():.2e}")
except NotImplementedError:
    print("Implement Part 4 first.")
