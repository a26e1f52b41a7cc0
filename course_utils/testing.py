"""Helpers for the visible tests of the assignments: exact types, closeness, forbidden shortcuts.

Students see and may use these too; they decide nothing at grading time (the grader judges every
part from outside the student's notebook). Nothing here knows any assignment's answer.

    from course_utils import testing as T
    T.assert_type(out, torch.Tensor)
    T.assert_close(out, expected, atol=1e-6, name="conv2d output")
    with T.forbidden("convolution"):        # fail if PyTorch's own convolution runs inside
        out = my_conv2d(x, w)
    T.assert_close(T.trace(opt, p, [1.0, 1.0]), [0.9, 0.8])
"""
from __future__ import annotations

import math
import os
import random
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch

_SHOW_ALL = 10  # assert_close prints whole values up to this many numbers

# PyTorch's own implementations of what assignments ask students to write, by family. Names are what
# `record_calls` sees: `aten.<op>` / `torchvision.<op>` operators (every spelling of a function ends in
# one of these), `torch.<...>` Python-level torch functions, and `py:<module>.<function>` library code.
_ATEN = {
    "convolution": "convolution _convolution conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d "
                   "mkldnn_convolution cudnn_convolution cudnn_convolution_transpose miopen_convolution thnn_conv2d "
                   "_slow_conv2d_forward slow_conv3d slow_conv_dilated2d slow_conv_transpose2d _conv_depthwise2d "
                   "convolution_backward conv_tbc",
    "pooling": "max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices "
               "max_pool3d_with_indices avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d "
               "adaptive_avg_pool3d _adaptive_avg_pool2d _adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
               "adaptive_max_pool3d fractional_max_pool2d fractional_max_pool3d mkldnn_max_pool2d quantized_max_pool2d",
    "normalization": "batch_norm native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_no_training "
                     "_native_batch_norm_legit_functional _batch_norm_with_update _batch_norm_with_update_functional "
                     "_batch_norm_no_update _batch_norm_impl_index cudnn_batch_norm miopen_batch_norm batch_norm_stats "
                     "batch_norm_elemt batch_norm_update_stats native_batch_norm_backward instance_norm layer_norm "
                     "native_layer_norm group_norm native_group_norm rms_norm _fused_rms_norm",
    "dropout": "dropout native_dropout _fused_dropout feature_dropout alpha_dropout feature_alpha_dropout",
    "upsampling": "upsample_nearest1d upsample_nearest2d upsample_nearest3d _upsample_nearest_exact1d "
                  "_upsample_nearest_exact2d _upsample_nearest_exact3d upsample_linear1d upsample_bilinear2d "
                  "_upsample_bilinear2d_aa upsample_bicubic2d _upsample_bicubic2d_aa upsample_trilinear3d "
                  "pixel_shuffle",
    "unpooling": "max_unpool2d max_unpool3d",
}
_PYTHON = {
    "dropout": "torch.nn.functional.dropout torch.nn.functional.dropout1d torch.nn.functional.dropout2d "
               "torch.nn.functional.dropout3d torch.nn.functional.alpha_dropout "
               "torch.nn.functional.feature_alpha_dropout "
               "torch.dropout torch.alpha_dropout torch.feature_dropout torch.feature_alpha_dropout "
               "torch.Tensor.dropout",
    "upsampling": "torch.nn.functional.interpolate torch.nn.functional.upsample torch.nn.functional.upsample_nearest "
                  "torch.nn.functional.upsample_bilinear torch.nn.functional.pixel_shuffle",
    "unpooling": "torch.nn.functional.max_unpool1d torch.nn.functional.max_unpool2d torch.nn.functional.max_unpool3d",
    "box operations": "py:torchvision.ops.boxes.box_iou py:torchvision.ops.boxes._box_inter_union "
                      "py:torchvision.ops.boxes.generalized_box_iou py:torchvision.ops.boxes.nms "
                      "py:torchvision.ops.boxes.batched_nms py:torchvision.ops.boxes._batched_nms_vanilla "
                      "py:torchvision.ops.boxes._batched_nms_coordinate_trick torchvision.nms",
    "autograd": "torch.Tensor.backward torch.autograd.grad torch.autograd.backward",
    "optimizers": "py:torch.optim.sgd.sgd py:torch.optim.adam.adam py:torch.optim.adagrad.adagrad "
                  "py:torch.optim.rmsprop.rmsprop py:torch.optim.adamw.adamw torch._fused_sgd_ torch._fused_adam_ "
                  "torch._fused_adamw_ torch._fused_adagrad_",
}
FAMILIES: dict[str, frozenset[str]] = {
    family: frozenset([f"aten.{op}" for op in _ATEN.get(family, "").split()] + _PYTHON.get(family, "").split())
    for family in sorted(set(_ATEN) | set(_PYTHON))
}
_LIBRARIES = tuple(os.path.dirname(m.__file__) + os.sep for m in (torch,))


