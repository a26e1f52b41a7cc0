"""Hidden tests of Assignment 02, judged in the grader's process (instructor only, never released).

The student's `Value` graphs are built in the kernel by a small runner (plumbing, no answers) so that one
call builds a whole expression graph and runs `backward()`. Part 4 hands the student's functions stand-in
layers that return judge-chosen arrays and record what they receive, so Part 4 is judged without Part 2;
where the student's own `Linear` works, Part 4 is also run end to end with it.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from course_grading.judge import Judge, case, expect, expect_close, expect_equal, expect_type
from course_grading.remote import StudentRaised

judge = Judge()

# Plumbing that runs in the student's kernel: no reference answer in here, only ways to call the
# student's code in one round trip and stand-ins that record what the student's code passes them.
KERNEL_HELPERS = '''
import functools
import numpy as np


def apply_op(op, a, b, c):
    """One operation, written with the operators and methods of the student's Value."""
    if op == "add": return a + b
    if op == "mul": return a * b
    if op == "sub": return a - b
    if op == "div": return a / b
    if op == "neg": return -a
    if op == "exp": return a.exp()
    if op == "tanh": return a.tanh()
    if op == "sigmoid": return a.sigmoid()
    if op == "relu": return a.relu()
    if op == "pow": return a ** c
    if op == "addc": return a + c
    if op == "radd": return c + a
    if op == "mulc": return a * c
    if op == "rmul": return c * a
    if op == "subc": return a - c
    if op == "rsub": return c - a
    if op == "divc": return a / c
    if op == "rdiv": return c / a
    raise ValueError(op)


def run_graph(Value, leaves, program, start):
    """Build the graph from Values, call backward() on node `start`; every node's (data, grad)."""
    nodes = [Value(v) for v in leaves]
    for op, i, j, c in program:
        nodes.append(apply_op(op, nodes[i], nodes[j], c))
    nodes[start].backward()
    return [n.data for n in nodes], [n.grad for n in nodes]


def state(obj, names):
    return {name: getattr(obj, name) for name in names}


def assign(obj, values):
    for name, value in values.items():
        setattr(obj, name, value)


class StandIn:
    """A layer with forward/backward/update that returns prepared arrays and logs every call."""

    def __init__(self, name, log, forward_returns, backward_returns):
        self.name, self.log = name, log
        self.forward_returns, self.backward_returns = forward_returns, backward_returns

    def forward(self, x):
        self.log.append((self.name, "forward", x.copy() if isinstance(x, np.ndarray) else x))
        return self.forward_returns.copy()

    def backward(self, grad_out):
        self.log.append((self.name, "backward", grad_out.copy() if isinstance(grad_out, np.ndarray) else grad_out))
        return self.backward_returns.copy()

    def update(self, lr):
        self.log.append((self.name, "update", lr))


def stand_ins(z, y_hat, d_a, d_x):
    log = []
    return StandIn("layer1", log, z, d_x), StandIn("layer2", log, y_hat, d_a)


def quadratic(A, c, v): return 0.5 * float(v @ A @ v) + float(c @ v)
def sin_exp(k, v): return float(np.sum(np.sin(v) * np.exp(k * v)))
def softplus_dot(w, v): return float(np.log1p(np.exp(w @ v)))
def tanh_sum(B, v): return float(np.sum(np.tanh(v @ B)))
def square_cos(v): return float(np.sum(v ** 2 * np.cos(v)))
def cube_sum(v): return float(np.sum(v ** 3))
def variance(v): return float(np.var(v))
def square_sum(v): return float(np.sum(v ** 2))
def corner_product(v): return v[0, 0] * v[1, 1] + v[0, 1]
def weighted_sum(c, v): return float(np.sum(v * c))
def sin_sum(v): return float(np.sum(np.sin(v)))
FUNCTIONS = dict(quadratic=quadratic, sin_exp=sin_exp, softplus_dot=softplus_dot, tanh_sum=tanh_sum,
                 square_cos=square_cos, cube_sum=cube_sum, variance=variance, square_sum=square_sum,
                 corner_product=corner_product, weighted_sum=weighted_sum, sin_sum=sin_sum)


def problem(name, *params):
    """A test function f(x) for numerical_gradient (its parameters bound)."""
    return functools.partial(FUNCTIONS[name], *params)
