"""Hidden tests for a student's optimizer: step for step against PyTorch's, and written by the student.

One call checks a `torch.optim.Optimizer` subclass against the PyTorch optimizer it re-implements:

    from course_grading.optim_check import check_optimizer
    check_optimizer(Adam, torch.optim.Adam, cases, name="Adam")

Each case (`Case`) runs both optimizers on identical copies of a few randomly shaped parameters split into
parameter groups, with the same random gradients: `None`, zero, mostly-zero or of very different scales,
written into the existing `p.grad` now and then; one step goes through a closure and every group's lr drops
mid-run. After every step the parameters must agree, keep their dtype, and `p.grad` must be unchanged.
The student's class must subclass `torch.optim.Optimizer` directly, and neither its constructor nor `step()`
may reach torch/optim's own algorithm files (watched with `sys.setprofile`) or the fused kernels. At the end
`zero_grad()` must clear the gradients, `self.state` be keyed by the parameters, and no attribute hold a
torch.optim optimizer. Nothing here knows the update rules: the reference is PyTorch's own class.

For visible tests, `trace(opt, p, grads)` records a one-number parameter step by step and
`check_closure(opt, w)` checks `step(closure)`.
"""
from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

import torch

from . import testing as T

Hyper = dict[str, Any]

_OPTIM_DIR = os.path.dirname(torch.optim.__file__) + os.sep
_BASE_FILES = ("optimizer.py", "__init__.py")  # torch/optim files a student's optimizer may run through
_FUSED = tuple(getattr(torch, n) for n in ("_fused_sgd_", "_fused_adagrad_", "_fused_adam_", "_fused_adamw_")
               if hasattr(torch, n))
_SHAPES = [(), (1,), (5,), (3, 4), (2, 3, 3, 3), (4, 1), (7,), (2, 2, 2)]
_CLOSURE_STEP = 4


class Case(TypedDict):
    """One hidden run: constructor keyword arguments, and one dict of overrides per parameter group."""

    seed: int
    dtype: torch.dtype
    steps: int
    defaults: Hyper
    groups: list[Hyper]


def _every_parameter(hyper: Hyper) -> bool:
    return True


def check_optimizer(cls: Any, reference_cls: type[torch.optim.Optimizer], cases: Sequence[Case], *,
                    name: str, stateful: Callable[[Hyper], bool] = _every_parameter) -> None:
    """Raise AssertionError unless `cls` is its own `torch.optim.Optimizer` that matches `reference_cls`.

    `name` is the class's name in the messages. `stateful(hyper)` says whether a parameter whose group has
    the hyper-parameters `hyper` (defaults and overrides merged) must keep something in `self.state[p]`.
    """
    _check_class(cls, name)
    for number, case in enumerate(cases, 1):
        _Run(cls, reference_cls, name, number, case).check(stateful)



def trace(optimizer: torch.optim.Optimizer, parameter: torch.Tensor, gradients: Sequence[float]) -> list[float]:
    """Feed `gradients` to a one-number `parameter`, one `optimizer.step()` each; its value after every step."""
    values = []
    for gradient in gradients:
        parameter.grad = torch.tensor(gradient)
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
    assert isinstance(returned, torch.Tensor) and returned.item() == 9.0, \
        f"step(closure) must return the loss the closure returned (9.0), got {returned!r}"
    optimizer.zero_grad()
    assert w.grad is None, "zero_grad() comes from torch.optim.Optimizer: do not override it"

def _check_class(cls: Any, name: str) -> None:
    assert isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer), \
        f"{name} must be a class that subclasses torch.optim.Optimizer"
    borrowed = [c.__qualname__ for c in cls.__mro__
                if c.__module__.startswith("torch") and c is not torch.optim.Optimizer]
    assert not borrowed, f"{name} must subclass torch.optim.Optimizer directly, not {borrowed[0]}"


