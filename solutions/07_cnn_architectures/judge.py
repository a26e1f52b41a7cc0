"""Hidden tests of Assignment 07, judged in the grader's process (instructor only, never released).

Parts 1-3 build the student's block in the kernel for random settings, compare its state_dict's names and
shapes with a reference block's, copy random weights (and BatchNorm statistics) in, and compare the outputs
in training and eval mode, the updated running statistics and the gradients of the input and of every
parameter. Part 4 calls `layer_costs` on random small models and on torchvision models picked at random;
the reference counts run here, on the meta device. Part 5 trains in the kernel under the judge's clock and is
scored on the Fashion-MNIST test set that the judge loads itself.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F
from torchvision import models

from course_grading.judge import Judge, case, expect, expect_close, expect_equal, expect_tensor, fail
from course_grading.trained import judged_accuracy, kernel_test_images, train_in_kernel
from course_utils import image_tensors, load_fashion_mnist

judge = Judge()
TOL = {"atol": 1e-4, "rtol": 1e-4}
GRAD_TOL = {"atol": 1e-4, "rtol": 1e-3}


# ---------------------------------------------------------------- reference blocks

BN = nn.BatchNorm2d


def conv(c_in: int, c_out: int, k: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """A k×k convolution without bias that keeps the size at stride 1."""
    return nn.Conv2d(c_in, c_out, k, stride=stride, padding=k // 2, groups=groups, bias=False)


class RefPreAct(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1, mistake: str | None = None):
        super().__init__()
        self.mistake = mistake
        self.bn1, self.conv1 = BN(c_in), conv(c_in, c_out, 3, stride)
        self.bn2, self.conv2 = BN(c_out), conv(c_out, c_out, 3)
        self.shortcut = conv(c_in, c_out, 1, stride) if (stride, c_in) != (1, c_out) else None

    def forward(self, x):
        a = F.relu(self.bn1(x))
        branch = self.conv2(F.relu(self.bn2(self.conv1(a))))
        if self.shortcut is None:
            skip = x
        else:
            skip = self.shortcut(x if self.mistake == "projects x" else a)
        out = branch + skip
        return F.relu(out) if self.mistake == "final relu" else out


class RefBottleneck(nn.Module):
    def __init__(self, c_in: int, width: int, stride: int = 1, expansion: int = 2, groups: int = 1,
                 mistake: str | None = None):
        super().__init__()
        self.mistake = mistake
        wide = width * expansion
        self.conv1, self.bn1 = conv(c_in, width, 1), BN(width)
        self.conv2, self.bn2 = conv(width, width, 3, stride, groups), BN(width)
        self.conv3, self.bn3 = conv(width, wide, 1), BN(wide)
        projection = (stride, c_in) != (1, wide)
        self.shortcut = nn.Sequential(conv(c_in, wide, 1, stride), BN(wide)) if projection else nn.Identity()

    def forward(self, x):
        z = F.relu(self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x))))))
        z = self.bn3(self.conv3(z))
        if self.mistake == "relu before add":
            return F.relu(z) + self.shortcut(x)
        return F.relu(z + self.shortcut(x))


class RefInverted(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int = 1, expand_ratio: int = 6, mistake: str | None = None):
        super().__init__()
        self.mistake = mistake
        wide = c_in * expand_ratio
        self.expand = nn.Sequential(conv(c_in, wide, 1), BN(wide), nn.ReLU6()) if expand_ratio != 1 else None
        self.depthwise = nn.Sequential(conv(wide, wide, 3, stride, wide), BN(wide), nn.ReLU6())
        self.project = nn.Sequential(conv(wide, c_out, 1), BN(c_out))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x):
        z = self.project(self.depthwise(self.expand(x) if self.expand is not None else x))
        if self.mistake == "relu6 after project":
            z = F.relu6(z)
        return z + x if self.residual else z


def parameter_count(make: Callable[..., nn.Module], *args: Any, **kwargs: Any) -> int:
    """The parameters of `make(*args, **kwargs)`, built on the meta device (no memory, no time)."""
    with torch.device("meta"):
        return sum(p.numel() for p in make(*args, **kwargs).parameters())


def random_state(draw, reference: nn.Module) -> dict[str, torch.Tensor]:
    """Random weights (about unit-variance outputs) and BatchNorm statistics that are far from the defaults."""
    state = {}
    for name, value in reference.state_dict().items():
        if name.endswith("num_batches_tracked"):
            state[name] = torch.tensor(draw.int(0, 5))
        elif name.endswith("running_var"):
            state[name] = 0.5 + draw.rand(*value.shape)
        elif name.endswith(("running_mean", "bias")):
            state[name] = 0.3 * draw.randn(*value.shape)
        elif value.dim() == 1:  # BatchNorm's gamma
            state[name] = 0.5 + draw.rand(*value.shape)
        else:
            state[name] = draw.randn(*value.shape) / value[0].numel() ** 0.5
    return state


# ---------------------------------------------------------------- Parts 1-3: one block, one setting

def check_formula(student, formula: str, args: tuple, kwargs: dict, want: int, mistakes: dict[str, int]) -> None:
    got = getattr(student, formula)(*args, **kwargs)
    expect(type(got) is int, f"{formula} must return a Python int, got {got!r}"[:200])
    expect_equal(got, want, f"{formula}{call_text(args, kwargs)}", mistakes=mistakes)


def call_text(args: tuple, kwargs: dict) -> str:
    return "(" + ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())]) + ")"


def check_block(student, draw, cls: str, args: tuple, kwargs: dict, reference: nn.Module,
                variants: dict[str, nn.Module], no_projection: str | None = None) -> None:
    """Build cls(*args, **kwargs) in the kernel, copy the reference's random state in, compare everything."""
    module, batch = student.module, student.batch()
    c_in = args[0]
    n, h, w = draw.int(2, 4), draw.int(3, 8), draw.int(3, 8)
    x, x_eval = draw.randn(n, c_in, h, w), draw.randn(n, c_in, h, w)
    built = batch.call(getattr(student, cls), *args, keep=True, what=f"{cls}{call_text(args, kwargs)}", **kwargs)
    leaf = batch.call(module("torch.Tensor.requires_grad_"), x, keep=True)
    first = batch.send()
    block, x_remote = first.value(built), first.value(leaf)

    named = batch.call(module("torch.nn.Module.state_dict"), block, destination={}, what="state_dict()")
    generator = batch.call(module("torch.nn.Module.parameters"), block, what="parameters()")
    second = batch.send()
    got_state = second.value(named)
    expect(type(got_state) is dict, "state_dict() did not give a dict")
    want_state = reference.state_dict()
    got_keys, want_keys = list(got_state), list(want_state)
    if got_keys != want_keys:
        mistake = None
        if no_projection and got_keys == [k for k in want_keys if not k.startswith("shortcut.")]:
            mistake = no_projection
        fail(f"the block's state_dict has the entries {got_keys}, expected {want_keys} (names, and the order in "
             "which the layers are created)", mistake)
    for key in want_keys:
        expect(tuple(got_state[key].shape) == tuple(want_state[key].shape),
               f"{key} has shape {tuple(got_state[key].shape)}, expected {tuple(want_state[key].shape)}")

    state = random_state(draw, reference)
    reference.load_state_dict(state)
    for variant in variants.values():
        variant.load_state_dict(state)
    batch.call(module("torch.nn.Module.load_state_dict"), block, state, what="load_state_dict()")
    parameters = batch.call(module("builtins.list"), second.value(generator), keep=True, what="parameters()")
    forward = batch.call(block, x_remote, keep=True, what=f"{cls}(...)(x) in training mode")
    third = batch.send()
    third.value(parameters)
    output = third.value(forward)

    grad_out = draw.randn(*reference_output_shape(reference, x))
    detached = batch.call(module("torch.Tensor.detach"), output)
    input_grad = batch.call(module("torch.autograd.grad"), output, x_remote, grad_out, retain_graph=True,
                            allow_unused=True, what="the gradient of the input")
    param_grads = batch.call(module("torch.autograd.grad"), output, third.value(parameters), grad_out,
                             allow_unused=True, what="the gradients of the parameters")
    after = batch.call(module("torch.nn.Module.state_dict"), block, destination={}, what="state_dict()")
    batch.call(module("torch.nn.Module.eval"), block)
    evaluated = batch.call(block, x_eval, no_grad=True, what=f"{cls}(...)(x) in eval mode")
    fourth = batch.send()

    reference.train()
    x_ref = x.clone().requires_grad_(True)
    y_ref = reference(x_ref)
    grads = torch.autograd.grad(y_ref, [x_ref, *reference.parameters()], grad_out)
    with torch.no_grad():
        variant_outputs = {label: v.train()(x) for label, v in variants.items()}
    got = fourth.value(detached)
    expect_tensor(got, "the output", shape=tuple(y_ref.shape))
    expect_close(got, y_ref.detach(), "the output in training mode (BatchNorm with batch statistics)",
                 mistakes=variant_outputs, **TOL)
    got_grad = fourth.value(input_grad)[0]
    expect(got_grad is not None, "the output does not depend on the input: the gradient does not reach x")
    expect_close(got_grad, grads[0], "the gradient with respect to the input x", **GRAD_TOL)
    names = [name for name, _ in reference.named_parameters()]
    for name, got_p, want_p in zip(names, fourth.value(param_grads), grads[1:]):
        expect(got_p is not None, f"{name} does not take part in the forward pass (no gradient)")
        expect_close(got_p, want_p, f"the gradient of {name}", **GRAD_TOL)
    updated = fourth.value(after)
    for key, value in reference.state_dict().items():
        if "running" in key:
            expect_close(updated[key], value, f"{key} after one forward pass in training mode", **TOL)
    reference.eval()
    with torch.no_grad():
        expect_close(fourth.value(evaluated), reference(x_eval), "the output in eval mode (running statistics)", **TOL)