'''


class Helpers:
    """The kernel helpers of this judge, installed once per part (what a failure inside one is called by)."""

    NAMES = {"run_graph": "your Value engine (building the expression graph, then backward())",
             "state": "reading your object's attributes", "assign": "setting your object's attributes",
             "stand_ins": "the stand-in layers", "problem": "the test function"}

    def __init__(self, student):
        # recording operators imports torch._dynamo on first use: ~10 s, twice that under the profiler
        student.module("importlib.import_module").invoke(("torch._dynamo",), timeout=300)
        namespace = student.module("builtins.dict").invoke((), keep=True).value
        student.module("builtins.exec")(KERNEL_HELPERS, namespace)
        getitem = student.module("operator.getitem")
        for name, what in self.NAMES.items():
            remote = getitem.invoke((namespace, name), keep=True).value
            remote._what = what
            setattr(self, name, remote)


def expect_no_torch(ops: set[str], what: str) -> None:
    """Parts 1-4 are NumPy and math only: no PyTorch operation may run."""
    used = sorted(op for op in ops if op.startswith(("aten.", "torch.")))
    expect(not used, f"{what} must use Python's math and NumPy only, but it ran PyTorch ({', '.join(used[:4])})")


def expect_array(value, name: str, shape: tuple[int, ...]) -> None:
    expect_type(value, np.ndarray, name)
    expect(value.dtype == np.float64, f"{name} should have dtype float64, got {value.dtype}")
    expect(tuple(value.shape) == tuple(shape), f"{name} should have shape {tuple(shape)}, got {tuple(value.shape)}")


# ---------------------------------------------------------------- Part 1: the Value engine

OPS = ("add", "mul", "sub", "div", "add", "mul", "neg", "exp", "tanh", "sigmoid", "relu", "pow",
       "addc", "radd", "mulc", "rmul", "subc", "rsub", "divc", "rdiv")
SYMBOLS = {"add": "a + b", "mul": "a * b", "sub": "a - b", "div": "a / b", "neg": "-a", "exp": "a.exp()",
           "tanh": "a.tanh()", "sigmoid": "a.sigmoid()", "relu": "a.relu()", "pow": "a ** c", "addc": "a + c",
           "radd": "c + a", "mulc": "a * c", "rmul": "c * a", "subc": "a - c", "rsub": "c - a", "divc": "a / c",
           "rdiv": "c / a"}


def ref_sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def ref_op(op: str, a: float, b: float, c: float | None, relu_slope_at_0: float = 0.0):
    """The value of one operation (computed as the given forward code does) and its local derivatives
    with respect to its first and second node operand."""
    if op == "add":
        return a + b, (1.0, 1.0)
    if op == "mul":
        return a * b, (b, a)
    if op == "sub":
        return a + b * -1, (1.0, -1.0)
    if op == "div":
        return a * b ** -1, (b ** -1, a * -(b ** -2))
    if op == "neg":
        return a * -1, (-1.0, None)
    if op == "exp":
        return math.exp(a), (math.exp(a), None)
    if op == "tanh":
        t = math.tanh(a)
        return t, (1.0 - t * t, None)
    if op == "sigmoid":
        s = ref_sigmoid(a)
        return s, (s * (1.0 - s), None)
    if op == "relu":
        return (a if a > 0 else 0.0), ((1.0 if a > 0 else relu_slope_at_0 if a == 0 else 0.0), None)
    if op == "pow":
        return a ** c, (c * a ** (c - 1), None)
    if op in ("addc", "radd"):
        return a + c, (1.0, None)
    if op in ("mulc", "rmul"):
        return a * c, (c, None)
    if op == "subc":
        return a + -c, (1.0, None)
    if op == "rsub":
        return a * -1 + c, (-1.0, None)
    if op == "divc":
        return a * c ** -1, (c ** -1, None)
    if op == "rdiv":
        return c * a ** -1, (c * -(a ** -2), None)
    raise ValueError(op)


def ref_graph(leaves: list[float], program: list[tuple], start: int, relu_slope_at_0: float = 0.0):
    """Every node's value and d(node start)/d(node), by the chain rule summed over all paths."""
    data, local = list(leaves), [[] for _ in leaves]
    for op, i, j, c in program:
        value, (da, db) = ref_op(op, data[i], data[j], c, relu_slope_at_0)
        data.append(value)
        local.append([(i, da)] + ([(j, db)] if db is not None else []))
    grads = [0.0] * len(data)
    grads[start] = 1.0
    for k in range(start, -1, -1):  # the creation order is a topological order
        for parent, derivative in local[k]:
            grads[parent] += derivative * grads[k]
    return data, grads


def allowed(op: str, a: float, b: float, c) -> bool:
    """Keep random graphs away from poles, complex powers and overflow."""
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


def random_program(draw, n_leaves: int, n_ops: int):
    leaves = [draw.uniform(-2.0, 2.0) for _ in range(n_leaves)]
    data, program = list(leaves), []
    while len(program) < n_ops:
        op = draw.choice(OPS)
        i = max(len(data) - 1 - draw.int(0, 2), 0) if draw.uniform(0, 1) < 0.6 else draw.int(0, len(data) - 1)
        j = draw.int(0, len(data) - 1)
        c = draw.choice([2, 3, -1, -2, 0.5, 1.5]) if op == "pow" else draw.choice([-2.5, -1.0, 0.5, 1.5, 3.0])
        if not allowed(op, data[i], data[j], c):
            continue
        value = ref_op(op, data[i], data[j], c)[0]
        if not abs(value) < 20.0:
            continue
        program.append((op, i, j, c))
        data.append(value)
    return leaves, program


def describe(program: list[tuple], n_leaves: int, node: int) -> str:
    if node < n_leaves:
        return f"leaf {node}"
    op, i, j, c = program[node - n_leaves]
    text = (SYMBOLS[op].replace("a", f"node {i}", 1).replace("b", f"node {j}")
            .replace("c", f"{c:g}" if c is not None else "c"))
    return f"node {node} = {text}"


def check_graph(helpers, student, leaves, program, start=-1, name="graph", mistakes=None, record=False) -> None:
    start = start % (len(leaves) + len(program))
    call = helpers.run_graph.invoke((student.Value, leaves, program, start), record_ops=record)
    data, grads = call.value
    if record:
        expect_no_torch(call.ops, "the Value engine")
    ref_data, ref_grads = ref_graph(leaves, program, start)
    for k, (d, g) in enumerate(zip(data, grads)):
        expect(type(d) is float, f"{describe(program, len(leaves), k)}: .data should be a Python float, got "
                                 f"{type(d).__name__} (do not change the forward code)")
        expect(type(g) is float, f"{describe(program, len(leaves), k)}: .grad should be a Python float, got "
                                 f"{type(g).__name__} (use math and plain arithmetic, not NumPy)")
    expect_close(data, ref_data, "the forward values (do not change the forward code)", atol=1e-9, rtol=1e-9)
    scale = max([1.0] + [abs(g) for g in ref_grads])
    for k in range(len(grads) - 1, -1, -1):  # from the output down: the first wrong node names the culprit
        users = [describe(program, len(leaves), len(leaves) + m) for m, (_, i, j, _) in enumerate(program)
                 if k in (i, j) and len(leaves) + m <= start]
        where = describe(program, len(leaves), k) + (f", used by: {'; '.join(users)}" if users else "")
        label_mistakes = {label: values[k] for label, values in (mistakes or {}).items()}
        expect_close(grads[k], ref_grads[k], f"the gradient of {where}", atol=1e-9 * scale, rtol=1e-9,
                     mistakes=label_mistakes)


ACCUMULATE = "gradients are assigned (=) instead of accumulated (+=)"
RELU_AT_0 = "relu's derivative at exactly 0 is taken as 1 (a >= 0 instead of a > 0)"


@judge.part("test_value_engine")
def value_engine(student, draw):
    helpers = Helpers(student)
    with case("backward() on a lone Value"):
        check_graph(helpers, student, [draw.uniform(-3, 3)], [], 0, record=True)

    # each primitive on its own: both inputs of + and *, then every unary operation at a few points
    for op in ("add", "mul"):
        a, b = draw.dyadic(2).tolist()
        with case(f"one operation on two Values: {SYMBOLS[op]}", a=a, b=b):
            check_graph(helpers, student, [a, b], [(op, 0, 1, None)])
    unary = [("pow", 2.0, 3), ("pow", 4.0, 0.5), ("pow", 4.0, -1),
             ("pow", draw.uniform(0.5, 2), draw.choice([2, -2, 1.5])),
             ("exp", 1.0, None), ("exp", draw.uniform(-2, 2), None),
             ("tanh", 0.5, None), ("tanh", draw.uniform(-2, 2), None),
             ("sigmoid", 1.0, None), ("sigmoid", draw.uniform(-3, 3), None), ("sigmoid", -30.0, None),
             ("relu", 2.0, None), ("relu", -1.0, None), ("relu", draw.uniform(0.1, 2), None)]
    for op, a, c in unary:
        with case(f"one operation: {SYMBOLS[op]}", a=a, **({"c": c} if c is not None else {})):
            mistakes = {}
            if op == "tanh":
                mistakes["tanh's derivative is computed from the input, 1 - a², "
                         "instead of the output, 1 - tanh(a)²"] = [1 - a * a, 1.0]
            if op == "sigmoid":
                mistakes["sigmoid's derivative is computed from the input, a (1 - a), "
                         "instead of the output, s (1 - s)"] = [a * (1 - a), 1.0]
            if op == "pow":
                mistakes["the power rule is missing its factor k (a**(k-1) instead of k a**(k-1))"] = [
                    a ** (c - 1), 1.0]
            check_graph(helpers, student, [a], [(op, 0, 0, c)], mistakes=mistakes)
    with case("one operation: a.relu() at exactly a = 0 (the derivative there is 0, as in PyTorch)"):
        check_graph(helpers, student, [0.0], [("relu", 0, 0, None)], mistakes={RELU_AT_0: [1.0, 1.0]})
    with case("a.relu() of a - a, which is exactly 0"):
        a = draw.uniform(-2, 2)
        check_graph(helpers, student, [a], [("sub", 0, 0, None), ("relu", 1, 1, None), ("mulc", 2, 2, 3.0)],
                    mistakes={RELU_AT_0: [0.0, 3.0, 3.0, 1.0]})

    # the composite operators (given) on their own
    for op in ("sub", "div", "neg", "addc", "radd", "mulc", "rmul", "subc", "rsub", "divc", "rdiv"):
        a, b = draw.uniform(0.5, 2) * draw.choice([-1, 1]), draw.uniform(0.5, 2) * draw.choice([-1, 1])
        c = draw.choice([-2.5, -1.0, 0.5, 1.5, 3.0])
        with case(f"one composite operation: {SYMBOLS[op]}", a=a, b=b, c=c):
            check_graph(helpers, student, [a, b], [(op, 0, 1, c)])

    # a value used twice: the contributions add up
    for op, x in [("mul", 3.0), ("add", 3.0), ("mul", draw.uniform(-2, 2)), ("add", draw.uniform(-2, 2))]:
        with case(f"a Value used twice: {SYMBOLS[op].replace('b', 'a')}", a=x):
            wrong = x if op == "mul" else 1.0
            check_graph(helpers, student, [x], [(op, 0, 0, None)], mistakes={ACCUMULATE: [wrong, 1.0]})
    with case("a shared intermediate node: b = 2a, c = b*b + b (visible example)"):
        check_graph(helpers, student, [3.0], [("mulc", 0, 0, 2.0), ("mul", 1, 1, None), ("add", 2, 1, None)])
    with case("the lecture's f = (x + y) * z"):
        check_graph(helpers, student, [-2.0, 5.0, -4.0], [("add", 0, 1, None), ("mul", 3, 2, None)])
    with case("a logistic neuron, sigmoid(w0 x0 + w1 x1 + w2)"):
        check_graph(helpers, student, [2.0, -1.0, -3.0, -2.0, -3.0],
                    [("mul", 0, 1, None), ("mul", 2, 3, None), ("add", 5, 6, None), ("add", 7, 4, None),
                     ("sigmoid", 8, 8, None)])

    for number in range(40):
        leaves, program = random_program(draw, draw.int(1, 5), draw.int(1, 45))
        with case(f"random expression graph #{number + 1} with shared nodes", leaves=len(leaves), ops=len(program)):
            check_graph(helpers, student, leaves, program, record=number == 0)

    w, x = draw.uniform(0.5, 1.2), draw.uniform(-1.0, 1.0)
    program = []
    for step in range(60):  # h <- tanh(h * w + 0.1): node 0 is w, node 1 is x
        h = 1 if step == 0 else len(program) + 1
        program += [("mul", h, 0, None), ("addc", len(program) + 2, 0, 0.1), ("tanh", len(program) + 3, 0, None)]
    with case("a 60-step chain h = tanh(h * w + 0.1) that reuses w at every step (60 contributions)"):
        check_graph(helpers, student, [w, x], program)
    with case("backward() called on an intermediate node: only the nodes it depends on get gradients"):
        check_graph(helpers, student, [1.5, -0.5], [("mul", 0, 1, None), ("add", 2, 0, None), ("tanh", 3, 3, None),
                                                     ("mulc", 4, 4, 3.0)], start=3)


# ---------------------------------------------------------------- Part 2: Linear

def make_layer(student, helpers, d_in: int, d_out: int, seed: int):
    rng = student.module("numpy.random.default_rng").invoke((seed,), keep=True).value
    return student.Linear.invoke((d_in, d_out, rng), keep=True).value


def ref_init(d_in: int, d_out: int, seed: int) -> np.ndarray:
    bound = 1.0 / math.sqrt(d_in)
    return np.random.default_rng(seed).uniform(-bound, bound, size=(d_in, d_out))


def check_linear(student, helpers, draw, W, b, x, g, x_first=None, g2=None, lr=0.1) -> None:
    d_in, d_out, seed = W.shape[0], W.shape[1], draw.new_seed()
    layer = make_layer(student, helpers, d_in, d_out, seed)
    start = helpers.state(layer, ["W", "b"])
    expect_close(start["W"], ref_init(d_in, d_out, seed), "W right after Linear(in, out, rng) (do not change __init__)",
                 atol=0, rtol=0)
    helpers.assign(layer, {"W": W, "b": b})
    forward, backward, update = layer.forward, layer.backward, layer.update
    ops = set()
    if x_first is not None:
        ops |= forward.invoke((x_first,), record_ops=True).ops
    call = forward.invoke((x,), return_args=True, record_ops=True)
    expect_array(call.value, "forward(x)", (len(x), d_out))
    expect_close(call.value, x @ W + b, "forward(x) = x @ W + b", atol=1e-11, rtol=1e-10)
    back = backward.invoke((g,), return_args=True, record_ops=True)
    grads = helpers.state(layer, ["dW", "db"])
    expect_array(grads["db"], "db", (d_out,))
    expect_close(grads["db"], g.sum(axis=0), "db (grad_out summed over the batch)", atol=1e-11, rtol=1e-10,
                 mistakes={"db averages over the batch instead of summing": g.mean(axis=0)})
    expect_array(grads["dW"], "dW", (d_in, d_out))
    wrong_input = {} if x_first is None else {"backward uses the input of an earlier forward call, not the most recent":
                                              x_first.T @ g}
    expect_close(grads["dW"], x.T @ g, "dW = x.T @ grad_out", atol=1e-11, rtol=1e-10, mistakes=wrong_input)
    expect_array(back.value, "backward(grad_out)'s return value dL/dx", (len(x), d_in))
    expect_close(back.value, g @ W.T, "backward(grad_out)'s return value dL/dx = grad_out @ W.T",
                 atol=1e-11, rtol=1e-10)
    expect_equal(call.args[0].tolist(), x.tolist(), "x after forward (do not modify the input)")
    expect_equal(back.args[0].tolist(), g.tolist(), "grad_out after backward (do not modify it)")
    ops |= call.ops | back.ops
    g_next = g if g2 is None else g2
    ops |= backward.invoke((g_next,), record_ops=True).ops
    grads2 = helpers.state(layer, ["dW", "db"])
    expect_close(grads2["dW"], x.T @ g_next, "dW after a second backward() (it must overwrite, not add)", atol=1e-11,
                 rtol=1e-10, mistakes={"backward adds to dW instead of overwriting it": x.T @ g + x.T @ g_next})
    expect_close(grads2["db"], g_next.sum(axis=0), "db after a second backward() (it must overwrite, not add)",
                 atol=1e-11, rtol=1e-10)
    ops |= update.invoke((lr,), record_ops=True).ops
    after = helpers.state(layer, ["W", "b"])
    new_W = W - lr * (x.T @ g_next)
    expect_array(after["W"], f"W after update({lr})", W.shape)
    expect_close(after["W"], new_W, f"W after update({lr}) = W - lr * dW", atol=1e-11, rtol=1e-10,
                 mistakes={"update adds lr * dW instead of subtracting it": W + lr * (x.T @ g_next)})
    expect_close(after["b"], b - lr * g_next.sum(axis=0), f"b after update({lr}) = b - lr * db", atol=1e-11, rtol=1e-10)
    expect_no_torch(ops, "Linear")


@judge.part("test_linear_layer")
def linear_layer(student, draw):
    helpers = Helpers(student)
    W, b = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), np.array([0.5, -0.5])
    x, g = np.array([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]]), np.array([[1.0, 0.0], [0.0, 1.0]])
    with case("visible example"):
        check_linear(student, helpers, draw, W, b, x, g, x_first=x * 0.5)
    for number in range(12):
        n, d_in, d_out = draw.int(1, 9), draw.int(1, 7), draw.int(1, 6)
        scale = draw.choice([0.5, 1.0, 3.0])
        arrays = [(draw.randn(*shape, dtype=torch.float64) * scale).numpy()
                  for shape in [(d_in, d_out), (d_out,), (n, d_in), (n, d_in), (n, d_out), (n, d_out)]]
        W, b, x_first, x, g, g2 = arrays
        lr = draw.choice([0.01, 0.1, 0.5])
        with case(f"random layer #{number + 1}", N=n, inp=d_in, out=d_out, lr=lr):
            check_linear(student, helpers, draw, W, b, x, g, x_first=x_first, g2=g2, lr=lr)


# ---------------------------------------------------------------- Part 3: gradient checking

def ref_relative_error(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64).ravel().tolist(), np.asarray(b, dtype=np.float64).ravel().tolist()
    num = max([abs(p - q) for p, q in zip(a, b)] or [0.0])
    den = max([abs(p) + abs(q) for p, q in zip(a, b)] or [0.0])
    return num / max(den, 1e-12)


def randn(draw, *shape) -> np.ndarray:
    return draw.randn(*shape, dtype=torch.float64).numpy()


def gradient_problems(draw):
    """(name, kernel function name, parameters, analytic gradient, x) for functions with known gradients."""
    n = draw.int(2, 6)
    A, c = randn(draw, n, n), randn(draw, n)
    yield ("0.5 x.Ax + c.x", "quadratic", (A, c), lambda v: 0.5 * (A + A.T) @ v + c, randn(draw, n))
    k = draw.choice([0.3, -0.5, 0.8])
    yield ("sum(sin(X) exp(kX))", "sin_exp", (k,), lambda v: (np.cos(v) + k * np.sin(v)) * np.exp(k * v),
           randn(draw, draw.int(1, 4), draw.int(1, 4)))
    w = randn(draw, n)
    yield ("log(1 + exp(w.x))", "softplus_dot", (w,), lambda v: w / (1.0 + np.exp(-(w @ v))), randn(draw, n))
    B = randn(draw, 3, draw.int(1, 4))
    yield ("sum(tanh(X B))", "tanh_sum", (B,), lambda v: (1.0 - np.tanh(v @ B) ** 2) @ B.T,
           randn(draw, draw.int(1, 3), 3))
    yield ("sum(X^2 cos(X)) on a 3-D array", "square_cos", (), lambda v: 2 * v * np.cos(v) - v ** 2 * np.sin(v),
           randn(draw, 2, draw.int(1, 3), 2))


def central(f, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += eps
        down[index] -= eps
        grad[index] = (f(up) - f(down)) / (2 * eps)
    return grad


def one_sided(f, x: np.ndarray, eps: float) -> np.ndarray:
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up = x.copy()
        up[index] += eps
        grad[index] = (f(up) - f(x)) / eps
    return grad


ONE_SIDED = "a one-sided difference (f(x + eps) - f(x)) / eps is used instead of the central one"


def check_numerical(student, helpers, name, function, params, x, expected, eps=None, atol=1e-6, mistakes=None):
    f = helpers.problem(function, *params)
    kwargs = {} if eps is None else {"eps": eps}
    call = student.numerical_gradient.invoke((f, x.copy()), kwargs, return_args=True, record_ops=True)
    expect_array(call.value, f"numerical_gradient of {name}", x.shape)
    expect_equal(call.args[1].tolist(), x.tolist(), "x after numerical_gradient (it must come back exactly: "
                 "put each saved entry back)")
    expect_close(call.value, expected, f"numerical gradient of {name}", atol=atol, rtol=atol, mistakes=mistakes)
    expect_no_torch(call.ops, "numerical_gradient")
    return call.value


@judge.part("test_gradient_check")
def gradient_check(student, draw):
    helpers = Helpers(student)
    relative_error = student.relative_error
    visible = [(np.array([1.0, 2.0]), np.array([1.0, 2.0]), 0.0),
               (np.array([1.0, 2.0]), np.array([1.0, 2.5]), 0.5 / 4.5),
               (np.array([1.0, -3.0]), np.array([-1.0, 3.0]), 1.0), (np.zeros(3), np.zeros(3), 0.0),
               (np.full(2, 1e-14), np.zeros(2), 1e-2)]
    for a, b, expected in visible:
        with case("relative_error, visible example", a=a.tolist(), b=b.tolist()):
            got = relative_error(a, b)
            expect_type(got, float, "relative_error(a, b)")
            expect_close(got, expected, "relative_error(a, b)", atol=1e-14, rtol=1e-12)
    for number in range(8):
        shape = (draw.int(1, 4), draw.int(1, 5))
        a, b = randn(draw, *shape), randn(draw, *shape) * draw.choice([1e-3, 1.0, 1e3])
        with case(f"relative_error on random arrays #{number + 1}", shape=shape):
            call = relative_error.invoke((a, b), record_ops=True)
            expect_type(call.value, float, "relative_error(a, b)")
            expect_close(call.value, ref_relative_error(a, b), "relative_error(a, b)", atol=1e-15, rtol=1e-12,
                         mistakes={"the mean of |a - b| is used instead of the largest": float(np.mean(np.abs(a - b)))
                                   / max(float((np.abs(a) + np.abs(b)).max()), 1e-12)})
            expect_close(relative_error(a, a.copy()), 0.0, "relative_error(a, a)", atol=0, rtol=0)
            expect_close(relative_error(a, -a), 1.0, "relative_error(a, -a)", atol=1e-12, rtol=0)
            expect_no_torch(call.ops, "relative_error")

    visible = [("sum(x**2)", "square_sum", (), np.array([1.0, 2.0, -3.0]), lambda v: float(np.sum(v ** 2)), 1e-7),
               ("X[0,0]*X[1,1] + X[0,1] (a 2-D x)", "corner_product", (), np.array([[2.0, 5.0], [7.0, -1.0]]),
                lambda v: v[0, 0] * v[1, 1] + v[0, 1], 1e-7),
               ("sum(x * c) for a (2, 3, 2) x", "weighted_sum", (np.arange(12.0).reshape(2, 3, 2),), np.ones((2, 3, 2)),
                lambda v: float(np.sum(v * np.arange(12.0).reshape(2, 3, 2))), 1e-6),
               ("sum(sin(x)), where x + eps - 2 eps + eps is not x", "sin_sum", (), np.array([0.3, 0.7, 1.1, 2.3]),
                lambda v: float(np.sum(np.sin(v))), 1e-6)]
    for name, function, params, x, f, atol in visible:
        with case(f"visible example: numerical_gradient of {name}"):
            check_numerical(student, helpers, name, function, params, x, central(f, x, 1e-6), atol=atol,
                            mistakes={ONE_SIDED: one_sided(f, x, 1e-6)})
    cube = lambda v: float(np.sum(v ** 3))  # noqa: E731
    for eps, x in [(1e-2, np.array([1.0, -2.0])), (1e-2, randn(draw, draw.int(2, 5))),
                   (1e-3, randn(draw, draw.int(2, 5)))]:
        with case("sum(x**3): the central difference is exactly 3x² + eps²", eps=eps, x=x.tolist()):
            check_numerical(student, helpers, "sum(x**3)", "cube_sum", (), x, 3 * x ** 2 + eps ** 2, eps=eps, atol=1e-8,
                            mistakes={ONE_SIDED: one_sided(cube, x, eps),
                                      "the eps argument is ignored (always 1e-6)": 3 * x ** 2 + 1e-12})
    x = randn(draw, draw.int(2, 4), draw.int(2, 4))
    variance = lambda v: float(np.var(v))  # noqa: E731
    with case("np.var(X) with eps=1e-2: exact for a quadratic with the central difference"):
        check_numerical(student, helpers, "np.var(X)", "variance", (), x, central(variance, x, 1e-2),
                        eps=1e-2, atol=1e-9,
                        mistakes={ONE_SIDED: one_sided(variance, x, 1e-2)})
    with case("a 1-element array"):
        check_numerical(student, helpers, "sum(x**3)", "cube_sum", (), np.array([1.5]), np.array([6.75]), atol=1e-6)
    for _round in range(3):
        for name, function, params, gradient, x in gradient_problems(draw):
            with case(f"numerical_gradient of {name}", shape=x.shape):
                num = check_numerical(student, helpers, name, function, params, x, gradient(x))
                with case("relative_error of that gradient"):
                    expect_close(relative_error(num, gradient(x)), ref_relative_error(num, gradient(x)),
                                 "relative_error(numerical, analytic)", atol=1e-14, rtol=1e-9)


# ---------------------------------------------------------------- Part 4: the MLP from Linear layers

def ref_mlp(W1, b1, W2, b2, x, y, divisor: float | None = None):
    """Loss and gradients of the MLP, by torch.autograd in float64 (divisor: the mean's count, N*K)."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in
         {"W1": W1, "b1": b1, "W2": W2, "b2": b2}.items()}
    pred = torch.tanh(torch.tensor(x) @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]
    squared = ((pred - torch.tensor(y)) ** 2).sum()
    loss = squared / (divisor or y.size)
    loss.backward()
    return float(((pred.detach() - torch.tensor(y)) ** 2).mean()), {k: v.grad.numpy() for k, v in p.items()}


def ref_train(W1, b1, W2, b2, x, y, steps: int, lr: float) -> list[float]:
    losses = []
    for _ in range(steps):
        a = np.tanh(x @ W1 + b1)
        diff = a @ W2 + b2 - y
        losses.append(float(np.mean(diff ** 2)))
        d_y = 2.0 * diff / diff.size
        d_z = (d_y @ W2.T) * (1.0 - a ** 2)
        W2, b2 = W2 - lr * (a.T @ d_y), b2 - lr * d_y.sum(axis=0)
        W1, b1 = W1 - lr * (x.T @ d_z), b1 - lr * d_z.sum(axis=0)
    return losses


FLOW = [("layer1", "forward"), ("layer2", "forward"), ("layer2", "backward"), ("layer1", "backward")]
DIVIDES_BY_N = "dL/dŶ divides by N (the batch size) instead of N·K (all entries of the mean)"


def check_with_stand_ins(student, helpers, x, y, Z, Y_hat, dA) -> None:
    n, k = y.shape
    layer1, layer2 = helpers.stand_ins(Z, Y_hat, dA, np.zeros_like(x))
    call = student.mlp_forward_backward.invoke((layer1, layer2, x.copy(), y.copy()), return_args=True, record_ops=True)
    log = helpers.state(layer1, ["log"])["log"]
    expect([tuple(entry[:2]) for entry in log] == FLOW,
           "the layers were called as " + (", ".join(f"{w}.{m}" for w, m, *_ in log) or "nothing")
           + "; expected layer1.forward, layer2.forward, layer2.backward, layer1.backward (once each, no update)")
    A = np.tanh(Z)
    expect_close(log[0][2], x, "the input of layer1.forward (x itself)", atol=0, rtol=0)
    expect_close(log[1][2], A, "the input of layer2.forward (A = tanh of what layer1.forward returned)",
                 atol=1e-12, rtol=1e-12, mistakes={"tanh is not applied between the layers": Z})
    expect_type(call.value, float, "mlp_forward_backward's result (the loss)")
    expect_close(call.value, float(np.mean((Y_hat - y) ** 2)), "the loss, mean((Ŷ - Y)²) over all N·K entries",
                 atol=1e-12, rtol=1e-10, mistakes={"the loss sums over the outputs and averages over the batch only":
                                                   float(np.sum((Y_hat - y) ** 2)) / n})
    expect_close(log[2][2], 2 * (Y_hat - y) / (n * k),
                 "the gradient passed to layer2.backward, dL/dŶ = 2 (Ŷ - Y) / (N K)",
                 atol=1e-12, rtol=1e-10,
                 mistakes={DIVIDES_BY_N: 2 * (Y_hat - y) / n,
                           "the factor 2 of the square is missing": (Y_hat - y) / (n * k),
                           "the sign is flipped: (Y - Ŷ) instead of (Ŷ - Y)": 2 * (y - Y_hat) / (n * k)})
    expect_close(log[3][2], dA * (1 - A ** 2),
                 "the gradient passed to layer1.backward, dL/dZ = dL/dA * (1 - A²), "
                 "with dL/dA what layer2.backward returned",
                 atol=1e-12, rtol=1e-10,
                 mistakes={"tanh's derivative is taken at Z (1 - Z²) instead of 1 - tanh(Z)² = 1 - A²":
                           dA * (1 - Z ** 2),
                           "tanh's derivative is left out": dA})
    expect_equal([a.tolist() for a in call.args[2:]], [x.tolist(), y.tolist()],
                 "x and y after the call (do not modify them)")
    expect_no_torch(call.ops, "mlp_forward_backward")


def linear_works(student, helpers, draw) -> bool:
    """Does the student's Linear pass one Part 2 check? Part 4 runs end to end with it only then."""
    W, b, x, g = randn(draw, 3, 2), randn(draw, 2), randn(draw, 4, 3), randn(draw, 4, 2)
    try:
        layer = make_layer(student, helpers, 3, 2, 0)
        helpers.assign(layer, {"W": W, "b": b})
        y, dx = layer.forward(x), layer.backward(g)
        grads = helpers.state(layer, ["dW", "db"])
        layer.update(0.5)
        after = helpers.state(layer, ["W", "b"])
    except StudentRaised:
        return False
    expected = [(y, x @ W + b), (dx, g @ W.T), (grads["dW"], x.T @ g), (grads["db"], g.sum(axis=0)),
                (after["W"], W - 0.5 * x.T @ g), (after["b"], b - 0.5 * g.sum(axis=0))]
    return all(isinstance(got, np.ndarray) and got.shape == want.shape
               and np.allclose(got, want, rtol=1e-10, atol=1e-11)
               for got, want in expected)


def student_layers(student, helpers, W1, b1, W2, b2):
    layers = []
    for W, b in ((W1, b1), (W2, b2)):
        layer = make_layer(student, helpers, W.shape[0], W.shape[1], 0)
        helpers.assign(layer, {"W": W, "b": b})
        layers.append(layer)
    return layers


def regression_tasks(draw):
    x1 = np.linspace(-1.0, 1.0, 64).reshape(-1, 1)
    x2 = draw.rand(100, 2, dtype=torch.float64).numpy() * 2 - 1
    return [("y = sin(πx), the visible task, with the defaults", x1, np.sin(np.pi * x1), 16, 0),
            ("y = cos(πx)", x1, np.cos(np.pi * x1), 16, draw.int(1, 999)),
            ("y = |x|", x1, np.abs(x1), 12, draw.int(1, 999)),
            ("two outputs of a 2-D input", x2, np.hstack([x2[:, :1] * x2[:, 1:], np.sin(2 * x2[:, 1:])]), 24,
             draw.int(1, 999))]


@judge.part("test_mlp")
def mlp(student, draw):
    helpers = Helpers(student)
    x, y = np.array([[1.0, -1.0, 2.0], [0.5, 0.0, 1.0]]), np.array([[0.0, 2.0], [1.0, 0.0]])
    Z, Y_hat, dA = (np.array([[0.0, 0.5], [1.0, -2.0]]), np.array([[1.0, 3.0], [0.0, 0.0]]),
                    np.array([[1.0, 2.0], [-1.0, 0.5]]))
    with case("mlp_forward_backward with stand-in layers, visible example"):
        check_with_stand_ins(student, helpers, x, y, Z, Y_hat, dA)
    for number in range(8):
        n, d, h, k = draw.int(1, 12), draw.int(1, 5), draw.int(1, 8), 1 + number % 3
        arrays = [randn(draw, *shape) * scale for shape, scale in
                  [((n, d), 1.0), ((n, k), draw.choice([0.5, 2.0])), ((n, h), draw.choice([0.3, 1.0, 2.0])),
                   ((n, k), 1.0), ((n, h), 1.0)]]
        with case(f"mlp_forward_backward with stand-in layers, random #{number + 1}", N=n, D=d, H=h, K=k):
            check_with_stand_ins(student, helpers, *arrays)

    for number in range(4):
        steps, lr = draw.int(1, 5), draw.choice([0.05, 0.1, 0.5])
        n, d, h, k = draw.int(1, 6), draw.int(1, 3), draw.int(1, 5), draw.int(1, 3)
        x, y, Z, Y_hat, dA = (randn(draw, *s) for s in [(n, d), (n, k), (n, h), (n, k), (n, h)])
        with case(f"train_mlp with stand-in layers #{number + 1}", steps=steps, lr=lr):
            layer1, layer2 = helpers.stand_ins(Z, Y_hat, dA, np.zeros_like(x))
            call = student.train_mlp.invoke((layer1, layer2, x, y), {"steps": steps, "lr": lr}, record_ops=True)
            expect_type(call.value, list, "train_mlp's result")
            loss = float(np.mean((Y_hat - y) ** 2))
            expect(len(call.value) == steps and all(type(v) is float for v in call.value),
                   f"train_mlp(steps={steps}) must return a list of {steps} Python floats, got {call.value!r}"[:300])
            expect_close(call.value, [loss] * steps, "the losses (what mlp_forward_backward returns at each step)",
                         atol=1e-12, rtol=1e-10)
            log = [(who, what, arg if what == "update" else None)
                   for who, what, arg in helpers.state(layer1, ["log"])["log"]]
            per_step = FLOW + [("layer1", "update", lr), ("layer2", "update", lr)]
            steps_seen = [log[i:i + 6] for i in range(0, len(log), 6)]
            ok = len(steps_seen) == steps and all(
                s[:4] == [(w, m, None) for w, m in FLOW] and sorted(s[4:], key=repr) == per_step[4:]
                for s in steps_seen)
            expect(ok, f"with steps={steps}, lr={lr}, each step must run forward and backward once "
                       "through both layers, then update(lr) each layer once; the layers saw: "
                       + ", ".join(f"{w}.{m}" + (f"({a})" if m == "update" else "") for w, m, a in log[:14]))
            expect_no_torch(call.ops, "train_mlp")

    for number in range(6):
        n_in, hidden, n_out, seed = draw.int(1, 4), draw.int(1, 20), draw.int(1, 3), draw.new_seed()
        with case(f"make_mlp #{number + 1}", n_in=n_in, hidden=hidden, n_out=n_out, seed=seed):
            layers = student.make_mlp(n_in, hidden, n_out, seed)
            expect_type(layers, tuple, "make_mlp's result")
            expect(len(layers) == 2, "make_mlp must return (layer1, layer2)")
            for name, layer in zip(("layer1", "layer2"), layers):
                expect_type(layer, "Linear", name)
            first, second = (helpers.state(layer, ["W", "b"]) for layer in layers)
            rng = np.random.default_rng(seed)
            W1 = rng.uniform(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in), size=(n_in, hidden))
            W2 = rng.uniform(-1 / math.sqrt(hidden), 1 / math.sqrt(hidden), size=(hidden, n_out))
            swapped = np.random.default_rng(seed)
            swapped.uniform(size=(hidden, n_out))
            expect_array(first["W"], "layer1.W", (n_in, hidden))
            expect_array(second["W"], "layer2.W", (hidden, n_out))
            expect_close(first["W"], W1, "layer1.W (the first draw of default_rng(seed))", atol=0, rtol=0,
                         mistakes={"layer2 is created (W2 drawn) before layer1":
                                   swapped.uniform(-1 / math.sqrt(n_in), 1 / math.sqrt(n_in), size=(n_in, hidden))})
            fresh = np.random.default_rng(seed).uniform(-1 / math.sqrt(hidden), 1 / math.sqrt(hidden),
                                                        size=(hidden, n_out))
            expect_close(second["W"], W2, "layer2.W (drawn after W1 from the same rng)", atol=0, rtol=0,
                         mistakes={"each layer gets a new default_rng(seed) instead of sharing one": fresh})
            expect_close(first["b"], np.zeros(hidden), "layer1.b (zeros, as __init__ makes it)", atol=0, rtol=0)
            expect_close(second["b"], np.zeros(n_out), "layer2.b (zeros, as __init__ makes it)", atol=0, rtol=0)

    if not linear_works(student, helpers, draw):
        return  # Part 4 is judged on its own: the end-to-end checks below need a working Part 2
    for number in range(8):
        n, d, h, k = draw.int(1, 20), draw.int(1, 5), draw.int(1, 10), 1 + number % 3
        s = draw.choice([0.3, 1.0, 2.0])
        W1, b1, W2, b2 = (randn(draw, *shape) * s for shape in [(d, h), (h,), (h, k), (k,)])
        x, y = randn(draw, n, d), randn(draw, n, k) * draw.choice([0.5, 2.0])
        with case(f"mlp_forward_backward with your own Linear layers #{number + 1}", N=n, D=d, H=h, K=k):
            layer1, layer2 = student_layers(student, helpers, W1, b1, W2, b2)
            call = student.mlp_forward_backward.invoke((layer1, layer2, x, y), record_ops=True)
            ref_loss, ref = ref_mlp(W1, b1, W2, b2, x, y)
            _, by_n = ref_mlp(W1, b1, W2, b2, x, y, divisor=n)
            expect_type(call.value, float, "the loss")
            expect_close(call.value, ref_loss, "the loss", atol=1e-12, rtol=1e-8)
            got = helpers.state(layer2, ["dW", "db"]) | {("1", key): value for key, value in
                                                         helpers.state(layer1, ["dW", "db"]).items()}
            for key, value in [("W2", got["dW"]), ("b2", got["db"]),
                               ("W1", got[("1", "dW")]), ("b1", got[("1", "db")])]:
                expect_close(value, ref[key], f"the gradient d{key} left in the layer", atol=1e-12, rtol=1e-8,
                             mistakes={DIVIDES_BY_N: by_n[key]})
            expect_no_torch(call.ops, "mlp_forward_backward")
    for name, x, y, width, seed in regression_tasks(draw):
        rng = np.random.default_rng(seed)
        W1 = rng.uniform(-1 / math.sqrt(x.shape[1]), 1 / math.sqrt(x.shape[1]), size=(x.shape[1], width))
        W2 = rng.uniform(-1 / math.sqrt(width), 1 / math.sqrt(width), size=(width, y.shape[1]))
        b1, b2 = np.zeros(width), np.zeros(y.shape[1])
        defaults = seed == 0
        steps, lr = 2000, 0.1
        with case(f"train_mlp with your own Linear layers on {name}", width=width, steps=steps, lr=lr):
            layer1, layer2 = student_layers(student, helpers, W1, b1, W2, b2)
            kwargs = {} if defaults else {"steps": steps, "lr": lr}
            losses = student.train_mlp.invoke((layer1, layer2, x, y), kwargs, timeout=300).value
            expect_type(losses, list, "train_mlp's result")
            expect(len(losses) == steps and all(type(v) is float for v in losses),
                   f"train_mlp must return {steps} Python floats")
            reference = ref_train(W1, b1, W2, b2, x, y, steps, lr)
            expect_close(losses[:100], reference[:100], "the first 100 losses", atol=1e-12, rtol=1e-9)
            target = 0.05 * float(np.var(y))
            expect(losses[-1] < target, f"final loss {losses[-1]:.4f}, needs to be below {target:.4f} (5% of var(y))")
