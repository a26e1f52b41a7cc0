"""Hidden tests of Assignment 04, judged in the grader's process (instructor only, never released).

The references are PyTorch's own operators, run here; the student's code runs in the kernel and only
its results come back. Part 6 trains in the kernel under the judge's clock and is scored on the MNIST
test set that the judge loads itself.
"""
from __future__ import annotations

import torch
from torch.nn import functional as F

from course_grading.judge import (Judge, case, expect, expect_close, expect_equal, expect_no_ops, expect_tensor,
                                  expect_type, fail)
from course_grading.remote import StudentRaised
from course_grading.trained import (is_module, judged_accuracy, kernel_test_images, short_type,
                                    train_in_kernel)
from course_utils import image_tensors, load_mnist
from course_utils.testing import implementations

judge = Judge()

UNFOLD = frozenset({"aten.im2col", "aten.unfold", "torch.nn.functional.unfold", "torch.Tensor.unfold"})
CONVOLUTION = implementations("convolution")
POOLING = implementations("pooling", "convolution") | {"aten.max_pool2d_with_indices_backward",
                                                       "aten.avg_pool2d_backward"}
# Autograd run from inside a function that must compute its gradients by hand.
AUTOGRAD = frozenset({"grad", "torch.autograd.grad", "py:torch.autograd.grad", "torch.Tensor.backward",
                      "py:torch.autograd.backward", "py:torch._tensor.backward", "py:torch.autograd.functional.vjp",
                      "py:torch.autograd.functional.jacobian", "py:torch._functorch.eager_transforms.vjp",
                      "py:torch._functorch.eager_transforms.grad"})
FLIPPED = "the kernel is flipped (textbook convolution); F.conv2d, and this assignment, compute cross-correlation"


def tolerance(dtype: torch.dtype) -> float:
    return 1e-10 if dtype == torch.float64 else 2e-5


def pair_or_int(draw, first: int, second: int, number: int):
    """Sometimes an int (when both agree), sometimes a pair: the spec allows both."""
    return first if first == second and number % 4 else (first, second)


