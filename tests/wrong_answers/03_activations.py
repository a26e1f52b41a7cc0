"""Plausible wrong answers for Assignment 03 (activation functions): each must cost its part, not the others.

- activations: tanh and softplus written with the textbook formulas, (e^x - e^-x) / (e^x + e^-x) and
  log(1 + e^x). Correct for moderate x, but e^x overflows to inf for large |x|: tanh(±1000) becomes nan and
  softplus(1000) becomes inf. Part 1 fails (the visible ±1000 checks and the hidden extreme values).
- prelu_function: the per-channel slopes' gradient is summed over the batch dimension only, which is right
  for (N, C) inputs but leaves one value per position for images (N, C, H, W). Part 2 fails (the visible
  image example and the judge's direct calls with random 3-D and 4-D inputs).
- dead_relu: the dead fraction is the mean of the per-layer fractions instead of the pooled count over all
  units, which differs whenever the ReLU layers have different sizes. Part 3 fails (visible 4/7 example and
  hidden random networks).
"""

WRONG_ANSWERS = {
    "activations": '''def sigmoid(x: torch.Tensor) -> torch.Tensor:
    """1 / (1 + exp(-x)) element-wise, without overflow for any x; same shape and dtype as x."""
    e = torch.exp(-x.abs())
    return torch.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def sigmoid_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative sigmoid(x) * (1 - sigmoid(x)), element-wise."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: torch.Tensor) -> torch.Tensor:
    """tanh(x) element-wise, without overflow; exactly ±1 at x = ±1000."""
    # misconception: the textbook formula is fine in floating point too
    return (torch.exp(x) - torch.exp(-x)) / (torch.exp(x) + torch.exp(-x))


def tanh_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative 1 - tanh(x)**2, element-wise."""
    t = tanh(x)
    return 1.0 - t * t


def relu(x: torch.Tensor) -> torch.Tensor:
    """max(0, x) element-wise."""
    return torch.clamp(x, min=0)


def relu_grad(x: torch.Tensor) -> torch.Tensor:
    """1 where x > 0, 0 elsewhere (also 0 at x = 0), in x's dtype."""
    return (x > 0).to(x.dtype)


def leaky_relu(x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """x where x > 0, alpha * x elsewhere."""
    return torch.where(x > 0, x, alpha * x)


def leaky_relu_grad(x: torch.Tensor, alpha: float = 0.01) -> torch.Tensor:
    """1 where x > 0, alpha elsewhere (also alpha at x = 0), in x's dtype."""
    return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, alpha))


def elu(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """x where x > 0, alpha * (exp(x) - 1) elsewhere; no overflow for large positive x."""
    return torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


def elu_grad(x: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """1 where x > 0, alpha * exp(x) elsewhere (alpha at x = 0)."""
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(torch.clamp(x, max=0)))


def softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + exp(x)) element-wise, computed as max(x, 0) + log1p(exp(-|x|))."""
    return torch.log1p(torch.exp(x))  # misconception: log1p alone makes it stable


def softplus_grad(x: torch.Tensor) -> torch.Tensor:
    """The derivative of softplus, which is sigmoid(x)."""
    return sigmoid(x)
''',
    "prelu_function": '''class PReLUFunction(torch.autograd.Function):
    """PReLU with a hand-written backward: PReLUFunction.apply(x, alpha), alpha of 1 or C = x.shape[1] slopes."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        """x where x > 0, alpha * x elsewhere (alpha[c] for channel c on dimension 1, or one shared slope)."""
        slope = alpha if alpha.numel() == 1 else alpha.reshape([1, -1] + [1] * (x.dim() - 2))
        ctx.save_for_backward(x, alpha)
        return torch.where(x > 0, x, slope * x)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):
        """(dL/dx, dL/dalpha); dL/dalpha sums grad_out * x (where x <= 0) over every place a slope is used."""
        x, alpha = ctx.saved_tensors
        slope = alpha if alpha.numel() == 1 else alpha.reshape([1, -1] + [1] * (x.dim() - 2))
        grad_x = torch.where(x > 0, grad_out, grad_out * slope)
        per_use = torch.where(x > 0, torch.zeros_like(x), grad_out * x)
        if alpha.numel() == 1:
            grad_alpha = per_use.sum().reshape(alpha.shape)
        else:
            grad_alpha = per_use.sum(dim=0)  # misconception: a channel's slope is shared over the batch only
        return grad_x, grad_alpha
''',
    "dead_relu": '''def dead_relu_fraction(model: nn.Module, x: torch.Tensor) -> float:
    """The fraction of dead units over all nn.ReLU submodules of `model` on the batch x (a Python float).

    A unit (a feature of an (N, F) output, a channel of an (N, C, ...) output) is dead if its ReLU output is 0
    for every sample and position. Measured in eval mode under torch.no_grad() with forward hooks; the model's
    training flags and hooks are left as they were. 0.0 if there is no nn.ReLU.
    """
    fractions = []

    def record(module, inputs, output):
        alive = (output != 0).reshape(output.shape[0], output.shape[1], -1).any(dim=2).any(dim=0)
        fractions.append(float((~alive).float().mean()))  # misconception: one fraction per layer, then averaged

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
    return sum(fractions) / len(fractions) if fractions else 0.0
''',
}

MISTAKES = {
    "test_activations": "tanh uses the textbook formula (e^x - e^-x) / (e^x + e^-x), "
                        "which overflows to inf / inf = nan",
    "test_elu_function": "alpha's gradient is summed over the batch (dimension 0) only, not over the positions",
    "test_dead_relu": "the per-layer fractions are averaged instead of pooling the units of all layers",
}