def reference_output_shape(reference: nn.Module, x: torch.Tensor) -> tuple[int, ...]:
    with torch.no_grad():
        return tuple(reference.eval()(x).shape)


# ---------------------------------------------------------------- Part 1

PREACT_MISTAKES = {"final relu": "a ReLU follows the addition (the post-activation habit; a pre-activation block "
                                 "has none)",
                   "projects x": "the projection shortcut is applied to x instead of the pre-activated relu(bn1(x))"}
NO_PROJECTION = "the shortcut has no projection when the shape changes (a stride or a change of channels)"
PREACT_COUNT_MISTAKE = "the projection is counted only when the channels change (a stride of 2 needs it too)"


def preact_settings(draw) -> list[tuple[tuple, dict]]:
    c = draw.int(1, 8)
    settings = [((c, c), {}), ((c, c), {"stride": 2}), ((draw.int(1, 8), draw.int(1, 8)), {"stride": 1}),
                ((draw.int(1, 8), draw.int(1, 8), 2), {})]
    return settings + [((draw.int(1, 8), draw.int(1, 8)), {"stride": draw.choice((1, 2))}) for _ in range(2)]


@judge.part("test_preact")
def preact(student, draw):
    with case("the visible examples"):
        for args, kwargs in [((4, 4), {}), ((4, 8, 2), {}), ((4, 4), {"stride": 2})]:
            want = parameter_count(RefPreAct, *args, **kwargs)
            check_formula(student, "preact_block_params", args, kwargs, want, {})
    for _ in range(8):
        c_in, c_out, stride = draw.int(1, 512), draw.int(1, 512), draw.choice((1, 2))
        if draw.int(0, 1):
            c_out = c_in
        with case("preact_block_params", c_in=c_in, c_out=c_out, stride=stride):
            want = parameter_count(RefPreAct, c_in, c_out, stride)
            wrong = want - c_in * c_out if stride == 2 and c_in == c_out else want
            check_formula(student, "preact_block_params", (c_in, c_out), {"stride": stride}, want,
                          {PREACT_COUNT_MISTAKE: wrong} if wrong != want else {})
    for args, kwargs in preact_settings(draw):
        with case(f"PreActBlock{call_text(args, kwargs)}"):
            reference = RefPreAct(*args, **kwargs)
            variants = {PREACT_MISTAKES["final relu"]: RefPreAct(*args, **kwargs, mistake="final relu")}
            if reference.shortcut is not None:
                variants[PREACT_MISTAKES["projects x"]] = RefPreAct(*args, **kwargs, mistake="projects x")
            check_block(student, draw, "PreActBlock", args, kwargs, reference, variants, NO_PROJECTION)