def _watched(what: str, fn: Callable[[], Any]) -> Any:
    """fn(), failing if it reaches torch.optim's own algorithms (anything in torch/optim except the base class)."""
    reached: list[str] = []

    def profile(frame: Any, event: str, arg: Any) -> None:
        path = frame.f_code.co_filename
        if event == "call" and path.startswith(_OPTIM_DIR) and os.path.basename(path) not in _BASE_FILES:
            reached.append(f"{frame.f_code.co_name} in torch/optim/{os.path.basename(path)}")

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        with T.forbidden(*_FUSED):
            result = fn()
    finally:
        sys.setprofile(previous)
    assert not reached, f"{what} must run your own code, but it calls PyTorch's implementation ({reached[0]})"
    return result


def _closure_for(opt: torch.optim.Optimizer, params: list[torch.Tensor],
                 targets: list[torch.Tensor]) -> Callable[[], torch.Tensor]:
    """A closure over every parameter but the first (which never has a gradient)."""
    def _hidden_closure() -> torch.Tensor:
        opt.zero_grad()
        loss = torch.zeros((), dtype=params[1].dtype)
        for p, t in zip(params[1:], targets[1:]):
            loss = loss + 0.5 * ((p - t) ** 2).sum()
        loss.backward()
        return loss
    return _hidden_closure


@dataclass
class _Problem:
    """Random parameters for one case; parameter i belongs to group i % len(groups)."""

    start: list[torch.Tensor]
    targets: list[torch.Tensor]
    owner: list[int]
    scales: list[float]
    sparse: list[bool]

    @classmethod
    def draw(cls, r: random.Random, gen: torch.Generator, dtype: torch.dtype, groups: int) -> _Problem:
        count = r.randint(groups + 2, groups + 4)
        shapes = [r.choice(_SHAPES) for _ in range(count)]
        start = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
        targets = [torch.randn(s, generator=gen, dtype=dtype) for s in shapes]
        owner = [i % groups for i in range(count)]  # parameter 0 never gets a gradient, parameter 1 now and then
        scales = [r.choice([1e-3, 0.1, 1.0, 10.0]) for _ in shapes]
        sparse = [r.random() < 0.4 for _ in shapes]
        return cls(start, targets, owner, scales, sparse)

    def copies(self) -> list[torch.Tensor]:
        return [p.clone().requires_grad_(True) for p in self.start]

    def param_groups(self, params: list[torch.Tensor], groups: list[Hyper]) -> list[Hyper]:
        return [{"params": [p for p, k in zip(params, self.owner) if k == g], **hyper}
                for g, hyper in enumerate(groups)]


