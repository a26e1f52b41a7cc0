"""Hidden tests of Assignment 03, judged in the grader's process (instructor only, never released).

Forbidden shortcuts are found in the operators each call ran (`record_ops`). The autograd functions of
Part 2 are called three ways: forward and backward directly with a stand-in `ctx`, through autograd, and
through `torch.autograd.gradcheck` run here, in the judge, on a bridge whose forward and backward are the
student's, evaluated in the kernel. Part 3's models are built in the kernel from a description and a
state dict made here, where the same model is rebuilt for the reference.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from course_grading.judge import Judge, case, expect, expect_close, expect_equal, expect_tensor, expect_type, fail
from course_grading.remote import StudentRaised
from course_utils.testing import implementations

judge = Judge()

# Plumbing that runs in the student's kernel (and here, to rebuild Part 3's models): no reference answer
# in here, only ways to call the student's code and to build and inspect judge-described models.
KERNEL_HELPERS = '''
import torch
from torch import nn


class Ctx:
    """A stand-in for autograd's ctx, to call forward and backward directly."""

    def __init__(self, needs):
        self.needs_input_grad = tuple(needs)
        self.saved_tensors = ()

    def save_for_backward(self, *tensors):
        self.saved_tensors = tensors

    def mark_non_differentiable(self, *tensors):
        pass

    def mark_dirty(self, *tensors):
        pass

    def set_materialize_grads(self, value):
        pass


def direct(function, args, grad_out):
    ctx = Ctx([isinstance(a, torch.Tensor) for a in args])
    output = function.forward(ctx, *args)
    return output, function.backward(ctx, grad_out)


def through_autograd(function, args, positions, grad_out):
    args = list(args)
    for p in positions:
        args[p] = args[p].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        output = function.apply(*args)
        if not isinstance(output, torch.Tensor) or output.grad_fn is None:
            return output, None
        grads = torch.autograd.grad(output, [args[p] for p in positions], grad_out, allow_unused=True)
    return output.detach(), list(grads)


def forward_only(function, args):
    with torch.no_grad():
        return function.apply(*args)


def transposed(x):
    return x.transpose(0, -1)


def build(spec):
    layers = []
    for kind, *params in spec:
        layers.append(nn.Sequential(*build(params[0])) if kind == "Sequential" else getattr(nn, kind)(*params))
    return layers


SEEN = {}


def make_model(spec, state, modes):
    """The described model with this state and these training flags, and two hooks of someone else's."""
    with torch.random.fork_rng(devices=[]):
        model = nn.Sequential(*build(spec))
    model.load_state_dict(state)
    for module, mode in zip(model.modules(), modes):
        module.training = mode
    seen = SEEN.setdefault(id(model), [])
    model.register_forward_pre_hook(lambda module, inputs: seen.append(torch.is_grad_enabled()))
    list(model.children())[-1].register_forward_hook(lambda module, inputs, output: None)
    return model


def global_hooks():
    m = torch.nn.modules.module
    return len(m._global_forward_hooks) + len(m._global_forward_pre_hooks)