def random_conv_case(draw, number: int, max_size: int, kernel: int, dilation: bool):
    dtype = (torch.float64, torch.float32)[number % 2]
    n, c_in, c_out = draw.int(1, 3), draw.int(1, 4), draw.int(1, 4)
    kh, kw = draw.int(1, kernel), draw.int(1, kernel)
    sh, sw, ph, pw = draw.int(1, 3), draw.int(1, 3), draw.int(0, 2), draw.int(0, 2)
    dh, dw = (draw.choice((1, 1, 2, 3)), draw.choice((1, 1, 2, 3))) if dilation else (1, 1)
    h = draw.int(max(1, dh * (kh - 1) + 1 - 2 * ph), max_size)
    w = draw.int(max(1, dw * (kw - 1) + 1 - 2 * pw), max_size)
    x = draw.randn(n, c_in, h, w, dtype=dtype)
    weight = draw.randn(c_out, c_in, kh, kw, dtype=dtype)
    bias = draw.randn(c_out, dtype=dtype) if number % 3 else None
    settings = {"stride": pair_or_int(draw, sh, sw, number), "padding": pair_or_int(draw, ph, pw, number)}
    if dilation:
        settings["dilation"] = pair_or_int(draw, dh, dw, number)
    exact = {"stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw)}
    return x, weight, bias, settings, exact


def check_conv(student, name: str, forbidden: frozenset[str], x, weight, bias, settings, exact, label: str) -> None:
    with case(label, x=tuple(x.shape), dtype=x.dtype, weight=tuple(weight.shape), bias=bias is not None,
              **{k: v for k, v in settings.items()}):
        call = getattr(student, name).invoke((x, weight, bias), settings, record_ops=True, return_args=True)
        expected = F.conv2d(x, weight, bias, **exact)
        expect_no_ops(call.ops, forbidden, name)
        if name == "conv2d":
            expect(bool(call.ops & {"aten.im2col", "aten.unfold"}), "vectorise conv2d with F.unfold (it never ran)")
        expect_tensor(call.value, f"{name}(...)", dtype=x.dtype, shape=tuple(expected.shape))
        flipped = F.conv2d(x, weight.flip(-2, -1), bias, **exact)
        expect_close(call.value, expected, f"{name}(...)", atol=tolerance(x.dtype), rtol=tolerance(x.dtype),
                     mistakes={FLIPPED: flipped} if weight.shape[-1] * weight.shape[-2] > 1 else None)
        expect_equal(call.args[0], x, "x after the call (do not modify the input)")


LINE_IMAGE = torch.zeros(1, 1, 5, 5)
LINE_IMAGE[0, 0, :, 2] = 1.0
LINE_FILTER = torch.tensor([[-1.0, 2.0, -1.0]] * 3).reshape(1, 1, 3, 3)


# ---------------------------------------------------------------- Part 1

@judge.part("test_conv2d_loops")
def conv2d_loops(student, draw):
    visible = [({}, "the vertical-line filter"), ({"padding": 1}, "padding=1"),
               ({"stride": 2, "padding": 1}, "stride 2, padding 1, bias 0.5")]
    for settings, label in visible:
        bias = torch.tensor([0.5]) if "stride" in settings else None
        exact = {"stride": settings.get("stride", 1), "padding": settings.get("padding", 0), "dilation": 1}
        check_conv(student, "conv2d_loops", CONVOLUTION | UNFOLD, LINE_IMAGE, LINE_FILTER, bias, settings, exact,
                   f"visible example: {label}")
    for number in range(10):
        x, weight, bias, settings, exact = random_conv_case(draw, number, max_size=7, kernel=3, dilation=False)
        check_conv(student, "conv2d_loops", CONVOLUTION | UNFOLD, x, weight, bias, settings, exact,
                   f"random convolution #{number + 1}")


# ---------------------------------------------------------------- Part 2

@judge.part("test_conv2d")
def conv2d(student, draw):
    check_conv(student, "conv2d", CONVOLUTION, LINE_IMAGE, LINE_FILTER, None, {"dilation": 2},
               {"stride": 1, "padding": 0, "dilation": 2}, "visible example: dilation 2")
    for number in range(36):
        x, weight, bias, settings, exact = random_conv_case(draw, number, max_size=14, kernel=5, dilation=True)
        check_conv(student, "conv2d", CONVOLUTION, x, weight, bias, settings, exact,
                   f"random convolution #{number + 1}")
    x, weight, bias = draw.randn(16, 3, 28, 28), draw.randn(8, 3, 5, 5), draw.randn(8)
    with case("a realistic layer with positional arguments", x=(16, 3, 28, 28), weight=(8, 3, 5, 5)):
        call = student.conv2d.invoke((x, weight, bias, 1, 2, 1), record_ops=True)
        expect_no_ops(call.ops, CONVOLUTION, "conv2d")
        expect_tensor(call.value, "conv2d(...)", dtype=torch.float32, shape=(16, 8, 28, 28))
        expect_close(call.value, F.conv2d(x, weight, bias, 1, 2, 1), "conv2d(...)", atol=1e-4, rtol=1e-4)


# ---------------------------------------------------------------- Part 3

def reference_gradients(x, weight, bias, grad_out, exact):
    leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias if bias is not None else torch.zeros(0))]
    out = F.conv2d(leaves[0], leaves[1], leaves[2] if bias is not None else None, **exact)
    out.backward(grad_out)
    grad_bias = grad_out.sum(dim=(0, 2, 3))
    return leaves[0].grad, leaves[1].grad, grad_bias


