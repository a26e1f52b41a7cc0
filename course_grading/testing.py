"""Helpers for hidden tests: exact types, closeness by our own arithmetic, private RNGs, forbidden calls.

Hidden tests import this module; they never rely on what a submission could have rebound
(`torch.allclose`, `np.testing`, the global RNG). Nothing here knows any assignment's answer.

    from course_grading import testing as T
    gen = T.rng(1234)
    T.assert_type(out, torch.Tensor)
    T.assert_close(out, expected, atol=1e-6, name="conv2d output")
    with T.forbidden(F.conv2d, torch.conv2d):
        out = student_conv2d(x, w)
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.overrides import TorchFunctionMode, resolve_name


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