# ---------------------------------------------------------------- Part 2

GROUPS_IGNORED = ("the grouped 3×3 convolution is counted as if it were not grouped "
                  "(9·width² instead of 9·width²/groups)")
BOTTLENECK_MISTAKE = "the ReLU is applied before the addition instead of after it"


def bottleneck_setting(draw, large: bool) -> tuple[tuple, dict]:
    groups = draw.choice((1, 2, 4, 8, 32) if large else (1, 2, 3))
    width = groups * draw.int(1, 8 if large else 3)
    expansion = draw.int(1, 4)
    c_in = expansion * width if draw.int(0, 2) == 0 else draw.int(1, 512 if large else 12)
    stride = draw.choice((1, 2))
    kwargs = {"stride": stride, "expansion": expansion, "groups": groups}
    for name, default in (("groups", 1), ("expansion", 2), ("stride", 1)):  # leave defaults out at times
        if kwargs[name] == default and draw.int(0, 1):
            del kwargs[name]
    return (c_in, width), kwargs


def bottleneck_reference(args: tuple, kwargs: dict, mistake: str | None = None) -> RefBottleneck:
    return RefBottleneck(*args, **kwargs, mistake=mistake)


@judge.part("test_bottleneck")
def bottleneck(student, draw):
    with case("the visible examples"):
        for args, kwargs in [((8, 4), {}), ((8, 4), {"groups": 2}), ((8, 4), {"stride": 2}), ((8, 4), {"expansion": 4}),
                             ((256, 64), {"expansion": 4}), ((256, 128), {"groups": 32})]:
            want = parameter_count(bottleneck_reference, args, kwargs)
            ungrouped = parameter_count(bottleneck_reference, args, {**kwargs, "groups": 1})
            check_formula(student, "bottleneck_params", args, kwargs, want,
                          {GROUPS_IGNORED: ungrouped} if ungrouped != want else {})
    settings = [bottleneck_setting(draw, True) for _ in range(8)]
    settings.append(((draw.int(1, 64), 4 * draw.int(1, 16)), {"stride": 2, "expansion": 2, "groups": 4}))
    for args, kwargs in settings:
        with case("bottleneck_params", args=args, **kwargs):
            want = parameter_count(bottleneck_reference, args, kwargs)
            ungrouped = parameter_count(bottleneck_reference, args, {**kwargs, "groups": 1})
            check_formula(student, "bottleneck_params", args, kwargs, want,
                          {GROUPS_IGNORED: ungrouped} if ungrouped != want else {})
    small = [bottleneck_setting(draw, False) for _ in range(5)]
    small.append(((6, 3), {"expansion": 2, "groups": 3}))  # identity shortcut, grouped
    for args, kwargs in small:
        with case(f"Bottleneck{call_text(args, kwargs)}"):
            variants = {BOTTLENECK_MISTAKE: bottleneck_reference(args, kwargs, "relu before add")}
            check_block(student, draw, "Bottleneck", args, kwargs, bottleneck_reference(args, kwargs), variants,
                        NO_PROJECTION)