def check_backward_function(student, draw, number: int) -> None:
    """conv2d_backward on its own: gradients by hand, compared with autograd of F.conv2d computed here."""
    x, weight, bias, settings, exact = random_conv_case(draw, number, max_size=10, kernel=4, dilation=True)
    expected_shape = F.conv2d(x, weight, None, **exact).shape
    grad_out = draw.randn(*expected_shape, dtype=x.dtype)
    grad_x, grad_weight, grad_bias = reference_gradients(x, weight, bias, grad_out, exact)
    tol = tolerance(x.dtype) * 10
    with case(f"conv2d_backward, random case #{number + 1}", x=tuple(x.shape), dtype=x.dtype,
              weight=tuple(weight.shape), **settings):
        call = student.conv2d_backward.invoke((x, weight, grad_out), settings, record_ops=True)
        expect_no_ops(call.ops, CONVOLUTION, "conv2d_backward")
        expect(not (call.ops & AUTOGRAD), "conv2d_backward must compute the gradients by hand, without autograd "
                                          "(no .backward(), torch.autograd.grad or torch.func)")
        expect_type(call.value, tuple, "conv2d_backward(...)'s result")
        expect(len(call.value) == 3, "conv2d_backward must return (grad_x, grad_weight, grad_bias)")
        got_x, got_weight, got_bias = call.value
        expect_tensor(got_bias, "grad_bias", dtype=x.dtype, shape=(weight.shape[0],))
        expect_close(got_bias, grad_bias, "grad_bias", atol=tol, rtol=tol,
                     mistakes={"grad_bias is averaged instead of summed over the batch and the positions":
                               grad_out.mean(dim=(0, 2, 3))})
        expect_tensor(got_weight, "grad_weight", dtype=x.dtype, shape=tuple(weight.shape))
        expect_close(got_weight, grad_weight, "grad_weight", atol=tol, rtol=tol,
                     mistakes={"grad_weight is averaged over the batch instead of summed": grad_weight / len(x)})
        expect_tensor(got_x, "grad_x", dtype=x.dtype, shape=tuple(x.shape))
        expect_close(got_x, grad_x, "grad_x", atol=tol, rtol=tol)


def check_autograd_function(student, draw, number: int, requires_grad_) -> None:
    """Conv2dFunction.apply inside a graph: the kernel's autograd must call the student's backward."""
    x, weight, bias, settings, exact = random_conv_case(draw, number, max_size=9, kernel=3, dilation=True)
    x, weight = x.double(), weight.double()
    bias = bias.double() if bias is not None else None
    grad_out = draw.randn(*F.conv2d(x, weight, None, **exact).shape, dtype=torch.float64)
    grad_x, grad_weight, grad_bias = reference_gradients(x, weight, bias, grad_out, exact)
    positional = (exact["stride"], exact["padding"], exact["dilation"])
    with case(f"Conv2dFunction.apply in a graph #{number + 1}", x=tuple(x.shape), weight=tuple(weight.shape),
              bias=bias is not None, stride=positional[0], padding=positional[1], dilation=positional[2]):
        leaves = [requires_grad_.invoke((t,), keep=True).value for t in (x, weight)]
        leaves.append(requires_grad_.invoke((bias,), keep=True).value if bias is not None else None)
        apply = student.Conv2dFunction.attr("apply")
        out = apply.invoke((*leaves, *positional), keep=True).value
        node = out.attr("grad_fn")
        expect(node is not None and "Conv2dFunction" in getattr(node, "type_name", ""),
               "the output of Conv2dFunction.apply should come from your Conv2dFunction's backward node, got "
               f"{getattr(node, 'type_name', node)!r}")
        expect_close(out.attr("data"), F.conv2d(x, weight, bias, **exact), "Conv2dFunction.apply(...)'s output",
                     atol=1e-9, rtol=1e-9)
        wanted = [leaf for leaf in leaves if leaf is not None]
        if number % 2:  # run backward the two ways: autograd inside the backward shows up in one of them
            call = student.module("torch.autograd.grad").invoke((out, wanted, grad_out), record_ops=True)
            grads, nested = list(call.value), {"torch.Tensor.backward", "py:torch.autograd.backward"}
        else:
            call = out.attr("backward").invoke((grad_out,), record_ops=True)
            grads, nested = [leaf.attr("grad") for leaf in wanted], {"grad", "py:torch.autograd.grad"}
        expect_no_ops(call.ops, CONVOLUTION, "Conv2dFunction's backward")
        expect(not (call.ops & nested), "Conv2dFunction.backward must compute the gradients by hand (call your "
                                        "conv2d_backward), not with autograd")
        names = ["the gradient w.r.t. x", "the gradient w.r.t. weight", "the gradient w.r.t. bias"]
        for got, want, name in zip(grads, [grad_x, grad_weight, grad_bias], names):
            expect(got is not None, f"{name} is None")
            expect_close(got, want, name, atol=1e-9, rtol=1e-9)


