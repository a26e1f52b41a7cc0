"""Helpers for assignment tests: exact types, closeness by our own arithmetic, private RNGs, forbidden calls.

Hidden tests import this module; they never rely on what a submission could have rebound
(`torch.allclose`, `np.testing`, the global RNG). Nothing here knows any assignment's answer.

    from course_grading import testing as T
    gen = T.rng(1234)
    T.assert_type(out, torch.Tensor)
    T.assert_close(out, expected, atol=1e-6, name="conv2d output")
    with T.forbidden(*T.pytorch_implementations("convolution")):
        out = student_conv2d(x, w)
    assert T.accuracy(model, images, labels) >= 0.98
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.overrides import TorchFunctionMode, resolve_name

_SHOW_ALL = 10  # assert_close prints whole values up to this many numbers


def rng(seed: int) -> torch.Generator:
    """A private torch generator: hidden inputs do not depend on (or disturb) the student's seeding."""
    return torch.Generator().manual_seed(seed)


def py_rng(seed: int) -> random.Random:
    """A private Python RNG for shapes, strides and other integers."""
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
    """Same shape, and every element within `atol + rtol·|expected|`, computed here in plain Python."""
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


class _Forbid(TorchFunctionMode):
    def __init__(self, functions: tuple[Callable, ...]):
        super().__init__()
        self.functions = functions

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if any(func is f for f in self.functions):
            raise AssertionError(f"this part must be implemented without calling {resolve_name(func) or func}")
        return func(*args, **(kwargs or {}))


@contextmanager
def forbidden(*functions: Callable) -> Iterator[None]:
    """Fail any call to one of `functions` (torch functions or Tensor methods) made inside the block.

    Works through `torch.overrides.TorchFunctionMode`, so calls through `nn.Module`s (e.g. nn.Conv2d
    calling F.conv2d) are caught too. Pass both spellings where torch has two (F.relu and torch.relu).
    """
    with _Forbid(functions):
        yield


def torch_callables(*specs: tuple[Any, str], aten: str = "") -> list[Callable]:
    """The callables named in `(namespace, "name name ...")` pairs, plus each named `torch.ops.aten` operator
    with all its overloads (a call through `torch.ops.aten` bypasses the Python-level names).

    Names that this PyTorch version lacks are skipped, so one list works across versions.
    """
    found = [getattr(namespace, name) for namespace, names in specs for name in names.split()
             if hasattr(namespace, name)]
    for name in aten.split():
        if hasattr(torch.ops.aten, name):
            packet = getattr(torch.ops.aten, name)
            found += [packet, *(getattr(packet, overload) for overload in packet.overloads())]
    return found


_F, _NN_C = torch.nn.functional, torch._C._nn
_FAMILIES: dict[str, tuple[list[tuple[Any, str]], str]] = {  # family -> (namespace specs, aten operators)
    "convolution": (
        [(_F, "conv1d conv2d conv3d conv_transpose1d conv_transpose2d conv_transpose3d conv_tbc"),
         (torch, "convolution _convolution _convolution_mode mkldnn_convolution cudnn_convolution conv1d conv2d "
                 "conv3d conv_transpose1d conv_transpose2d conv_transpose3d conv_tbc"),
         (_NN_C, "thnn_conv2d slow_conv3d slow_conv_dilated2d _conv_depthwise2d")],
        "convolution _convolution convolution_backward conv2d mkldnn_convolution thnn_conv2d"),
    "pooling": (
        [(_F, "max_pool1d max_pool2d max_pool3d max_pool1d_with_indices max_pool2d_with_indices "
              "max_pool3d_with_indices avg_pool1d avg_pool2d avg_pool3d adaptive_max_pool1d adaptive_max_pool2d "
              "adaptive_max_pool3d adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d lp_pool1d "
              "lp_pool2d lp_pool3d fractional_max_pool2d"),
         (torch, "max_pool1d max_pool2d max_pool3d max_pool1d_with_indices avg_pool1d mkldnn_max_pool2d "
                 "quantized_max_pool2d _adaptive_avg_pool2d"),
         (_NN_C, "max_pool2d_with_indices max_pool3d_with_indices avg_pool2d avg_pool3d adaptive_max_pool2d "
                 "adaptive_avg_pool2d fractional_max_pool2d")],
        "max_pool2d max_pool2d_with_indices avg_pool2d adaptive_avg_pool2d _adaptive_avg_pool2d "
        "adaptive_max_pool2d mkldnn_max_pool2d"),
    "normalization": (
        [(_F, "batch_norm instance_norm layer_norm group_norm rms_norm local_response_norm"),
         (torch, "batch_norm instance_norm layer_norm group_norm rms_norm native_batch_norm "
                 "_native_batch_norm_legit _native_batch_norm_legit_no_training _batch_norm_impl_index "
                 "batch_norm_elemt batch_norm_stats batch_norm_update_stats batch_norm_gather_stats "
                 "batch_norm_gather_stats_with_counts batch_norm_backward_elemt batch_norm_backward_reduce "
                 "cudnn_batch_norm miopen_batch_norm native_layer_norm native_group_norm quantized_batch_norm "
                 "_fused_rms_norm")],
        "batch_norm native_batch_norm _native_batch_norm_legit _native_batch_norm_legit_functional "
        "_native_batch_norm_legit_no_training _batch_norm_with_update _batch_norm_with_update_functional "
        "_batch_norm_no_update batch_norm_backward native_batch_norm_backward cudnn_batch_norm miopen_batch_norm "
        "instance_norm layer_norm native_layer_norm group_norm native_group_norm rms_norm"),
    "dropout": (
        [(_F, "dropout dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout"),
         (torch, "dropout dropout_ feature_dropout feature_dropout_ alpha_dropout alpha_dropout_ "
                 "feature_alpha_dropout feature_alpha_dropout_ native_dropout _fused_dropout"),
         (torch.Tensor, "dropout")],
        "dropout native_dropout native_dropout_backward _fused_dropout feature_dropout alpha_dropout"),
}


def pytorch_implementations(*families: str) -> list[Callable]:
    """PyTorch's own implementations of what an assignment asks students to write, for `forbidden`:
    any of "convolution", "pooling", "normalization", "dropout" (every spelling: functional, torch, aten)."""
    unknown = set(families) - set(_FAMILIES)
    if unknown:
        raise ValueError(f"unknown families {sorted(unknown)}; choose from {sorted(_FAMILIES)}")
    found = []
    for family in families:
        specs, aten = _FAMILIES[family]
        found += torch_callables(*specs, aten=aten)
    return found


@torch.no_grad()
def accuracy(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor, classes: int = 10,
             batch_size: int = 1000) -> float:
    """The fraction of `images` that `model`, switched to eval mode and on its own device, classifies as `labels`.

    Checks that every output is a tensor of logits of shape (batch, classes); counts in plain Python.
    """
    model.eval()
    device = next(model.parameters()).device
    correct = 0
    for start in range(0, len(labels), batch_size):
        batch_labels = labels[start:start + batch_size].tolist()
        logits = model(images[start:start + batch_size].to(device))
        assert_type(logits, torch.Tensor, name="the model's output")
        if tuple(logits.shape) != (len(batch_labels), classes):
            raise AssertionError(f"the model's output for a batch of {len(batch_labels)} images has shape "
                                 f"{tuple(logits.shape)}, expected ({len(batch_labels)}, {classes})")
        predicted = logits.float().argmax(dim=1).cpu().tolist()
        correct += sum(int(p == t) for p, t in zip(predicted, batch_labels))
    return correct / len(labels)