def implementations(*families: str) -> frozenset[str]:
    """The names in these families (see FAMILIES); an argument that names no family is taken as a name
    itself (`"aten.mm"`, `"torch.nn.functional.relu"`)."""
    names: set[str] = set()
    for family in families:
        if family in FAMILIES:
            names |= FAMILIES[family]
        elif "." in family:
            names.add(family)
        else:
            raise ValueError(f"unknown family {family!r}; choose from {sorted(FAMILIES)} or give a dotted name")
    return frozenset(names)


@contextmanager
def record_calls(python_level: bool = True) -> Iterator[set[str]]:
    """Collect the names of what PyTorch runs inside the block: operators (`aten.convolution`), torch
    functions (`torch.nn.functional.dropout`) and, with `python_level`, torch/torchvision library
    functions (`py:torchvision.ops.boxes.box_iou`), including calls made during backward."""
    from torch.overrides import TorchFunctionMode, resolve_name
    from torch.utils._python_dispatch import TorchDispatchMode
    names: set[str] = set()

    class Operators(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            names.add(f"{func.namespace}.{func.overloadpacket.__name__}")
            return func(*args, **(kwargs or {}))

    class Functions(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            names.add(resolve_name(func) or f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', '?')}")
            return func(*args, **(kwargs or {}))

    libraries = _LIBRARIES + tuple(os.path.dirname(m.__file__) + os.sep for m in
                                   [sys.modules.get("torchvision")] if m is not None)

    def profile(frame: Any, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(libraries):
            names.add(f"py:{frame.f_globals.get('__name__', '?')}.{frame.f_code.co_name}")

    previous = sys.getprofile()
    if python_level:
        sys.setprofile(profile)
    try:
        with Functions(), Operators():
            yield names
    finally:
        if python_level:
            sys.setprofile(previous)


@contextmanager
def forbidden(*families: str) -> Iterator[None]:
    """Fail if PyTorch's own implementation of one of these families (or one of these names) runs inside
    the block, e.g. `forbidden("convolution")` when the task is to write a convolution."""
    banned = implementations(*families)
    with record_calls() as names:
        yield
    used = sorted(names & banned)
    if used:
        raise AssertionError(f"this part must be implemented without PyTorch's own {' / '.join(families)} "
                             f"(it ran {', '.join(used[:3])})")


def rng(seed: int) -> torch.Generator:
    """A private torch generator, independent of the global seed."""
    return torch.Generator().manual_seed(seed)


def py_rng(seed: int) -> random.Random:
    """A private Python RNG for shapes and other integers."""
    return random.Random(seed)


def assert_type(value: Any, expected: type, name: str = "result") -> None:
    """Exactly `expected` (a subclass or a NumPy array where a tensor is due is an error)."""
    if type(value) is not expected:
        raise AssertionError(f"{name} should be a {expected.__module__}.{expected.__qualname__}, "
                             f"got {type(value).__module__}.{type(value).__qualname__}")


def _floats(value: Any) -> tuple[list[float], tuple[int, ...]]:
    if isinstance(value, torch.Tensor):
        return [float(v) for v in value.detach().cpu().double().reshape(-1).tolist()], tuple(value.shape)
    if isinstance(value, (int, float)):
        return [float(value)], ()
    flat = torch.as_tensor(value, dtype=torch.float64)
    return [float(v) for v in flat.reshape(-1).tolist()], tuple(flat.shape)


def assert_close(actual: Any, expected: Any, atol: float = 1e-6, rtol: float = 1e-5, name: str = "result") -> None:
    """Same shape, and every element within `atol + rtol·|expected|`."""
    got, got_shape = _floats(actual)
    want, want_shape = _floats(expected)
    if got_shape != want_shape:
        raise AssertionError(f"{name} has shape {got_shape}, expected {want_shape}")
    worst, where = 0.0, None
    for i, (g, w) in enumerate(zip(got, want)):
        if math.isnan(g) != math.isnan(w) or (not math.isnan(w) and math.isinf(w) and g != w):
            raise AssertionError(f"{name}[{i}] is {g}, expected {w}")
        excess = abs(g - w) - (atol + rtol * abs(w)) if math.isfinite(w) else 0.0
        if excess > worst or math.isnan(excess):
            worst, where = excess, i
    if where is not None:
        if len(want) <= _SHOW_ALL:
            raise AssertionError(f"{name}: expected {[float(f'{w:.6g}') for w in want]}, "
                                 f"got {[float(f'{g:.6g}') for g in got]} (tolerance atol={atol}, rtol={rtol})")
        raise AssertionError(f"{name} differs from the expected value: element {where} is {got[where]!r}, "
                             f"expected {want[where]!r} (tolerance atol={atol}, rtol={rtol})")


def timed_training(train: Callable[[int], Any], seed: int = 0, aim_s: float = 60,
                   limit_s: float = 180) -> tuple[torch.nn.Module, float]:
    """Call `train(seed)` as the grader does: it must return an nn.Module; prints the time, warns past `aim_s`
    and fails past `limit_s` (on a busy machine the CPU time counts, with several threads the wall-clock time).
    Returns the model and the wall-clock seconds."""
    started, cpu_started = time.perf_counter(), time.process_time()
    model = train(seed)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    name = getattr(train, "__name__", "train")
    if not isinstance(model, torch.nn.Module):
        raise AssertionError(f"{name}(seed) should return the trained nn.Module, got {type(model).__name__}")
    print(f"{name}({seed}) trained in {seconds:.1f} s ({cpu_seconds:.1f} s of CPU time)")
    if seconds > aim_s:
        print(f"warning: training took {seconds:.1f} s here; aim for about {aim_s:.0f} s or less on your machine")
    if min(seconds, cpu_seconds) > limit_s:
        raise AssertionError(f"training took {seconds:.1f} s ({cpu_seconds:.1f} s of CPU time); the grader fails "
                             f"more than {limit_s:.0f} s")
    return model, seconds


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: int = 10,
             batch_size: int = 1000) -> float:
    """The fraction of `images` that `model` (in eval mode, on its own device) classifies as `labels`."""
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(labels), batch_size):
        batch_labels = labels[start:start + batch_size]
        logits = model(images[start:start + batch_size].to(device))
        assert_type(logits, torch.Tensor, name="the model's output")
        if tuple(logits.shape) != (len(batch_labels), classes):
            raise AssertionError(f"the model's output for a batch of {len(batch_labels)} images has shape "
                                 f"{tuple(logits.shape)}, expected ({len(batch_labels)}, {classes})")
        correct += int((logits.float().argmax(dim=1).cpu() == batch_labels).sum())
    return correct / len(labels)


def trace(optimizer: torch.optim.Optimizer, parameter: torch.Tensor, gradients: Sequence[float]) -> list[float]:
    """Feed `gradients` to a one-number `parameter`, one `optimizer.step()` each; its value after every step."""
    values = []
    for gradient in gradients:
        parameter.grad = torch.tensor(gradient, dtype=parameter.dtype)
        optimizer.step()
        values.append(parameter.item())
    return values


def check_closure(optimizer: torch.optim.Optimizer, w: torch.Tensor) -> None:
    """With w = tensor([3.0]): step(closure) must run the closure with autograd on and return its loss, 9;
    zero_grad() (inherited from torch.optim.Optimizer) must then clear w.grad."""
    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        loss = (w ** 2).sum()
        loss.backward()
        return loss

    try:
        returned = optimizer.step(closure)
    except RuntimeError as error:
        raise AssertionError(f"step(closure) failed ({error}). step() runs under torch.no_grad(): call the closure "
                             "inside `with torch.enable_grad():`") from None
    if not (isinstance(returned, torch.Tensor) and returned.item() == 9.0):
        raise AssertionError(f"step(closure) must return the loss the closure returned (9.0), got {returned!r}")
    optimizer.zero_grad()
    if w.grad is not None:
        raise AssertionError("zero_grad() comes from torch.optim.Optimizer: do not override it")