@judge.part("test_conv2d_backward")
def conv2d_backward(student, draw):
    x = torch.arange(12.0, dtype=torch.float64).reshape(1, 1, 3, 4)
    weight = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    for padding, label in ((0, "visible example: a 3×4 image, a 2×2 kernel"), (1, "the same with padding 1")):
        with case(label):
            shape = (1, 1, 2 + 2 * padding, 3 + 2 * padding)
            grad_out = torch.ones(shape, dtype=torch.float64)
            got = student.conv2d_backward.invoke((x, weight, grad_out), {"padding": padding}).value
            expect_type(got, tuple, "conv2d_backward(...)'s result")
            expect(len(got) == 3, "conv2d_backward must return (grad_x, grad_weight, grad_bias)")
            expected = reference_gradients(x, weight, None, grad_out, {"stride": 1, "padding": padding, "dilation": 1})
            for value, want, name in zip(got, expected, ["grad_x", "grad_weight", "grad_bias"]):
                expect_tensor(value, name, dtype=torch.float64, shape=tuple(want.shape))
                expect_close(value, want, name, atol=1e-10, rtol=1e-10)
    for number in range(16):
        check_backward_function(student, draw, number)
    requires_grad_ = student.module("torch.Tensor").attr("requires_grad_")
    for number in range(6):
        check_autograd_function(student, draw, number, requires_grad_)


# ---------------------------------------------------------------- Part 4