# ---------------------------------------------------------------- Part 3

NOT_LINEAR = "an activation follows the projection (the bottleneck must stay linear)"
EXPANSION_COUNTED = "the expansion layer is counted although expand_ratio = 1 (there is none)"


def inverted_setting(draw, large: bool) -> tuple[tuple, dict]:
    top = 160 if large else 6
    c_in = draw.int(1, top)
    c_out = c_in if draw.int(0, 2) == 0 else draw.int(1, top)
    kwargs = {"stride": draw.choice((1, 2)), "expand_ratio": draw.choice((1, 2, 3, 6))}
    if kwargs["expand_ratio"] == 6 and draw.int(0, 1):
        del kwargs["expand_ratio"]
    return (c_in, c_out), kwargs


@judge.part("test_inverted")
def inverted(student, draw):
    with case("the visible examples"):
        for args, kwargs in [((2, 3), {"expand_ratio": 2}), ((4, 4), {"expand_ratio": 1}),
                             ((16, 24), {"stride": 2, "expand_ratio": 6}), ((32, 16), {"expand_ratio": 1})]:
            want = parameter_count(RefInverted, *args, **kwargs)
            check_formula(student, "inverted_residual_params", args, kwargs, want, {})
    settings = [inverted_setting(draw, True) for _ in range(7)]
    settings.append(((draw.int(1, 160), draw.int(1, 160)), {"stride": 1, "expand_ratio": 1}))
    for args, kwargs in settings:
        with case("inverted_residual_params", args=args, **kwargs):
            want = parameter_count(RefInverted, *args, **kwargs)
            c_in = args[0]
            mistakes = {EXPANSION_COUNTED: want + c_in * c_in + 2 * c_in} if kwargs.get("expand_ratio") == 1 else {}
            check_formula(student, "inverted_residual_params", args, kwargs, want, mistakes)
    small = [inverted_setting(draw, False) for _ in range(5)]
    c = draw.int(1, 6)
    small += [((c, c), {"stride": 1, "expand_ratio": 1}), ((c, c), {"stride": 2, "expand_ratio": 3})]
    for args, kwargs in small:
        with case(f"InvertedResidual{call_text(args, kwargs)}"):
            variants = {NOT_LINEAR: RefInverted(*args, **kwargs, mistake="relu6 after project")}
            check_block(student, draw, "InvertedResidual", args, kwargs, RefInverted(*args, **kwargs), variants)


