"""Plausible wrong answers for Assignment 02 (backpropagation): each must cost its part, not the others.

- value_engine: gradients are assigned (`=`) instead of accumulated (`+=`), so a value used twice
  (`a * a`, shared nodes) keeps only its last contribution. Part 1 fails (visible and hidden tests).
- gradient_check: numerical_gradient uses the one-sided difference (f(x + eps) - f(x)) / eps. Its error is
  of order eps instead of eps², so with eps = 1e-2 it misses the visible sum(x**3) example and the
  judge's exact central differences. Part 3 fails.
- mlp_forward_backward: dL/dy_hat divides by N instead of N*K (the mean runs over all entries), which is
  only right for one output; training still works, but the gradients are wrong whenever K > 1.
  Part 4 fails (the gradient handed to layer2.backward, visibly and in the judge's stand-in checks).
"""

WRONG_ANSWERS = {
    "value_engine": '''# misconception: each contribution is assigned (=) to .grad instead of added (+=)
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
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        assert isinstance(k, (int, float)), "only a constant int or float exponent is supported"
        out = Value(self.data ** k, (self,), f"**{k}")

        def _backward():
            self.grad = k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def exp(self):
        out = Value(math.exp(self.data), (self,), "exp")

        def _backward():
            self.grad = out.data * out.grad

        out._backward = _backward
        return out

    def tanh(self):
        out = Value(math.tanh(self.data), (self,), "tanh")

        def _backward():
            self.grad = (1.0 - out.data ** 2) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        x = self.data  # computed without overflow for large |x|
        s = 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad = out.data * (1.0 - out.data) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(self.data if self.data > 0 else 0.0, (self,), "relu")

        def _backward():
            self.grad = (1.0 if self.data > 0 else 0.0) * out.grad

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
''',
    "gradient_check": '''def numerical_gradient(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of the scalar function f at x (same shape as x); x is left unchanged."""
    grad = np.zeros(x.shape, dtype=np.float64)
    f_x = float(f(x))
    for index in np.ndindex(x.shape):
        saved = x[index]
        x[index] = saved + eps
        grad[index] = (float(f(x)) - f_x) / eps  # misconception: the one-sided difference is just as good
        x[index] = saved
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """max |a - b| / max(max(|a| + |b|), 1e-12), as a Python float."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.size == 0:
        return 0.0
    return float(np.abs(a - b).max() / max(float((np.abs(a) + np.abs(b)).max()), 1e-12))
''',
    "mlp_forward_backward": '''def mlp_forward_backward(layer1, layer2, x: np.ndarray, y: np.ndarray) -> float:
    """MSE loss of layer2(tanh(layer1(x))) against y; the backward pass leaves the gradients in the layers."""
    a = np.tanh(layer1.forward(x))
    y_hat = layer2.forward(a)
    diff = y_hat - y
    loss = float(np.mean(diff ** 2))
    d_a = layer2.backward(2.0 * diff / x.shape[0])  # misconception: divides by N, but the mean runs over N*K entries
    layer1.backward(d_a * (1.0 - a ** 2))
    return loss
''',
}

MISTAKES = {
    "test_value_engine": "gradients are assigned (=) instead of accumulated (+=)",
    "test_gradient_check": "a one-sided difference (f(x + eps) - f(x)) / eps is used instead of the central one",
    "test_mlp": "dL/dŶ divides by N (the batch size) instead of N·K (all entries of the mean)",
}