def inspect(model):
    return {"modes": [m.training for m in model.modules()],
            "hooks": [(len(m._forward_hooks), len(m._forward_pre_hooks)) for m in model.modules()],
            "seen": list(SEEN[id(model)]), "grad": torch.is_grad_enabled(), "global": global_hooks(),
            "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
'''
LOCAL: dict = {}
exec(compile(KERNEL_HELPERS, "<judge helpers>", "exec"), LOCAL)  # the same model builder, here


class Helpers:
    """The kernel helpers of this judge, installed once per part."""

    NAMES = ("direct", "through_autograd", "forward_only", "transposed", "make_model", "inspect", "global_hooks")

    def __init__(self, student):
        # recording operators imports torch._dynamo on first use: ~10 s, twice that under the profiler
        student.module("importlib.import_module").invoke(("torch._dynamo",), timeout=300)
        namespace = student.module("builtins.dict").invoke((), keep=True).value
        student.module("builtins.exec")(KERNEL_HELPERS, namespace)
        getitem = student.module("operator.getitem")
        for name in self.NAMES:
            setattr(self, name, getitem.invoke((namespace, name), keep=True).value)


def names(prefix: str, ops: str) -> set[str]:
    return {f"{prefix}{op}" for op in ops.split()}


AUTOGRAD = names("torch.", "Tensor.backward autograd.grad autograd.backward") | names(
    "py:torch.autograd.", "backward grad functional.vjp functional.jacobian functional.jvp") | names(
    "py:torch._functorch.", "apis.grad apis.grad_and_value eager_transforms.vjp eager_transforms.jvp "
                            "eager_transforms.jacrev eager_transforms.jacfwd")
DETOURS = names("torch.Tensor.", "numpy tolist item __array__ __float__")
ACTIVATIONS = names("aten.", "sigmoid sigmoid_ tanh tanh_ relu relu_ elu elu_ leaky_relu leaky_relu_ softplus silu "
                             "silu_ mish logaddexp logaddexp2 log_sigmoid_forward hardtanh hardtanh_ threshold "
                             "threshold_ celu celu_ selu selu_ rrelu_with_noise prelu _prelu_kernel gelu hardsigmoid "
                             "hardswish logsumexp _softmax _log_softmax sigmoid_backward tanh_backward elu_backward "
                             "leaky_relu_backward "
                             "softplus_backward threshold_backward _prelu_kernel_backward")
BUILTIN = {"ELUFunction": names("aten.", "elu elu_ elu_backward celu celu_ selu selu_"),
           "PReLUFunction": names("aten.", "prelu _prelu_kernel _prelu_kernel_backward leaky_relu leaky_relu_ "
                                           "leaky_relu_backward rrelu_with_noise"),
           "MaxoutFunction": set(implementations("pooling"))}


def expect_not_used(ops: set[str], forbidden: set[str], what: str) -> None:
    used = sorted(ops & forbidden)
    expect(not used, f"{what} must be written with elementary tensor operations, but it ran {', '.join(used[:4])}")


def tolerance(dtype: torch.dtype) -> dict:
    return dict(atol=1e-6, rtol=1e-5) if dtype == torch.float32 else dict(atol=1e-12, rtol=1e-9)


def gradient_tolerance(dtype: torch.dtype) -> dict:
    """Looser than `tolerance`: a parameter's gradient sums over the input (a shared PReLU slope over every
    element), and float32 sums in another order differ by more than 1e-5 relative."""
    return dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-8)


# ---------------------------------------------------------------- Part 1: the six activations

def ref_sigmoid(x: torch.Tensor) -> torch.Tensor:
    small = torch.exp(-x.abs())
    return torch.where(x >= 0, 1.0 / (1.0 + small), small / (1.0 + small))


def ref_activation(name: str, x: torch.Tensor, alpha: float | None) -> torch.Tensor:
    """The value (name) or the derivative (name_grad), in float64, from stable formulas."""
    x = x.double()
    if name in ("sigmoid", "softplus_grad"):
        return ref_sigmoid(x)
    if name == "sigmoid_grad":
        return ref_sigmoid(x) * (1.0 - ref_sigmoid(x))
    one, neg = torch.ones_like(x), torch.clamp(x, max=0.0)
    if name in ("tanh", "tanh_grad"):
        e = torch.expm1(-2.0 * x.abs())
        th = torch.sign(x) * (-e / (2.0 + e))
        return th if name == "tanh" else 1.0 - th * th
    if name == "relu":
        return torch.where(x > 0, x, torch.zeros_like(x))
    if name == "relu_grad":
        return (x > 0).double()
    if name == "leaky_relu":
        return torch.where(x > 0, x, x * alpha)
    if name == "leaky_relu_grad":
        return torch.where(x > 0, one, alpha * one)
    if name == "elu":
        return torch.where(x > 0, x, alpha * torch.expm1(neg))
    if name == "elu_grad":
        return torch.where(x > 0, one, alpha * torch.exp(neg))
    if name == "softplus":
        return torch.clamp(x, min=0.0) + torch.log1p(torch.exp(-x.abs()))
    raise ValueError(name)


def activation_mistakes(name: str, x: torch.Tensor, alpha: float | None) -> dict[str, torch.Tensor]:
    """What catalogued mistakes give, computed in x's own dtype as a student's code would."""
    with torch.no_grad():
        e_pos, e_neg = torch.exp(x), torch.exp(-x)
        textbook_tanh = (e_pos - e_neg) / (e_pos + e_neg)
        one = torch.ones_like(x)
        return {"tanh": {"tanh uses the textbook formula (e^x - e^-x) / (e^x + e^-x), "
                         "which overflows to inf / inf = nan":
                         textbook_tanh},
                "tanh_grad": {"tanh_grad uses the textbook tanh, which overflows": 1 - textbook_tanh ** 2},
                "softplus": {"softplus is computed as log1p(exp(x)), which overflows to inf for large x":
                             torch.log1p(torch.exp(x))},
                "relu_grad": {"relu_grad is 1 at x = 0 (x >= 0 instead of x > 0)": (x >= 0).to(x.dtype)},
                "leaky_relu_grad": {"leaky_relu_grad is 1 at x = 0 (x >= 0 instead of x > 0)":
                                    torch.where(x >= 0, one, (alpha or 0.0) * one)},
                "elu_grad": {"elu_grad is 1 at x = 0 (x >= 0 instead of x > 0)":
                             torch.where(x >= 0, one, (alpha or 0.0) * torch.exp(torch.clamp(x, max=0)))},
                }.get(name, {})


SPECIAL = [1000.0, -1000.0, 1e-8, -1e-8, 0.0, 0.0, 88.0, -88.0, 90.0, -90.0, 710.0, -710.0, 30.0, -30.0, 1e-30]
DEFAULT_ALPHA = {"leaky_relu": 0.01, "leaky_relu_grad": 0.01, "elu": 1.0, "elu_grad": 1.0}
FUNCTIONS = ["sigmoid", "sigmoid_grad", "tanh", "tanh_grad", "relu", "relu_grad", "leaky_relu", "leaky_relu_grad",
             "elu", "elu_grad", "softplus", "softplus_grad"]


def random_input(draw, dtype: torch.dtype) -> torch.Tensor:
    shape = tuple(draw.int(1, 6) for _ in range(draw.int(0, 4)))
    x = draw.randn(*(shape or (1,)), dtype=torch.float64).reshape(shape) * draw.choice([1e-8, 0.5, 3.0, 20.0, 300.0])
    flat = x.reshape(-1)
    for _ in range(min(flat.numel(), draw.int(0, 8))):
        flat[draw.int(0, flat.numel() - 1)] = draw.choice(SPECIAL)
    return flat.reshape(shape).to(dtype)


def check_activation(student, helpers, name: str, x: torch.Tensor, alpha: float | None = None,
                     non_contiguous: bool = False) -> None:
    args = (x,) if alpha is None else (x, alpha)
    function = getattr(student, name)
    if non_contiguous:
        remote_x = helpers.transposed.invoke((x.transpose(0, -1).contiguous(),), keep=True).value
        call = function.invoke((remote_x,) + args[1:], record_ops=True)
        after = [None]
    else:
        call = function.invoke(args, record_ops=True, return_args=True)
        after = call.args
    expect_not_used(call.ops, ACTIVATIONS | AUTOGRAD | DETOURS, name)
    out = call.value
    expect_tensor(out, f"{name}(x)", dtype=x.dtype, shape=tuple(x.shape))
    ref_alpha = alpha if alpha is not None else DEFAULT_ALPHA.get(name)
    expect_close(out, ref_activation(name, x, ref_alpha), f"{name}(x)", **tolerance(x.dtype),
                 mistakes=activation_mistakes(name, x, ref_alpha))
    if after[0] is not None:
        expect_equal(after[0], x, f"x after {name}(x) (do not modify the input)")


@judge.part("test_activations")
def activations(student, draw):
    helpers = Helpers(student)
    for name in FUNCTIONS:
        for dtype in (torch.float32, torch.float64):
            for x in (torch.tensor(0.5, dtype=dtype), torch.linspace(-3.0, 3.0, 24, dtype=dtype).reshape(2, 3, 4)):
                with case(f"{name} on a {tuple(x.shape)} tensor", dtype=dtype):
                    check_activation(student, helpers, name, x)
        x = torch.tensor([-2.0, 0.0, 2.0], dtype=torch.float64)
        alphas = [None] + ([0.1] if name in DEFAULT_ALPHA else []) + ([0.5] if name.startswith("elu") else [])
        for alpha in alphas:
            with case(f"visible example: {name}([-2, 0, 2])", **({"alpha": alpha} if alpha is not None else {})):
                check_activation(student, helpers, name, x, alpha)
        for dtype in (torch.float32, torch.float64):
            with case(f"{name} at ±1000 and other large values", dtype=dtype):
                check_activation(student, helpers, name, torch.tensor([-1000.0, -100.0, 100.0, 1000.0], dtype=dtype))
    for name in FUNCTIONS:
        for number in range(7):
            dtype = (torch.float32, torch.float64)[number % 2]
            x = (torch.tensor(SPECIAL + [-3.0, -1.0, -0.5, 0.5, 1.0, 3.0], dtype=dtype).reshape(3, 7) if number < 2
                 else random_input(draw, dtype))
            alpha = None
            if name in DEFAULT_ALPHA and number % 3:
                alpha = draw.choice([0.001, 0.1, 0.2, 0.3, 0.5] if name.startswith("leaky") else [0.1, 0.5, 1.5, 2.0])
            transpose = x.dim() >= 2 and number % 3 == 2
            with case(f"{name} on random values #{number + 1}" + (", a non-contiguous view" if transpose else ""),
                      dtype=dtype, shape=tuple(x.shape), **({"alpha": alpha} if alpha is not None else {})):
                check_activation(student, helpers, name, x, alpha, non_contiguous=transpose)


# ---------------------------------------------------------------- Part 2: hand-written backward passes

def ref_elu(args, g):
    x, alpha = args
    x64, neg = x.double(), torch.clamp(x.double(), max=0.0)
    y = torch.where(x64 > 0, x64, alpha * torch.expm1(neg))
    return y, [g.double() * torch.where(x64 > 0, torch.ones_like(x64), alpha * torch.exp(neg)), None]


def slope_view(alpha: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return alpha if alpha.numel() == 1 else alpha.reshape([1, -1] + [1] * (x.dim() - 2))


def ref_prelu(args, g):
    x, alpha = (a.double() for a in args)
    g, a = g.double(), slope_view(alpha, x)
    per_use = torch.where(x > 0, torch.zeros_like(x), g * x)
    grad_alpha = per_use.sum().reshape(alpha.shape) if alpha.numel() == 1 else per_use.sum(
        dim=[d for d in range(x.ndim) if d != 1])
    return torch.where(x > 0, x, a * x), [torch.where(x > 0, g, g * a), grad_alpha]


def prelu_mistakes(args, g) -> dict[int, dict]:
    x, alpha = (a.double() for a in args)
    g, a = g.double(), slope_view(alpha, x)
    per_use = torch.where(x > 0, torch.zeros_like(x), g * x)
    return {0: {"x = 0 gets the slope 1 instead of alpha (x >= 0 instead of x > 0)": torch.where(x >= 0, g, g * a)},
            1: {"alpha's gradient is not summed over the places where the slope is used": per_use,
                "alpha's gradient is summed over the batch (dimension 0) only, not over the positions": per_use.sum(0),
                "alpha's gradient takes grad_out * x everywhere, also where x > 0": (g * x).sum().reshape(alpha.shape)
                if alpha.numel() == 1 else (g * x).sum(dim=[d for d in range(x.ndim) if d != 1])}}


def ref_maxout(args, g):
    z, k = args
    groups = z.double().unflatten(-1, (-1, k))
    values, winners = groups.max(dim=-1)
    grad = torch.zeros(groups.shape, dtype=torch.float64)
    grad.scatter_(-1, winners.unsqueeze(-1), g.double().unsqueeze(-1))
    return values, [grad.flatten(-2), None]


def maxout_mistakes(args, g) -> dict[int, dict]:
    z, k = args
    groups = z.double().unflatten(-1, (-1, k))
    tied = (groups == groups.amax(dim=-1, keepdim=True)).double()
    return {0: {"every tied maximum of a group gets the gradient, not only the first":
                (tied * g.double().unsqueeze(-1)).flatten(-2),
                "the gradient is shared evenly between tied maxima": (tied / tied.sum(-1, keepdim=True)
                                                                      * g.double().unsqueeze(-1)).flatten(-2)}}


class Checked:
    """One of the three autograd functions: where its tensors are, and its reference."""

    def __init__(self, name, positions, reference, mistakes=None):
        self.name, self.positions, self.reference = name, positions, reference
        self.mistakes = mistakes or (lambda args, g: {})


ELU = Checked("ELUFunction", [0], ref_elu)
PRELU = Checked("PReLUFunction", [0, 1], ref_prelu, prelu_mistakes)
MAXOUT = Checked("MaxoutFunction", [0], ref_maxout, maxout_mistakes)
INPUT_NAMES = {"ELUFunction": ["x", "alpha"], "PReLUFunction": ["x", "alpha"], "MaxoutFunction": ["z", "k"]}


def expect_gradients(checked: Checked, grads, args, g, what: str) -> None:
    dtype = args[0].dtype
    expect(isinstance(grads, (tuple, list)) and len(grads) == len(args),
           f"{what}: backward must return one gradient per input of forward ({len(args)}), got {grads!r}"[:300])
    _, want = checked.reference(args, g)
    mistakes = checked.mistakes(args, g)
    for position, (got, expected) in enumerate(zip(grads, want)):
        name = INPUT_NAMES[checked.name][position]
        if expected is None:
            expect(got is None, f"{what}: the gradient for {name} (a Python number) must be None, got {got!r}"[:300])
            continue
        expect_tensor(got, f"{what}: the gradient for {name}", dtype=dtype)
        expect_close(got, expected, f"{what}: the gradient for {name}", **gradient_tolerance(dtype),
                     mistakes=mistakes.get(position))


def check_direct(student, helpers, checked: Checked, args, g, what: str) -> None:
    helpers.direct._what = f"{checked.name}.forward(ctx, ...) and .backward(ctx, grad_out), called directly"
    call = helpers.direct.invoke((getattr(student, checked.name), list(args), g), record_ops=True)
    expect_not_used(call.ops, BUILTIN[checked.name] | AUTOGRAD | DETOURS, checked.name)
    y, grads = call.value
    want, _ = checked.reference(args, g)
    expect_tensor(y, f"{what}: forward's output", dtype=args[0].dtype, shape=tuple(want.shape))
    expect_close(y, want, f"{what}: forward's output", **tolerance(args[0].dtype))
    expect_gradients(checked, grads, args, g, what)


def check_autograd(student, helpers, checked: Checked, args, g, what: str) -> None:
    helpers.through_autograd._what = f"{checked.name}.apply(...) followed by autograd's backward pass"
    call = helpers.through_autograd.invoke((getattr(student, checked.name), list(args), checked.positions, g),
                                           record_ops=True)
    expect_not_used(call.ops, BUILTIN[checked.name], checked.name)
    y, grads = call.value
    want, _ = checked.reference(args, g)
    expect_tensor(y, f"{what}: the output of apply", dtype=args[0].dtype, shape=tuple(want.shape))
    expect(grads is not None, f"{what}: the output of {checked.name}.apply has no grad_fn: apply must return the "
                              "tensor that forward returns")
    expect_close(y, want, f"{what}: the output of apply", **tolerance(args[0].dtype))
    full = [None] * len(args)
    for position, grad in zip(checked.positions, grads):
        full[position] = grad
    expect_gradients(checked, full, args, g, what)


class Bridge(torch.autograd.Function):
    """Forward and backward evaluated by the student's function in the kernel, for gradcheck run here."""

    @staticmethod
    def forward(ctx, runner, *tensors):
        ctx.runner = runner
        ctx.save_for_backward(*tensors)
        return runner.forward(tensors)

    @staticmethod
    def backward(ctx, grad):
        return (None, *ctx.runner.backward(ctx.saved_tensors, grad))


class Runner:
    def __init__(self, student, helpers, checked: Checked, args):
        self.function, self.helpers = getattr(student, checked.name), helpers
        self.checked, self.args = checked, list(args)

    def filled(self, tensors) -> list:
        args = list(self.args)
        for position, tensor in zip(self.checked.positions, tensors):
            args[position] = tensor.detach()
        return args

    def forward(self, tensors) -> torch.Tensor:
        out = self.helpers.forward_only(self.function, self.filled(tensors))
        if not isinstance(out, torch.Tensor):
            fail(f"{self.checked.name}.apply returned a {type(out).__name__}, not a tensor")
        return out.to(torch.float64)

    def backward(self, tensors, grad) -> list[torch.Tensor]:
        _, grads = self.helpers.through_autograd(self.function, self.filled(tensors), self.checked.positions,
                                                 grad.detach())
        if grads is None:
            fail(f"{self.checked.name}.apply returned a tensor without grad_fn")
        return [torch.zeros_like(t) if gr is None else gr.to(torch.float64) for t, gr in zip(tensors, grads)]


def check_gradcheck(student, helpers, checked: Checked, args, what: str) -> None:
    runner = Runner(student, helpers, checked, args)
    inputs = tuple(args[p].double().requires_grad_() for p in checked.positions)
    ok = torch.autograd.gradcheck(lambda *tensors: Bridge.apply(runner, *tensors), inputs, eps=1e-6, atol=1e-5,
                                  rtol=1e-3, fast_mode=True, raise_exception=False)
    expect(ok, f"{what}: torch.autograd.gradcheck failed: the gradients of your backward do not match finite "
               "differences of your forward")


def away_from_zero(x: torch.Tensor) -> torch.Tensor:
    return x + 0.05 * torch.sign(x) + 0.05 * (x == 0)


def random_shape(draw, low: int = 1, high: int = 4) -> tuple[int, ...]:
    return tuple(draw.int(1, 5) for _ in range(draw.int(low, high)))


def with_extremes(draw, x: torch.Tensor, values) -> torch.Tensor:
    flat = x.reshape(-1).clone()
    for _ in range(min(flat.numel(), 4)):
        flat[draw.int(0, flat.numel() - 1)] = draw.choice(values)
    return flat.reshape(x.shape)


def elu_cases(draw):
    yield "visible example", (torch.tensor([-1.0, 0.0, 2.0], dtype=torch.float64), 0.5), \
        torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    yield "visible example at ±1000", (torch.tensor([-1000.0, -2.0, 0.0, 3.0, 1000.0]), 1.0), torch.ones(5)
    for number in range(6):
        dtype = (torch.float32, torch.float64)[number % 2]
        x = with_extremes(draw, draw.randn(*random_shape(draw)) * draw.choice([0.5, 2.0, 10.0]),
                          [1000.0, -1000.0, 0.0, 1e-8, -1e-8, 100.0, -100.0]).to(dtype)
        yield f"random #{number + 1}", (x, draw.choice([0.2, 0.5, 1.0, 1.7])), draw.randn(*x.shape).to(dtype)


def prelu_cases(draw):
    x = torch.tensor([[-2.0, 3.0], [1.0, -1.0]], dtype=torch.float64)
    yield "visible example, one slope per channel", (x, torch.tensor([0.1, 0.5], dtype=torch.float64)), \
        torch.ones(2, 2, dtype=torch.float64)
    x = torch.tensor([[[[-1.0, 2.0]], [[0.0, -3.0]]]], dtype=torch.float64)
    yield "visible example, one shared slope", (x, torch.tensor([0.25], dtype=torch.float64)), \
        torch.tensor([[[[1.0, 1.0]], [[1.0, 2.0]]]], dtype=torch.float64)
    x = torch.tensor([[[[-1.0, 2.0]], [[-2.0, -3.0]]], [[[-4.0, 1.0]], [[5.0, 0.0]]]], dtype=torch.float64)
    yield "visible example, one slope per channel of an image batch", \
        (x, torch.tensor([0.2, 0.3], dtype=torch.float64)), torch.ones_like(x)
    for number in range(8):
        dtype = (torch.float32, torch.float64)[number % 2]
        shape = random_shape(draw, 2, 4) if number % 4 else random_shape(draw, 1, 3)
        per_channel = len(shape) >= 2 and number % 4 != 0 and number % 3 != 0
        x = with_extremes(draw, draw.randn(*shape) * draw.choice([0.5, 3.0]), [0.0, 0.0, 100.0, -100.0]).to(dtype)
        alpha = (draw.rand(shape[1] if per_channel else 1) * 0.5).to(dtype)
        label = f"random #{number + 1}, " + (f"{shape[1]} slopes (one per channel)" if per_channel
                                             else "one shared slope")
        yield label, (x, alpha), draw.randn(*shape).to(dtype)


def maxout_cases(draw):
    yield "visible example", (torch.tensor([[1.0, 3.0, 2.0, -1.0]]), 2), torch.tensor([[10.0, 20.0]])
    yield "visible example with ties", (torch.tensor([2.0, 5.0, 5.0, 7.0, 7.0, 1.0]), 3), torch.tensor([1.0, 2.0])
    for number in range(8):
        dtype = (torch.float32, torch.float64)[number % 2]
        k = draw.choice([1, 2, 3, 4])
        shape = random_shape(draw, 0, 2) + (draw.int(1, 4) * k,)
        ties = number % 3 == 0
        z = (draw.randint(-2, 3, shape).double() if ties else draw.randn(*shape) * 3).to(dtype)
        yield f"random #{number + 1}" + (" with ties" if ties else ""), (z, k), \
            draw.randn(*shape[:-1], shape[-1] // k).to(dtype)


def gradcheck_cases(draw, checked: Checked):
    for number in range(3):
        shape = random_shape(draw, 1, 3)
        if checked is ELU:
            yield (away_from_zero(draw.randn(*shape, dtype=torch.float64)), draw.choice([0.25, 0.8, 1.5]))
        elif checked is PRELU:
            shape = random_shape(draw, 2, 4)
            slopes = shape[1] if number % 2 else 1
            yield (away_from_zero(draw.randn(*shape, dtype=torch.float64)),
                   draw.rand(slopes, dtype=torch.float64) * 0.5)
        else:
            k = draw.choice([2, 3])
            yield (draw.randn(*shape[:-1], shape[-1] * k, dtype=torch.float64), k)


@judge.part("test_elu_function")
def autograd_functions(student, draw):
    helpers = Helpers(student)
    for checked, cases in ((ELU, elu_cases), (PRELU, prelu_cases), (MAXOUT, maxout_cases)):
        for label, args, g in cases(draw):
            shape, dtype = tuple(args[0].shape), args[0].dtype
            with case(f"{checked.name}, {label}, forward and backward called directly", shape=shape, dtype=dtype):
                check_direct(student, helpers, checked, args, g, checked.name)
            with case(f"{checked.name}, {label}, through autograd", shape=shape, dtype=dtype):
                check_autograd(student, helpers, checked, args, g, checked.name)
        for args in gradcheck_cases(draw, checked):
            with case(f"{checked.name}: gradcheck on a random input", shape=tuple(args[0].shape),
                      **({"slopes": args[1].numel()} if checked is PRELU else {})):
                check_gradcheck(student, helpers, checked, args, checked.name)


# ---------------------------------------------------------------- Part 3: dead ReLUs

def ref_dead(model: nn.Module, x: torch.Tensor, averaged: bool = False) -> float:
    """The pooled share of dead units over all nn.ReLU layers (averaged: the mean of per-layer shares)."""
    alive = []
    handles = [module.register_forward_hook(lambda mod, inp, out: alive.append(
        (out != 0).reshape(out.shape[0], out.shape[1], -1).any(dim=2).any(dim=0)))
        for module in model.modules() if isinstance(module, nn.ReLU)]
    model.eval()
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    if averaged:
        return sum(1 - float(a.double().mean()) for a in alive) / len(alive) if alive else 0.0
    total = sum(layer.numel() for layer in alive)
    return (total - sum(int(layer.sum()) for layer in alive)) / total if total else 0.0


def dead_units(draw, n: int) -> list[int]:
    share = draw.choice([0.0, 0.2, 0.5, 0.9])
    return [k for k in range(n) if draw.uniform(0, 1) < share]


def random_mlp(draw):
    d_in = draw.int(2, 6)
    spec, width = [], d_in
    for _ in range(draw.int(1, 4)):
        out = draw.int(2, 12)
        block = [("Linear", width, out)]
        if draw.uniform(0, 1) < 0.3:  # a BatchNorm in front of the ReLU: its beta decides which units die
            block.append(("BatchNorm1d", out))
        kind = draw.choice(["relu", "relu", "relu", "relu_inplace", "leaky", "tanh"])
        block.append({"relu": ("ReLU",), "relu_inplace": ("ReLU", True), "leaky": ("LeakyReLU", 0.1),
                      "tanh": ("Tanh",)}[kind])
        if draw.uniform(0, 1) < 0.3:
            block.append(("Dropout", 0.5))
        spec += [("Sequential", block)] if draw.uniform(0, 1) < 0.4 else block
        width = out
    spec.append(("Linear", width, 1))
    return spec, (draw.int(1, 40), d_in), draw.choice([0.5, 1.0, 3.0])


def random_cnn(draw):
    c_in, c1, c2, size = draw.int(1, 3), draw.int(2, 6), draw.int(2, 6), draw.int(4, 7)
    spec = [("Conv2d", c_in, c1, 3, 1, 1), ("ReLU",), ("Sequential", [("Conv2d", c1, c2, 3), ("ReLU",)]), ("Flatten",),
            ("Linear", c2 * (size - 2) ** 2, 5), ("ReLU",), ("Linear", 5, 2)]
    return spec, (draw.int(1, 6), c_in, size, size), 1.0


def random_state(draw, model: nn.Module) -> dict[str, torch.Tensor]:
    """Random weights; some units get a hopeless bias (or BatchNorm beta) of -1000 and are dead."""
    modules = list(model.modules())
    for index, module in enumerate(modules):
        with torch.no_grad():
            if isinstance(module, (nn.Linear, nn.Conv2d)):
                fan_in = module.weight[0].numel()
                module.weight.copy_(draw.randn(*module.weight.shape) / math.sqrt(fan_in))
                bias = draw.randn(*module.bias.shape) * 0.5
                followed_by_norm = index + 1 < len(modules) and isinstance(modules[index + 1], nn.BatchNorm1d)
                if not followed_by_norm and module is not modules[-1]:
                    bias[dead_units(draw, len(bias))] = -1000.0
                module.bias.copy_(bias)
            elif isinstance(module, nn.BatchNorm1d):
                n = module.num_features
                module.running_mean.copy_(draw.randn(n))
                module.running_var.copy_(draw.rand(n) + 0.5)
                module.weight.copy_(draw.rand(n) + 0.5)
                beta = draw.randn(n) * 0.3
                beta[dead_units(draw, n)] = -1000.0
                module.bias.copy_(beta)
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def layer_names(model: nn.Module) -> str:
    return " → ".join(type(m).__name__ for m in model.modules() if not list(m.children()))


def check_dead(student, helpers, spec, state, modes, x, label) -> None:
    local = nn.Sequential(*LOCAL["build"](spec))
    local.load_state_dict(state)
    expected, averaged = ref_dead(local, x), ref_dead(local, x, averaged=True)
    hooks_before = helpers.global_hooks()
    model = helpers.make_model.invoke((spec, state, modes), keep=True).value
    with case(f"{label} ({layer_names(local)}) with x of shape {tuple(x.shape)}"):
        got = student.dead_relu_fraction(model, x)
        expect_type(got, float, "dead_relu_fraction(model, x)")
        expect_close(got, expected, "the dead fraction", atol=1e-6, rtol=0,
                     mistakes={"the per-layer fractions are averaged instead of pooling the units of all layers":
                               averaged})
        after = helpers.inspect(model)
        expect(after["seen"] == [False], f"the model must run once, under torch.no_grad() (it ran {len(after['seen'])} "
                                         f"times, with gradients {'on' if any(after['seen']) else 'off'})")
        expect(after["grad"], "gradient mode must be on again afterwards")
        expect(after["modes"] == modes, "restore each submodule's own training flag afterwards (they differed)")
        modules, last = list(local.modules()), list(local.children())[-1]
        hooks = [(0, 1)] + [(0, 0)] * (len(modules) - 1)  # ours: a pre-hook on the model, a hook on its last child
        index = next(i for i, m in enumerate(modules) if m is last)
        hooks[index] = (1, hooks[index][1])
        expect(after["hooks"] == hooks,
               "remove your hooks afterwards, and leave the hooks that were there before alone")
        expect(after["global"] == hooks_before, "remove global hooks afterwards")
        for key, value in state.items():
            expect_equal(after["state"][key], value, f"the model's {key} after the call (measure in eval mode, under "
                                                     "no_grad: nothing in the model may change)")


@judge.part("test_dead_relu")
def dead_relu(student, draw):
    helpers = Helpers(student)
    for number in range(14):
        spec, x_shape, scale = random_cnn(draw) if number % 3 == 2 else random_mlp(draw)
        with torch.random.fork_rng(devices=[]):
            local = nn.Sequential(*LOCAL["build"](spec))
        state = random_state(draw, local)
        modes = [draw.uniform(0, 1) < 0.5 for _ in local.modules()]
        x = draw.randn(*x_shape) * scale
        check_dead(student, helpers, spec, state, modes, x, f"random model #{number + 1}")
    spec = [("Linear", 2, 2), ("Tanh",)]
    with torch.random.fork_rng(devices=[]):
        local = nn.Sequential(*LOCAL["build"](spec))
    check_dead(student, helpers, spec, random_state(draw, local), [True, False, True], draw.randn(3, 2),
               "a model without ReLU")


# ---------------------------------------------------------------- Part 4: vanishing gradients

def ref_norms(activation: str, depth: int, width: int, seed: int, batch: int = 64, variant: str = "") -> list[float]:
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[activation]
    gen = torch.Generator().manual_seed(seed)

    def draw(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64)

    if variant == "y first":
        y, x = draw(batch, 1), draw(batch, width)
    else:
        x, y = draw(batch, width), draw(batch, 1)
    if variant == "w_out first":
        w_out = draw(width, 1) / math.sqrt(width)
    weights = [(draw(width, width) / math.sqrt(width)).requires_grad_() for _ in range(depth)]
    if variant != "w_out first":
        w_out = draw(width, 1) / math.sqrt(width)
    h = x
    for w in weights:
        h = f(h @ (w.T if variant == "transposed" else w))
    squared = (h @ w_out - y) ** 2
    (squared.sum() if variant == "sum" else squared.mean()).backward()
    norms = [w.grad.norm().item() for w in weights]
    return norms[::-1] if variant == "reversed" else norms


NORM_MISTAKES = {"reversed": "the list starts with the last layer (it must start with W_1, next to the input)",
                 "y first": "y is drawn before x",
                 "w_out first": "w_out is drawn before the hidden weights",
                 "transposed": "the layers compute h @ W.T instead of h @ W",
                 "sum": "the loss sums over the batch instead of taking the mean"}


@judge.part("test_vanishing")
def vanishing(student, draw):
    gen = torch.Generator().manual_seed(0)
    x, y, W1, w_out = (torch.randn(1, 1, generator=gen, dtype=torch.float64) for _ in range(4))
    s = torch.sigmoid(x * W1)
    cases = [("visible example: depth 1", ("sigmoid", 1, 8, 0), {}),
             ("visible example: depth 1, width 1, batch 1", ("sigmoid", 1, 1, 0), {"batch": 1}),
             ("visible example: 10 sigmoid layers", ("sigmoid", 10, 32, 0), {}),
             ("visible example: 10 ReLU layers", ("relu", 10, 32, 0), {})]
    for number in range(12):
        activation = ("sigmoid", "tanh", "relu")[number % 3]
        kwargs = {"batch": draw.int(8, 50)} if number % 4 == 3 else {}
        cases.append((f"random network #{number + 1}", (activation, draw.int(1, 12), draw.int(4, 40),
                                                        draw.int(0, 10 ** 6)), kwargs))
    set_seed = student.module("torch.manual_seed")
    for label, args, kwargs in cases:
        with case(label, activation=args[0], depth=args[1], width=args[2], seed=args[3], **kwargs):
            set_seed(draw.int(0, 10 ** 6))  # the result must not depend on the global random state
            got = student.gradient_norms.invoke(args, kwargs, timeout=120).value
            expect_type(got, list, "gradient_norms(...)")
            expect(len(got) == args[1] and all(type(v) is float for v in got),
                   f"gradient_norms must return a list of depth = {args[1]} Python floats, got {got!r}"[:300])
            mistakes = {text: ref_norms(*args, **kwargs, variant=variant) for variant, text in NORM_MISTAKES.items()
                        if variant != "reversed" or args[1] > 1}
            expect_close(got, ref_norms(*args, **kwargs), "the gradient norms, layer 1 first", atol=1e-300, rtol=1e-6,
                         mistakes=mistakes)
            if label.endswith("width 1, batch 1"):
                expect_close(got[0], abs(float(2 * (s * w_out - y) * w_out * s * (1 - s) * x)),
                             "‖dL/dW1‖ = |2 (ŷ - y) w_out σ'(x W1) x|", rtol=1e-9)
    for name in ("softmax", "elu", "Sigmoid", ""):
        with case("an unknown activation name must raise ValueError", activation=repr(name)):
            try:
                student.gradient_norms(name, 2, 4, 0)
            except StudentRaised as raised:
                expect(raised.type_name.rsplit(".", 1)[-1] == "ValueError",
                       f"gradient_norms({name!r}, ...) raised {raised.type_name.rsplit('.', 1)[-1]}, "
                       "expected ValueError")
            else:
                fail(f"gradient_norms({name!r}, ...) returned instead of raising ValueError")
    copy = student.module("copy.copy")
    with case("sigmoid_bound_depth10"):
        bound = copy(student.sigmoid_bound_depth10)
        expect(type(bound) in (int, float),
               f"sigmoid_bound_depth10 should be a Python number, got {type(bound).__name__}")
        expect_close(bound, 0.25 ** 10, "sigmoid_bound_depth10", atol=0.0, rtol=1e-9,
                     mistakes={"the bound uses σ'(z) <= 1/2 instead of 1/4": 0.5 ** 10})
    with case("sigmoid_depth_below_1e6"):
        depth = copy(student.sigmoid_depth_below_1e6)
        expect(type(depth) is int, f"sigmoid_depth_below_1e6 should be a Python int, got {type(depth).__name__}")
        expect(depth == 10, f"sigmoid_depth_below_1e6 = {depth} is not right: the smallest d with 0.25**d < 1e-6")