@judge.part("test_pooling")
def pooling(student, draw):
    activation = torch.tensor([[12.0, 20.0, 30.0, 0.0], [8.0, 12.0, 2.0, 0.0],
                               [34.0, 70.0, 37.0, 4.0], [112.0, 100.0, 25.0, 12.0]]).reshape(1, 1, 4, 4)
    cases = [("visible example: the lecture's 4×4 map", activation, 2, {}),
             ("visible example: overlapping windows", activation, 2, {"stride": 1}),
             ("visible example: negative values, padding 1", -activation, 3, {"stride": 1, "padding": 1}),
             ("visible example: average pooling counts padded zeros", activation, 2, {"stride": 2, "padding": 1})]
    for number in range(36):
        dtype = (torch.float32, torch.float64)[number % 2]
        kh, kw, sh, sw = draw.int(1, 4), draw.int(1, 4), draw.int(1, 3), draw.int(1, 3)
        ph, pw = draw.int(0, kh // 2), draw.int(0, kw // 2)
        h, w = draw.int(max(1, kh - 2 * ph), 11), draw.int(max(1, kw - 2 * pw), 11)
        x = draw.randn(draw.int(1, 3), draw.int(1, 4), h, w, dtype=dtype) - 0.5
        settings = {"padding": pair_or_int(draw, ph, pw, number)}
        if number % 5:
            settings["stride"] = pair_or_int(draw, sh, sw, number)
        elif number % 2:
            settings["stride"] = None
        cases.append((f"random pooling #{number + 1}", x, pair_or_int(draw, kh, kw, number), settings))
    for label, x, kernel, settings in cases:
        stride, padding = settings.get("stride"), settings.get("padding", 0)
        for name in ("max_pool2d", "avg_pool2d"):
            reference = getattr(F, name)
            with case(f"{label}, {name}", x=tuple(x.shape), dtype=x.dtype, kernel_size=kernel, **settings):
                call = getattr(student, name).invoke((x, kernel), settings, record_ops=True, return_args=True)
                expected = reference(x, kernel, stride, padding)
                expect_no_ops(call.ops, POOLING, name)
                expect_tensor(call.value, f"{name}(...)", dtype=x.dtype, shape=tuple(expected.shape))
                if name == "max_pool2d":
                    zero_padded = F.max_pool2d(F.pad(x, _padding_amounts(padding)), kernel, stride)
                    mistakes = {"max pooling pads with zeros instead of -inf": zero_padded}
                else:
                    mistakes = {"average pooling divides by the number of real pixels (count_include_pad=False)":
                                F.avg_pool2d(x, kernel, stride, padding, count_include_pad=False)}
                tol = 0.0 if name == "max_pool2d" else (1e-6 if x.dtype == torch.float32 else 1e-12)
                expect_close(call.value, expected, f"{name}(...)", atol=tol, rtol=tol, mistakes=mistakes)
                expect_equal(call.args[0], x, "x after the call (do not modify the input)")


def _padding_amounts(padding) -> tuple[int, int, int, int]:
    ph, pw = (padding, padding) if isinstance(padding, int) else padding
    return (pw, pw, ph, ph)


# ---------------------------------------------------------------- Part 5

def reference_length(m: int, n: int, p: int, s: int, d: int) -> int:
    return F.conv2d(torch.zeros(1, 1, m, 1), torch.zeros(1, 1, n, 1), stride=(s, 1), padding=(p, 0),
                    dilation=(d, 1)).shape[2]


def reference_shape(input_shape, layers):
    """A zero image through PyTorch's convolution and pooling; None where PyTorch rejects the stack."""
    x = torch.zeros(1, *input_shape)
    try:
        for layer in layers:
            if layer[0] == "conv":
                x = F.conv2d(x, torch.zeros(layer[1], x.shape[1], layer[2], layer[2]), stride=layer[3],
                             padding=layer[4])
            else:
                x = F.max_pool2d(x, layer[1], stride=layer[2])
    except RuntimeError:
        return None
    return tuple(x.shape[1:])


def random_layer(draw):
    if draw.uniform(0, 1) < 0.6:
        return ("conv", draw.int(1, 6), draw.int(1, 5), draw.int(1, 3), draw.int(0, 2))
    return ("pool", draw.int(1, 3), draw.int(1, 3))


@judge.part("test_shapes")
def shapes(student, draw):
    lengths = [((32, 3), {}), ((227, 11), {"s": 4}), ((32, 3), {"p": 1}), ((32, 3), {"p": 2}), ((7, 2), {"s": 2}),
               ((7, 3), {"d": 2}), ((9, 3), {"s": 2, "p": 1, "d": 2})]
    for _ in range(40):
        n, d, s, p = draw.int(1, 7), draw.int(1, 3), draw.int(1, 5), draw.int(0, 4)
        m = draw.int(max(1, d * (n - 1) + 1 - 2 * p), 70)
        lengths.append(((m, n, p, s, d), {}) if draw.int(0, 1) else ((m, n), {"p": p, "s": s, "d": d}))
    for args, kwargs in lengths:
        full = dict(zip("mnpsd", args)) | kwargs
        expected = reference_length(full["m"], full["n"], full.get("p", 0), full.get("s", 1), full.get("d", 1))
        with case("conv_output_size", **full):
            got = student.conv_output_size(*args, **kwargs)
            expect_type(got, int, "conv_output_size(...)")
            expect_equal(got, expected, "conv_output_size(...)")

    stacks = [((1, 32, 32), [("conv", 5, 3, 1, 0), ("conv", 3, 3, 1, 0)]),
              ((3, 227, 227), [("conv", 96, 11, 4, 0), ("pool", 3, 2)]),
              ((1, 28, 28), [("conv", 16, 3, 1, 1), ("pool", 2, 2), ("conv", 32, 3, 1, 1), ("pool", 2, 2)]),
              ((4, 10, 12), [])]
    invalid = [((1, 8, 8), [("pool", 2, 2), ("pool", 2, 2), ("conv", 8, 3, 1, 0)])]
    while len(stacks) < 24 or len(invalid) < 8:
        shape = (draw.int(1, 4), draw.int(6, 48), draw.int(6, 48))
        layers = [random_layer(draw) for _ in range(draw.int(1, 6))]
        expected = reference_shape(shape, layers)
        if expected is not None and len(stacks) < 24:
            stacks.append((shape, layers))
        elif expected is None and len(invalid) < 8 and reference_shape(shape, layers[:-1]) is not None:
            invalid.append((shape, layers))
    for shape, layers in stacks:
        with case("network_output_shape", input_shape=shape, layers=str(layers)):
            got = student.network_output_shape(shape, layers)
            expect_type(got, tuple, "network_output_shape(...)")
            expect(len(got) == 3 and all(type(v) is int for v in got),
                   f"network_output_shape(...) should be a tuple of 3 ints, got {got!r}")
            expect_equal(got, reference_shape(shape, layers), "network_output_shape(...)")
    for shape, layers in invalid:
        with case("network_output_shape where the last layer does not fit", input_shape=shape, layers=str(layers)):
            try:
                got = student.network_output_shape(shape, layers)
            except StudentRaised as raised:
                raised_name = raised.type_name.rsplit(".", 1)[-1]
                expect(raised.type_name == "builtins.ValueError",
                       f"it should raise ValueError, but raised {raised_name}: {raised.message}")
                continue
            fail(f"returned {got!r}, but the last layer does not fit into its input: raise ValueError")


# ---------------------------------------------------------------- Part 6

MAX_PARAMETERS = 20_000
MIN_ACCURACY = 0.985
AIM_SECONDS, LIMIT_SECONDS = 60, 180


@judge.part("test_cnn")
def cnn(student, draw):
    with case("build_cnn()"):
        fresh = student.build_cnn.invoke(keep=True).value
        expect(is_module(student, fresh), f"build_cnn() should return an nn.Module, got a {short_type(fresh)}")
        kinds = [m.type_name for m in student.module("builtins.list")(fresh.attr("modules")())]
        expect(any(kind.endswith("Conv2d") for kind in kinds), "this part asks for a convolutional network: "
                                                               "use nn.Conv2d")
    seed = draw.new_seed()
    with case("train_cnn on a seed of the grader's", seed=seed):
        model = train_in_kernel(student, "train_cnn", seed, aim_s=AIM_SECONDS, limit_s=LIMIT_SECONDS,
                                timeout_s=3 * LIMIT_SECONDS)
        kinds = [m.type_name for m in student.module("builtins.list")(model.attr("modules")())]
        expect(any(kind.endswith("Conv2d") for kind in kinds), "the trained model has no nn.Conv2d")
        parameters = student.module("builtins.list")(model.attr("parameters")())
        built = student.module("builtins.list")(fresh.attr("parameters")())
        expect([tuple(p.shape) for p in parameters] == [tuple(p.shape) for p in built],
               "train_cnn should train the network that build_cnn() builds (their parameters differ)")
        count = sum(p.numel() for p in parameters)
        expect(count <= MAX_PARAMETERS,
               f"the network has {count:,} parameters; at most {MAX_PARAMETERS:,} are allowed")
        images, labels = image_tensors(load_mnist(train=False))
        accuracy = judged_accuracy(student, model, kernel_test_images(student, "load_mnist", images,
                                                                      "the MNIST test images"), labels)
        expect(accuracy >= MIN_ACCURACY, f"test accuracy {accuracy:.2%}; at least {MIN_ACCURACY:.1%} is required")