# ---------------------------------------------------------------- Part 4

ZOO = ["resnet18", "mobilenet_v2", "mobilenet_v3_small", "squeezenet1_1", "shufflenet_v2_x0_5", "mnasnet0_5",
       "efficientnet_b0", "resnext50_32x4d", "densenet121"]
GROUPS_MISTAKE = "the groups of a convolution are ignored (a depthwise convolution counted like a full one)"
BIAS_MISTAKE = "the biases are left out of the parameters"


LAYERS = (nn.Conv2d, nn.Linear)


def reference_costs(model: nn.Module, input_size: tuple[int, ...], mistake: str | None = None) -> dict:
    """{name: (parameters, MACs)} of every Conv2d and Linear, on the meta device."""
    found: dict[str, tuple[int, int]] = {}

    def record(name: str):
        def hook(layer, _inputs, output):
            fan_in = layer.weight[0].numel()
            if mistake == "groups" and isinstance(layer, nn.Conv2d):
                fan_in *= layer.groups
            params = sum(p.numel() for p in layer.parameters())
            if mistake == "bias" and layer.bias is not None:
                params -= layer.bias.numel()
            before = found.get(name, (params, 0))
            found[name] = (params, before[1] + output.numel() * fan_in)
        return hook

    counted = [(n, m) for n, m in model.named_modules() if isinstance(m, LAYERS)]
    handles = [layer.register_forward_hook(record(name)) for name, layer in counted]
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_size, device="meta"))
    finally:
        for handle in handles:
            handle.remove()
    return found


def kernel_module(student, spec: list[tuple[str, tuple, dict]]) -> Any:
    """nn.Sequential of torch.nn layers, built in the kernel from (class name, args, kwargs)."""
    batch = student.batch()
    layers = [batch.call(student.module(f"torch.nn.{name}"), *args, keep=True, **kwargs) for name, args, kwargs in spec]
    answers = batch.send()
    model = student.module("torch.nn.Sequential").invoke(tuple(answers.value(i) for i in layers), keep=True).value
    student.module("torch.nn.Module.eval")(model)
    return model


def local_module(spec: list[tuple[str, tuple, dict]]) -> nn.Module:
    with torch.device("meta"):
        return nn.Sequential(*[getattr(nn, name)(*args, **kwargs) for name, args, kwargs in spec]).eval()


def count_hooks(student, model) -> int:
    """Forward and forward-pre hooks left on any submodule of the kernel's `model`."""
    module, total = student.module, 0
    for attribute in ("_forward_hooks", "_forward_pre_hooks"):
        batch = student.batch()
        generator = batch.call(module("torch.nn.Module.modules"), model)
        getter = batch.call(module("operator.attrgetter"), attribute)
        first = batch.send()
        dicts = module("builtins.map")(first.value(getter), first.value(generator))
        lengths = module("builtins.map")(module("builtins.len"), dicts)
        total += module("builtins.sum")(lengths)
    return total


def check_costs(student, model, local: nn.Module, input_size: tuple[int, ...]) -> None:
    got = student.layer_costs(model, input_size)
    expect(type(got) is dict, f"layer_costs must return a dict, got {got!r}"[:200])
    want = reference_costs(local, input_size)
    expect(all(type(v) is tuple and len(v) == 2 and all(type(n) is int for n in v) for v in got.values()),
           "each value must be a tuple (parameters, macs) of two Python ints")
    expect_equal(list(got), list(want), "the layers (names from named_modules(), in the order they first run)")
    mistakes = {GROUPS_MISTAKE: reference_costs(local, input_size, "groups"),
                BIAS_MISTAKE: reference_costs(local, input_size, "bias")}
    mistakes = {label: value for label, value in mistakes.items() if value != want}
    for name in want:
        if got[name] != want[name]:
            label = next((label for label, value in mistakes.items() if value[name] == got[name]), None)
            fail(f"layer {name!r}: (parameters, macs) = {got[name]}, expected {want[name]}", label)
    hooks = count_hooks(student, model)
    expect(hooks == 0, f"{hooks} hook(s) are still registered on the model after layer_costs returned")