class _Run:
    """The student's optimizer and PyTorch's, stepped side by side through one case."""

    def __init__(self, cls: type, reference_cls: type, name: str, number: int, case: Case):
        self.name, self.number, self.case = name, number, case
        self.dtype, self.groups, self.defaults = case["dtype"], case["groups"], case["defaults"]
        self.atol, self.rtol = (1e-10, 1e-9) if self.dtype == torch.float64 else (2e-5, 1e-4)
        self.r, self.gen = T.py_rng(case["seed"]), T.rng(case["seed"])
        self.problem = _Problem.draw(self.r, self.gen, self.dtype, len(self.groups))
        self.mine, self.ref = self.problem.copies(), self.problem.copies()
        self.opt = _watched(f"{name}(...)",
                            lambda: cls(self.problem.param_groups(self.mine, self.groups), **self.defaults))
        self.ref_opt = reference_cls(self.problem.param_groups(self.ref, self.groups), **self.defaults, foreach=False)
        T.assert_type(self.opt, cls, f"{name}(...)")

    def check(self, stateful: Callable[[Hyper], bool]) -> None:
        steps = self.case["steps"]
        for step in range(1, steps + 1):
            where = (f"{self.name}, hidden case {self.number} ({self.dtype}, {len(self.groups)} parameter group(s)), "
                     f"after step {step}")
            if step == steps // 2:  # a learning-rate schedule changes every group's lr between two steps
                self._scale_lr(0.3)
            if step == _CLOSURE_STEP:
                self._closure_step(where)
            else:
                self._gradient_step(where)
            self._compare_params(where)
        self._check_after(stateful)

    def _scale_lr(self, factor: float) -> None:
        for o in (self.opt, self.ref_opt):
            for group in o.param_groups:
                group["lr"] = group["lr"] * factor

    def _closure_step(self, where: str) -> None:
        targets = self.problem.targets
        got = _watched(f"{self.name}.step(closure)", lambda: self.opt.step(_closure_for(self.opt, self.mine, targets)))
        want = self.ref_opt.step(_closure_for(self.ref_opt, self.ref, targets))
        assert isinstance(got, torch.Tensor), f"{where}: step(closure) must return the loss the closure returned"
        T.assert_close(got, want, atol=self.atol, rtol=self.rtol, name=f"{where}: the value returned by step(closure)")

    def _gradient_step(self, where: str) -> None:
        given = [self._set_gradient(i, a, b) for i, (a, b) in enumerate(zip(self.mine, self.ref))]
        _watched(f"{self.name}.step()", self.opt.step)
        self.ref_opt.step()
        for i, g in enumerate(given):
            if g is not None:
                T.assert_close(self.mine[i].grad, g, atol=0.0, rtol=0.0,
                               name=f"{where}: p.grad of parameter {i} (step() must not change the gradients)")

    def _set_gradient(self, i: int, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor | None:
        """The same gradient (or None) for parameter i of both optimizers; returns it."""
        r, gen, dtype = self.r, self.gen, self.dtype
        if i == 0 or (i == 1 and r.random() < 0.35):
            a.grad = b.grad = None
            return None
        g = torch.randn(a.shape, generator=gen, dtype=dtype) * self.problem.scales[i]
        if self.problem.sparse[i]:
            g = g * (torch.rand(a.shape, generator=gen) < 0.25).to(dtype)
        if r.random() < 0.08:
            g = torch.zeros_like(g)
        if a.grad is not None and b.grad is not None and r.random() < 0.5:
            a.grad.copy_(g)  # written into the existing tensor, as zero_grad(set_to_none=False) + backward() do
            b.grad.copy_(g)
        else:
            a.grad, b.grad = g.clone(), g.clone()
        return g

    def _compare_params(self, where: str) -> None:
        owner = self.problem.owner
        for i, (a, b) in enumerate(zip(self.mine, self.ref)):
            assert a.dtype == self.dtype, f"{where}: parameter {i} changed its dtype to {a.dtype}"
            group = f"group {owner[i]}, {self.groups[owner[i]]}"
            T.assert_close(a, b, atol=self.atol, rtol=self.rtol,
                           name=f"{where}: parameter {i} (shape {tuple(a.shape)}, {group})")

    def _check_after(self, stateful: Callable[[Hyper], bool]) -> None:
        name, opt, mine = self.name, self.opt, self.mine
        opt.zero_grad()
        assert all(p.grad is None for p in mine), f"{name}: zero_grad() (inherited) must set every p.grad to None"
        assert all(any(k is p for p in mine) for k in opt.state.keys()), \
            f"{name}: self.state must be keyed by the parameters"
        for i, p in enumerate(mine):
            if i > 0 and stateful({**self.defaults, **self.groups[self.problem.owner[i]]}):
                assert p in opt.state and len(opt.state[p]) > 0, \
                    f"{name}: keep each parameter's running quantities in self.state[p] (found none for parameter {i})"
        _check_no_torch_optimizer(opt, name)


def _check_no_torch_optimizer(opt: torch.optim.Optimizer, name: str) -> None:
    """No attribute (nor a dict, list or tuple in one) holds another torch.optim optimizer to delegate to."""
    for key, value in vars(opt).items():
        assert not any(isinstance(v, torch.optim.Optimizer) for v in _contents(value)), \
            f"{name}: the attribute {key!r} holds a torch.optim optimizer; write the update yourself"


def _contents(value: Any) -> list[Any]:
    """The value itself, or what a dict, list or tuple holds (one level deep)."""
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]
