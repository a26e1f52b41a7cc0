"""Hidden tests of Assignment 06, judged in the grader's process (instructor only, never released).

References are PyTorch's own layers and plain formulas, run here. Part 4 re-runs the student's experiment
in the kernel with a seed of the judge's and measures the returned models on Fashion-MNIST itself.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from course_grading.judge import (Judge, case, expect, expect_close, expect_equal, expect_no_ops, expect_tensor, fail,
                                  kernel_type)
from course_grading.remote import StudentRaised
from course_grading.trained import judged_accuracy
from course_utils import image_tensors, load_fashion_mnist
from course_utils.testing import implementations

judge = Judge()

NORMALIZATION = implementations("normalization") | {"aten.native_batch_norm_backward", "aten.batch_norm_backward"}
DROPOUT = implementations("dropout")
BACKWARD_CALLS = {"torch.Tensor.backward", "py:torch.autograd.backward", "py:torch._tensor.backward"}
GRAD_CALLS = {"grad", "torch.autograd.grad", "py:torch.autograd.grad"}


class Kernel:
    """Handles to the kernel functions a part uses over and over (one lookup each)."""

    def __init__(self, student):
        self.student = student
        self.tensor = student.module("torch.Tensor")
        self.requires_grad_ = self.tensor.attr("requires_grad_")
        self.grad = student.module("torch.autograd.grad")
        self.getattr = student.module("builtins.getattr")
        self.list = student.module("builtins.list")

    def leaf(self, value: torch.Tensor):
        return self.requires_grad_.invoke((value,), keep=True).value

    def keep(self, obj, name: str):
        return self.getattr.invoke((obj, name), keep=True).value


def kernel_of(value) -> str:
    return kernel_type(value)


def short(kind: str) -> str:
    return kind.removeprefix("builtins.").rsplit(".", 1)[-1]


# ---------------------------------------------------------------- Part 1

def batch_dims(x: torch.Tensor) -> list[int]:
    return [0] + list(range(2, x.dim()))


def channel_shape(x: torch.Tensor) -> list[int]:
    return [1, x.shape[1]] + [1] * (x.dim() - 2)


def random_batch(draw, four_d: bool, channels: int, dtype: torch.dtype) -> torch.Tensor:
    if four_d:
        shape = (draw.int(1, 4), channels, draw.int(1, 4), draw.int(1, 4))
        if shape[0] * shape[2] * shape[3] < 2:
            shape = (2, *shape[1:])
    else:
        shape = (draw.int(2, 9), channels)
    scale = draw.rand(*[1, channels] + [1] * (len(shape) - 2), dtype=dtype) * 3 + 0.1
    return draw.randn(*shape, dtype=dtype) * scale + draw.randn(*scale.shape, dtype=dtype) * 2


def reference_function(x, weight, bias, eps, grad_out):
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
    out = F.batch_norm(leaves[0], None, None, leaves[1], leaves[2], training=True, eps=eps)
    out.backward(grad_out)
    return out.detach(), [leaf.grad for leaf in leaves]


def constant_statistics_gradient(x, weight, eps, grad_out):
    """What a backward gives that treats the batch mean and variance as constants."""
    var = x.var(dim=batch_dims(x), unbiased=False, keepdim=True)
    return weight.reshape(channel_shape(x)) * grad_out / torch.sqrt(var + eps)


def check_function(student, kernel: Kernel, draw, number: int) -> None:
    dtype = torch.float64 if number % 4 else torch.float32
    channels = draw.int(1, 5)
    x = random_batch(draw, number % 2 == 1, channels, dtype)
    weight, bias = draw.rand(channels, dtype=dtype) * 2 + 0.25, draw.randn(channels, dtype=dtype)
    eps = draw.choice((1e-5, 1e-3, 0.1, 1.0))
    grad_out = draw.randn(*x.shape, dtype=dtype)
    expected, (grad_x, grad_weight, grad_bias) = reference_function(x, weight, bias, eps, grad_out)
    tol = 1e-9 if dtype == torch.float64 else 2e-4
    with case(f"BatchNormFunction.apply, random case #{number + 1}", x=tuple(x.shape), dtype=dtype, eps=eps):
        leaves = [kernel.leaf(t) for t in (x, weight, bias)]
        forward = student.BatchNormFunction.attr("apply").invoke((*leaves, eps), keep=True, record_ops=True)
        expect_no_ops(forward.ops, NORMALIZATION, "BatchNormFunction.forward")
        out = forward.value
        node = out.attr("grad_fn")
        expect("BatchNormFunction" in kernel_of(node), "the output should come from your BatchNormFunction's "
                                                      f"backward node, got {short(kernel_of(node))}")
        value = out.attr("data")
        expect_tensor(value, "BatchNormFunction.apply(...)", dtype=dtype, shape=tuple(x.shape))
        expect_close(value, expected, "BatchNormFunction.apply(...)", atol=tol, rtol=tol,
                     mistakes={"the statistics are taken over dim 0 only (for (N, C, H, W) inputs they are per "
                               "channel, over dims 0, 2 and 3)": _dim0_only(x, weight, bias, eps)} if x.dim() == 4
                     else None)
        if number % 2:  # autograd inside backward shows up in one of the two ways of running it
            call = kernel.grad.invoke((out, leaves, grad_out), record_ops=True)
            grads, nested = list(call.value), BACKWARD_CALLS
        else:
            call = out.attr("backward").invoke((grad_out,), record_ops=True)
            grads, nested = [leaf.attr("grad") for leaf in leaves], GRAD_CALLS
        expect_no_ops(call.ops, NORMALIZATION, "BatchNormFunction.backward")
        expect(not (call.ops & nested), "BatchNormFunction.backward must compute the gradients by hand, not with "
                                        "autograd")
        names = ["the gradient w.r.t. x", "the gradient w.r.t. weight (γ)", "the gradient w.r.t. bias (β)"]
        for got, want, name in zip(grads, (grad_x, grad_weight, grad_bias), names):
            expect(got is not None, f"{name} is None")
            expect_tensor(got, name, dtype=dtype, shape=tuple(want.shape))
            mistakes = None
            if name.endswith("x"):
                constant = constant_statistics_gradient(x, weight, eps, grad_out)
                mistakes = {"the backward treats the batch mean and variance as constants (it misses the two "
                            "terms that flow through μ and σ²)": constant}
            expect_close(got, want, name, atol=tol * 10, rtol=tol * 10, mistakes=mistakes)


def _dim0_only(x, weight, bias, eps):
    mean, var = x.mean(dim=0, keepdim=True), x.var(dim=0, unbiased=False, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * weight.reshape(channel_shape(x)) + bias.reshape(channel_shape(x))


class ReferenceBatchNorm:
    """The running statistics PyTorch keeps, and two catalogued ways of getting them wrong."""

    def __init__(self, channels: int, eps: float, momentum: float, affine: bool, dtype: torch.dtype, four_d: bool):
        self.module = (nn.BatchNorm2d if four_d else nn.BatchNorm1d)(channels, eps=eps, momentum=momentum,
                                                                    affine=affine).to(dtype)
        self.momentum = momentum
        self.biased_var = torch.ones(channels, dtype=dtype)
        self.swapped_mean = torch.zeros(channels, dtype=dtype)

    def step(self, x, train: bool, grad_out):
        self.module.train(train)
        if train:
            dims = batch_dims(x)
            self.biased_var = (1 - self.momentum) * self.biased_var + self.momentum * x.var(dim=dims, unbiased=False)
            self.swapped_mean = self.momentum * self.swapped_mean + (1 - self.momentum) * x.mean(dim=dims)
        self.module.zero_grad(set_to_none=True)
        leaf = x.clone().requires_grad_(True)
        out = self.module(leaf)
        out.backward(grad_out)
        grads = [leaf.grad] + ([self.module.weight.grad, self.module.bias.grad] if self.module.affine else [])
        return out.detach(), grads

    def batch_statistics_output(self, x):
        weight = self.module.weight.detach() if self.module.affine else None
        bias = self.module.bias.detach() if self.module.affine else None
        return F.batch_norm(x, None, None, weight, bias, training=True, eps=self.module.eps)


def construct(student, kernel: Kernel, channels: int, eps: float, momentum: float, affine: bool, style: int):
    if style == 0:
        return student.BatchNorm.invoke((channels, eps, momentum, affine), keep=True).value
    if style == 1:
        return student.BatchNorm.invoke((channels,), {"momentum": momentum, "affine": affine, "eps": eps},
                                        keep=True).value
    return student.BatchNorm.invoke((), {"num_features": channels, "eps": eps, "momentum": momentum,
                                         "affine": affine}, keep=True).value


def check_constructor(student, kernel: Kernel, module, channels: int, eps: float, momentum: float, affine: bool,
                      dtype: torch.dtype) -> None:
    expect(student.module("builtins.isinstance")(module, student.module("torch.nn.Module")) is True,
           "BatchNorm should subclass nn.Module")
    for name, value in (("num_features", channels), ("eps", eps), ("momentum", momentum), ("affine", affine)):
        got = module.attr(name)
        expect(got == value and type(got) is type(value), f"self.{name} should be {value!r}, got {got!r}")
    named = kernel.list(module.attr("named_parameters")())
    expect(sorted(name for name, _ in named) == (["bias", "weight"] if affine else []),
           f"the parameters should be {'weight and bias' if affine else 'none (affine=False)'}, got "
           f"{sorted(name for name, _ in named)}")
    for name, _ in named:
        expect(kernel_of(dict(named)[name]) == "torch.nn.parameter.Parameter", f"self.{name} should be an nn.Parameter")
    if affine:
        values = dict(named)
        expect_equal(values["weight"].double(), torch.ones(channels, dtype=torch.float64), "the initial weight (γ)")
        expect_equal(values["bias"].double(), torch.zeros(channels, dtype=torch.float64), "the initial bias (β)")
    else:
        for name in ("weight", "bias"):
            got = module.attr(name)
            expect(got is None, f"with affine=False self.{name} should be None, got a {short(kernel_of(got))}")
    buffers = module.attr("_buffers")
    expect(type(buffers) is dict and {"running_mean", "running_var"} <= set(buffers),
           "running_mean and running_var must be buffers (self.register_buffer)")
    for name, start in (("running_mean", torch.zeros), ("running_var", torch.ones)):
        expect_equal(buffers[name].double(), start(channels, dtype=torch.float64), f"the initial {name}")


def check_module(student, kernel: Kernel, draw, number: int) -> None:
    dtype = torch.float64 if number % 3 else torch.float32
    four_d, channels = number % 2 == 1, draw.int(1, 5)
    eps = draw.choice((1e-5, 1e-3, 0.1, 1.0))
    momentum = draw.choice((0.1, 0.0, 1.0, round(draw.uniform(0.01, 0.9), 3), round(draw.uniform(0.01, 0.9), 3)))
    affine = number % 4 != 3
    inputs = "(N, C, H, W)" if four_d else "(N, C)"
    label = (f"BatchNorm({channels}, eps={eps}, momentum={momentum}, affine={affine}) on {inputs} "
             f"{str(dtype).removeprefix('torch.')} inputs")
    reference = ReferenceBatchNorm(channels, eps, momentum, affine, dtype, four_d)
    with case(label):
        module = construct(student, kernel, channels, eps, momentum, affine, number % 3)
        check_constructor(student, kernel, module, channels, eps, momentum, affine, torch.float32)
        module.attr("to")(dtype)
        parameters = []
        if affine:
            gamma, beta = draw.rand(channels, dtype=dtype) * 2 + 0.25, draw.randn(channels, dtype=dtype)
            module.attr("load_state_dict")({"weight": gamma, "bias": beta}, strict=False)
            with torch.no_grad():
                reference.module.weight.copy_(gamma)
                reference.module.bias.copy_(beta)
            parameters = [kernel.keep(module, "weight"), kernel.keep(module, "bias")]
        set_mode = module.attr("train")
    tol = 1e-9 if dtype == torch.float64 else 2e-4
    for step, mode in enumerate(("train", "train", "eval", "train", "eval")):
        x = random_batch(draw, four_d, channels, dtype)
        grad_out = draw.randn(*x.shape, dtype=dtype)
        with case(label, step=f"{step + 1} ({mode} mode)", x=tuple(x.shape)):
            set_mode(mode == "train")
            leaf = kernel.leaf(x)
            call = module.invoke((leaf,), keep=True, record_ops=True)
            expect_no_ops(call.ops, NORMALIZATION, "BatchNorm")
            out = call.value
            if step == 0:
                node = out.attr("grad_fn") if kernel_of(out) == "torch.Tensor" else None
                expect("BatchNormFunction" in kernel_of(node), "in training mode the output should come from "
                                                              "BatchNormFunction.apply")
            expected, expected_grads = reference.step(x, mode == "train", grad_out)
            value = out.attr("data") if kernel_of(out) == "torch.Tensor" else None
            expect_tensor(value if value is not None else out, "the output", dtype=dtype, shape=tuple(x.shape))
            mistakes = {"eval mode normalises with the batch statistics instead of the running averages":
                        reference.batch_statistics_output(x)} if mode == "eval" else None
            expect_close(value, expected, "the output", atol=tol, rtol=tol, mistakes=mistakes)
            grads = kernel.grad.invoke((out, [leaf, *parameters], grad_out), {"allow_unused": True}).value
            names = ["the gradient w.r.t. x", "the gradient w.r.t. weight (γ)", "the gradient w.r.t. bias (β)"]
            for got, want, name in zip(grads, expected_grads, names):
                expect(got is not None, f"{name} is None: the output does not depend on it")
                expect_close(got, want, name, atol=tol * 10, rtol=tol * 10)
            buffers = module.attr("_buffers")
            for name in ("running_mean", "running_var"):
                got = buffers.get(name) if type(buffers) is dict else None
                expect(got is not None, f"{name} is no longer a buffer")
                expect(not getattr(got, "kernel_requires_grad", False),
                       f"{name} tracks gradients: update the running statistics inside torch.no_grad()")
                expect_tensor(got, name, dtype=dtype, shape=(channels,))
                mistakes = ({"the running variance is updated with the biased batch variance (PyTorch uses the "
                             "unbiased one, m/(m - 1)·σ²)": reference.biased_var} if name == "running_var" else
                            {"the momentum weights the old running value instead of the new batch statistic":
                             reference.swapped_mean})
                expect_close(got, getattr(reference.module, name), name, atol=tol, rtol=tol, mistakes=mistakes)
            expect_equal(leaf.attr("data"), x, "x after the call (do not modify the input)")


@judge.part("test_batchnorm")
def batchnorm(student, draw):
    kernel = Kernel(student)
    with case("visible example: BatchNorm(3, affine=False)"):
        module = student.BatchNorm.invoke((3,), {"affine": False}, keep=True).value
        check_constructor(student, kernel, module, 3, 1e-5, 0.1, False, torch.float32)
    for number in range(8):
        check_function(student, kernel, draw, number)
    for number in range(8):
        check_module(student, kernel, draw, number)


# ---------------------------------------------------------------- Part 2

HALF_TOLERANCE = {torch.float16: 2e-3, torch.bfloat16: 1.6e-2, torch.float32: 1e-6, torch.float64: 1e-12}


@judge.part("test_dropout")
def dropout(student, draw):
    for bad in (-0.01, 1.01, 2):
        with case("Dropout with p outside [0, 1]", p=bad):
            try:
                student.Dropout(bad)
            except StudentRaised as raised:
                expect(raised.type_name == "builtins.ValueError",
                       f"Dropout({bad}) should raise ValueError, it raised {short(raised.type_name)}")
                continue
            fail(f"Dropout({bad}) should raise ValueError")
    with case("Dropout() with the default p"):
        expect(student.Dropout.invoke(keep=True).value.attr("p") == 0.5, "the default p is 0.5")

    kernel = Kernel(student)
    randn, ones_like, manual_seed = (student.module(name) for name in ("torch.randn", "torch.ones_like",
                                                                        "torch.manual_seed"))
    dtypes = [torch.float32, torch.float64, torch.float16, torch.bfloat16] * 3
    for number, dtype in enumerate(dtypes[:10]):
        p = round(draw.uniform(0.05, 0.95), 3)
        shape = (200, 250) if number % 3 else (8, 5, 25, 50)
        label = f"Dropout(p={p}) on a {str(dtype).removeprefix('torch.')} input of shape {shape}"
        with case(label):
            layer = (student.Dropout.invoke((p,), keep=True) if number % 2 else
                     student.Dropout.invoke((), {"p": p}, keep=True)).value
            expect(layer.attr("p") == p, f"self.p should be {p}")
            x_in = randn.invoke(shape, {"dtype": dtype, "requires_grad": True}, keep=True).value
            x = x_in.attr("data")
            seed = draw.int(0, 10**6)
            manual_seed(seed)
            call = layer.invoke((x_in,), keep=True, record_ops=True)
            expect_no_ops(call.ops, DROPOUT, "Dropout")
            out = call.value
            expect(kernel_of(out) == "torch.Tensor",
                   f"the output should be a torch.Tensor, got a {short(kernel_of(out))}")
            y = out.attr("data")
            expect_tensor(y, "the output", dtype=dtype, shape=shape)
            check_mask(x, y, p, dtype)
            (grad,) = kernel.grad(out, x_in, ones_like.invoke((out,), keep=True).value)
            expect_tensor(grad, "the gradient w.r.t. x", dtype=dtype, shape=shape)
            seen = x != 0  # where torch.randn drew an exact 0 (about once in 10^7), y cannot show the mask
            expect_close(grad.double()[seen], ((y != 0).double() / (1 - p))[seen],
                         "the gradient w.r.t. x (the mask divided by 1 - p)", atol=0, rtol=HALF_TOLERANCE[dtype])
            expect_equal(x_in.attr("data"), x, "x after the call (do not modify the input)")
            again = layer.invoke((x_in,)).value
            expect(bool(((again == 0) != (y == 0)).any()), "a second call should draw a new mask")
            manual_seed(seed)
            repeated = layer.invoke((x_in,)).value
            expect_equal(repeated, y, "the output after the same torch.manual_seed (use PyTorch's global generator)")
            layer.attr("eval")()
            expect_equal(layer.invoke((x_in,)).value.detach(), x, "the output in eval mode (the identity)",
                         mistakes={"eval mode scales by 1 - p (the original, non-inverted dropout)": x * (1 - p)})
    for p, what in ((0.0, "identity"), (1.0, "all zeros")):
        with case(f"Dropout({p}) in training mode: the {what}", dtype=torch.float64):
            x = draw.randn(30, 20, dtype=torch.float64)
            got = student.Dropout.invoke((p,), keep=True).value(x)
            expect_tensor(got, "the output", dtype=torch.float64, shape=(30, 20))
            expect_equal(got, x if p == 0 else torch.zeros_like(x), f"Dropout({p})(x)")


def check_mask(x: torch.Tensor, y: torch.Tensor, p: float, dtype: torch.dtype) -> None:
    nonzero = x != 0
    dropped = (y == 0) & nonzero
    n = int(nonzero.sum())
    fraction = int(dropped.sum()) / n
    sd = math.sqrt(p * (1 - p) / n)
    expect(abs(fraction - p) <= 6 * sd, f"{fraction:.4f} of the elements are zero, expected about {p}")
    kept = (y != 0)
    expect(bool(((y == 0) | kept).all()), "every element is either dropped (0) or kept")
    expected = (x.double() / (1 - p))[kept]
    subnormal_step = torch.finfo(dtype).tiny * torch.finfo(dtype).eps  # float16 survivors can be subnormal
    expect_close(y.double()[kept], expected, "the surviving elements (x / (1 - p))", atol=subnormal_step,
                 rtol=HALF_TOLERANCE[dtype] * 2,
                 mistakes={"the survivors are not scaled by 1/(1 - p) (the original, non-inverted dropout)":
                           x.double()[kept]})
    rows = (y == 0).reshape(x.shape[0], -1)
    expect(bool((rows[0] != rows[1]).any()), "every element needs its own random draw (rows 0 and 1 got the same mask)")


# ---------------------------------------------------------------- Part 3

def random_layer(draw):
    """(description, judge-side module, how to build it in the kernel)."""
    kind = draw.choice(["linear", "linear_nobias", "conv", "conv_nobias", "bn1", "bn2", "layernorm", "embedding",
                        "bilinear", "prelu", "params", "relu"])
    a, b = draw.int(1, 5), draw.int(1, 5)
    makers = {
        "linear": ("torch.nn.Linear", (a, b), {}),
        "linear_nobias": ("torch.nn.Linear", (a, b), {"bias": False}),
        "conv": ("torch.nn.Conv2d", (draw.int(1, 3), b, draw.int(1, 3)), {}),
        "conv_nobias": ("torch.nn.Conv2d", (draw.int(1, 3), b, 2), {"bias": False}),
        "bn1": ("torch.nn.BatchNorm1d", (a,), {}),
        "bn2": ("torch.nn.BatchNorm2d", (a,), {}),
        "layernorm": ("torch.nn.LayerNorm", (a,), {}),
        "embedding": ("torch.nn.Embedding", (a + 1, b), {}),
        "bilinear": ("torch.nn.Bilinear", (a, b, draw.int(1, 3)), {}),
        "prelu": ("torch.nn.PReLU", (a,), {}),
        "relu": ("torch.nn.ReLU", (), {}),
    }
    if kind == "params":  # a module of one's own: a matrix, a vector and a scalar parameter
        return "ParameterList(matrix, vector, scalar)", [(a, b), (b,), ()]
    return makers[kind]


def build(student, spec):
    """The same module here and in the kernel."""
    if isinstance(spec[1], list):
        local = nn.ParameterList([nn.Parameter(torch.zeros(shape)) for shape in spec[1]])
        parameter = student.module("torch.nn.Parameter")
        remote = student.module("torch.nn.ParameterList").invoke(
            ([parameter.invoke((torch.zeros(shape),), keep=True).value for shape in spec[1]],), keep=True).value
        return local, remote
    path, args, kwargs = spec
    module_class = getattr(nn, path.rsplit(".", 1)[1])
    return module_class(*args, **kwargs), student.module(path).invoke(args, kwargs, keep=True).value


def random_model(student, draw, shared: bool = False):
    layers = [build(student, random_layer(draw)) for _ in range(draw.int(1, 4))]
    sequential = student.module("torch.nn.Sequential")
    if shared:  # one layer used twice: its parameters count once, as model.parameters() yields them
        layers.append(layers[0])
    if len(layers) > 2 and draw.uniform(0, 1) < 0.5:
        inner = (nn.Sequential(*[local for local, _ in layers[1:]]),
                 sequential.invoke(tuple(remote for _, remote in layers[1:]), keep=True).value)
        layers = [layers[0], inner]
    local = nn.Sequential(*[local for local, _ in layers])
    remote = sequential.invoke(tuple(remote for _, remote in layers), keep=True).value
    return local, remote


def reference_penalty(model: nn.Module, l1: float, l2: float, include_bias: bool, selected=None):
    """(value, [gradient per parameter]) in float64; `selected` overrides which parameters count."""
    value, grads = 0.0, []
    for name, tensor in model.named_parameters():
        w = tensor.detach().double()
        counts = selected(name, tensor) if selected else (include_bias or w.dim() >= 2)
        if counts:
            value += l1 * w.abs().sum().item() + 0.5 * l2 * (w * w).sum().item()
            grads.append(l1 * torch.sign(w) + l2 * w)
        else:
            grads.append(torch.zeros_like(w))
    return value, grads


def penalty_mistakes(model: nn.Module, l1: float, l2: float, include_bias: bool) -> dict[str, float]:
    owners = {}
    for module_name, module in model.named_modules():
        for name, _ in module.named_parameters(recurse=False):
            owners[f"{module_name}.{name}" if module_name else name] = module
    mixing = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)

    def linear_or_conv(name, parameter):
        return isinstance(owners[name], mixing) and (include_bias or name.endswith("weight"))

    return {
        "only the weights of nn.Linear and nn.Conv modules are visited (every parameter with p.dim() >= 2 counts, "
        "whatever module holds it)": reference_penalty(model, l1, l2, include_bias, linear_or_conv)[0],
        "the L2 term is λ₂·Σw² (the lecture's convention, used here, is λ₂/2·Σw²)":
            reference_penalty(model, l1, 2 * l2, include_bias)[0],
        "include_bias is ignored": reference_penalty(model, l1, l2, not include_bias)[0],
        "the parameters are chosen by their name ('weight') instead of by p.dim() >= 2":
            reference_penalty(model, l1, l2, include_bias, lambda n, p: include_bias or n.endswith("weight"))[0],
    }


@judge.part("test_weight_penalty")
def weight_penalty(student, draw):
    kernel = Kernel(student)
    settings = [(0.0, 0.0), (0.1, 0.0), (0.0, 0.01)] + [None] * 15
    for number, setting in enumerate(settings):
        dtype = torch.float64 if number % 4 else torch.float32
        strengths = [round(draw.uniform(0.001, 1), 4) for _ in range(2)]
        l1, l2 = setting or draw.choice([(strengths[0], 0.0), (0.0, strengths[1]), tuple(strengths)])
        include = number % 3 == 1
        local, remote = random_model(student, draw, shared=number % 5 == 4)
        local = local.to(dtype)
        remote.attr("to")(dtype)
        with torch.no_grad():
            for parameter in local.parameters():
                parameter.copy_(draw.randn(max(1, parameter.numel()), dtype=dtype).reshape(parameter.shape))
        label = (f"weight_penalty(model, l1={l1}, l2={l2}, include_bias={include}) on a "
                 f"{str(dtype).removeprefix('torch.')} model {' '.join(str(local).split())}")
        with case(label):
            remote.attr("load_state_dict")(dict(local.state_dict()))
            parameters = kernel.list.invoke((remote.attr("parameters")(),), keep=True).value
            args, kwargs = ((remote, l1, l2, include), {}) if number % 2 else ((remote,), {"l1": l1, "l2": l2,
                                                                                      "include_bias": include})
            out = student.weight_penalty.invoke(args, kwargs, keep=True).value
            kind = kernel_of(out)
            expect(kind == "torch.Tensor", f"weight_penalty should return a 0-dim tensor, got a {short(kind)}" +
                   (" (do not use .item() or float(...))" if kind in ("builtins.float", "builtins.int") else ""))
            value = out.attr("data")
            expect_tensor(value, "the penalty", shape=())
            expected, grads = reference_penalty(local, l1, l2, include)
            mistakes = penalty_mistakes(local, l1, l2, include)
            # The value first, loosely: a catalogued mistake is named before its side effects (a penalty that
            # visits no parameter is also not differentiable), then the details at full precision.
            expect_close(value, expected, "the penalty", atol=1e-5, rtol=1e-5, mistakes=mistakes)
            differentiable = any(g.abs().max().item() > 0 for g in grads)
            if differentiable:
                expect(out.attr("requires_grad") is True, "the penalty is not differentiable: do not use .item(), "
                                                          "float(...), .data or .detach()")
                expect(value.dtype == dtype, f"the penalty of a {str(dtype).removeprefix('torch.')} model should be "
                                             f"computed in {str(dtype).removeprefix('torch.')}, got "
                                             f"{str(value.dtype).removeprefix('torch.')}")
            tol = 1e-10 if dtype == torch.float64 else 1e-5
            expect_close(value, expected, "the penalty", atol=tol, rtol=tol, mistakes=mistakes)
            if differentiable:
                got = kernel.grad.invoke((out, parameters), {"allow_unused": True}).value
                for (name, _), gradient, want in zip(local.named_parameters(), got, grads):
                    expect_close(gradient if gradient is not None else torch.zeros_like(want), want,
                                 f"the gradient w.r.t. {name}", atol=tol, rtol=tol)
            after = kernel.list(parameters)
            for (name, parameter), now in zip(local.named_parameters(), after):
                expect_equal(now.detach(), parameter.detach(), f"parameter {name} after the call (must not change)")


# ---------------------------------------------------------------- Part 4

ACTIVATIONS = {"ReLU", "LeakyReLU", "GELU", "ELU", "SiLU", "Tanh", "Sigmoid"}
PLAIN = {"torch.nn.modules.container.Sequential", "torch.nn.modules.flatten.Flatten",
         "torch.nn.modules.linear.Linear"} | {f"torch.nn.modules.activation.{name}" for name in ACTIVATIONS}
CONVOLUTIONS = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv2d"}
MIN_BASELINE_GAP, MIN_VAL_ACC, MIN_SHRINK = 0.12, 0.76, 0.04
LIMIT_SECONDS = 60


def run_experiment(student, function: str, seed: int):
    with student.timer() as clock:
        returned = getattr(student, function).invoke((seed,), timeout=10 * LIMIT_SECONDS).value
    seconds = min(clock.wall, clock.cpu) if clock.cpu is not None else clock.wall
    expect(seconds <= LIMIT_SECONDS, f"{function}({seed}) took {clock.wall:.0f} s; keep it to about 15 s on a laptop "
                                     f"(the grader allows {LIMIT_SECONDS} s)")
    expect(type(returned) is tuple and len(returned) == 2, f"{function}(seed) should return (model, history)")
    model, history = returned
    expect(student.module("builtins.isinstance")(model, student.module("torch.nn.Module")) is True,
           f"{function}(seed) should return the trained nn.Module first, got a {short(kernel_of(model))}")
    expect(type(history) is dict and set(history) == {"train_acc", "val_acc"},
           f"{function}(seed) should return the history that train_model returned")
    modules = student.module("builtins.list")(model.attr("modules")())
    linears = [(m.attr("in_features"), m.attr("out_features")) for m in modules
               if kernel_of(m) == "torch.nn.modules.linear.Linear"]
    return model, [kernel_of(m) for m in modules], linears


def kernel_images(student, dataset, limit: int | None, expected: torch.Tensor):
    """The standardised images as the kernel's course_utils loads them, checked against the judge's own copy."""
    loaded = student.module("course_utils.image_tensors").invoke((dataset,), {"limit": limit}, keep=True).value
    images = student.module("operator.getitem").invoke((loaded, 0), keep=True).value
    expect_equal(images.attr("data"), expected, "the Fashion-MNIST images as your notebook loads them "
                                                "(they must be the grader's own)")
    return images


@judge.part("test_experiment")
def experiment(student, draw):
    seed = draw.new_seed()
    with case("train_baseline on a seed of the grader's", seed=seed):
        baseline, kinds, baseline_linears = run_experiment(student, "train_baseline", seed)
        expect(kinds[0] == "torch.nn.modules.container.Sequential", "the baseline should be an nn.Sequential")
        extra = sorted({short(kind) for kind in kinds} - {short(kind) for kind in PLAIN})
        expect(not extra, f"the baseline is made of Flatten, Linear and activation layers only; it contains {extra}")
        expect(bool(baseline_linears), "the baseline has no nn.Linear layers")
    with case("train_regularised on the same seed", seed=seed):
        regularised, kinds, regularised_linears = run_experiment(student, "train_regularised", seed)
        expect(regularised_linears == baseline_linears, "the regularised model should keep the baseline's linear "
                                                        f"layers {baseline_linears}; it has {regularised_linears}")
        convolutions = sorted({short(kind) for kind in kinds} & CONVOLUTIONS)
        expect(not convolutions, f"the regularised model must not contain convolutions ({convolutions})")
    with case("measuring both models on Fashion-MNIST"):
        train_set, val_set = load_fashion_mnist(train=True), load_fashion_mnist(train=False)
        train_images, train_labels = image_tensors(train_set, limit=1000)
        val_images, val_labels = image_tensors(val_set)
        loader = student.module("course_utils.load_fashion_mnist")
        kernel_train = kernel_images(student, loader.invoke((), {"train": True}, keep=True).value, 1000, train_images)
        kernel_val = kernel_images(student, loader.invoke((), {"train": False}, keep=True).value, None, val_images)
        measured = {}
        for name, model in (("baseline", baseline), ("regularised", regularised)):
            train_acc = judged_accuracy(student, model, kernel_train, train_labels)
            val_acc = judged_accuracy(student, model, kernel_val, val_labels)
            measured[name] = (train_acc, val_acc, train_acc - val_acc)
    (b_train, b_val, b_gap), (r_train, r_val, r_gap) = measured["baseline"], measured["regularised"]
    summary = (f"baseline: train {b_train:.3f}, validation {b_val:.3f}, gap {b_gap:.3f}; regularised: train "
               f"{r_train:.3f}, validation {r_val:.3f}, gap {r_gap:.3f}")
    with case("the experiment", seed=seed):
        expect(b_gap >= MIN_BASELINE_GAP, f"the baseline's gap is only {b_gap:.3f} (at least {MIN_BASELINE_GAP} is "
                                          f"required: it must overfit). {summary}")
        expect(r_val >= MIN_VAL_ACC, f"the regularised model's validation accuracy is {r_val:.3f}, below "
                                     f"{MIN_VAL_ACC}. {summary}")
        expect(r_gap <= b_gap - MIN_SHRINK, f"the gap shrank from {b_gap:.3f} to {r_gap:.3f}, by less than "
                                            f"{MIN_SHRINK}. {summary}")