def random_spec(draw) -> tuple[list, tuple[int, ...]]:
    c, size = draw.int(1, 4), draw.int(6, 12)
    mult, stride = draw.int(1, 3), draw.choice((1, 2))
    spec = [("Conv2d", (c, c * mult, 3), {"stride": stride, "padding": draw.int(0, 1), "groups": c}),
            ("ReLU", (), {}),
            ("Conv2d", (c * mult, 4, 1), {"bias": bool(draw.int(0, 1))})]
    with torch.device("meta"):
        side = nn.Sequential(*[getattr(nn, n)(*a, **k) for n, a, k in spec])(torch.zeros(1, c, size, size,
                                                                                          device="meta")).shape[-1]
    features = draw.int(2, 5)
    spec += [("Flatten", (2,), {}), ("Linear", (side * side, features), {}), ("Flatten", (), {}),
             ("Linear", (4 * features, draw.int(1, 5)), {"bias": bool(draw.int(0, 1))})]
    return spec, (c, size, size)


@judge.part("test_costs")
def costs(student, draw):
    visible = [("Conv2d", (1, 2, 3), {"padding": 1}), ("ReLU", (), {}),
               ("Conv2d", (2, 4, 3), {"stride": 2, "groups": 2}),
               ("Flatten", (), {}), ("Linear", (16, 3), {})]
    with case("the visible example: conv, grouped conv, linear on a 1x6x6 image"):
        check_costs(student, kernel_module(student, visible), local_module(visible), (1, 6, 6))
    for _ in range(2):
        spec, size = random_spec(draw)
        with case("a small random model", layers=[f"{n}{a}" for n, a, _ in spec if n in ("Conv2d", "Linear")],
                  input_size=size):
            check_costs(student, kernel_module(student, spec), local_module(spec), size)
    with case("a model that fails in its forward pass (3 channels where it expects 2)"):
        failing = kernel_module(student, [("Conv2d", (2, 2, 3), {}), ("Flatten", (), {}), ("Linear", (8, 2), {})])
        try:
            student.layer_costs(failing, (3, 4, 4))
        except Exception:  # noqa: BLE001 (the forward pass must fail: what matters are the hooks left behind)
            pass
        hooks = count_hooks(student, failing)
        expect(hooks == 0, f"{hooks} hook(s) are still registered after a forward pass that failed: remove them in "
                           "a `finally:` block")
    for name in draw.sample(ZOO, 2):
        side = draw.choice((64, 96, 128))
        with case(f"torchvision's {name} (weights=None)", input_size=(3, side, side)):
            model = student.module("torchvision.models.get_model").invoke((name,), {"weights": None}, keep=True).value
            student.module("torch.nn.Module.eval")(model)
            with torch.device("meta"):
                local = models.get_model(name, weights=None).eval()
            check_costs(student, model, local, (3, side, side))


# ---------------------------------------------------------------- Part 5

MAX_PARAMETERS = 100_000
MIN_ACCURACY = 0.85
AIM_SECONDS, LIMIT_SECONDS = 60, 180
WALL_TIMEOUT = 1200  # a busy grader: the limit above applies to min(wall, CPU) time
BLOCK_TYPES = {"__main__.PreActBlock", "__main__.Bottleneck", "__main__.InvertedResidual",
               "torchvision.models.resnet.BasicBlock"}


@judge.part("test_resnet")
def resnet(student, draw):
    seed = draw.new_seed()
    with case("train_resnet on a seed of the grader's", seed=seed):
        model = train_in_kernel(student, "train_resnet", seed, aim_s=AIM_SECONDS, limit_s=LIMIT_SECONDS,
                                timeout_s=WALL_TIMEOUT)
        kinds = [m.type_name for m in student.module("builtins.list")(model.attr("modules")())]
        blocks = sum(kind in BLOCK_TYPES for kind in kinds)
        expect(blocks >= 2, f"the network has {blocks} residual block(s) of PreActBlock, Bottleneck, InvertedResidual "
                            "or torchvision's BasicBlock; at least 2 are required")
        parameters = student.module("builtins.list")(model.attr("parameters")())
        count = sum(p.numel() for p in parameters)
        expect(count <= MAX_PARAMETERS, f"the network has {count:,} parameters; at most {MAX_PARAMETERS:,} are allowed")
        images, labels = image_tensors(load_fashion_mnist(train=False))
        accuracy = judged_accuracy(student, model, kernel_test_images(student, "load_fashion_mnist", images,
                                                                      "the Fashion-MNIST test images"), labels)
        expect(accuracy >= MIN_ACCURACY, f"test accuracy {accuracy:.2%}; at least {MIN_ACCURACY:.0%} is required")
