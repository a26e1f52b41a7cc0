"""Hidden tests of Assignment 05, judged in the grader's process (instructor only, never released).

Parts 1-4 step the student's optimizer and PyTorch's side by side (`step_side_by_side`, one helper for the
four classes): the student's class runs in the kernel on parameters built there, PyTorch's runs here on
identical copies with the same gradients (None, zero, mostly zero, of very different scales, written into
the existing p.grad now and then, made by a closure's backward()), with parameter groups, a scheduler that
changes every lr mid-run, float32 and float64; the parameters are read back after every step. The class must
subclass torch.optim.Optimizer and no other torch optimizer (asked with issubclass in the kernel), and the
operators it runs are recorded to catch PyTorch's own optimizers. The gradients of a run are known in
advance, so the requests of all its steps travel together (`Batch`): a part takes six round trips in all.
A failure that a catalogued mistake explains names it: the mistakes are the update rules written out here
with one slip each (`Written`), replayed only when a comparison fails.

Part 5 calls `steps_to_reach` with optimizers and losses made in the kernel from PyTorch's own functions
(functools.partial of a torch.optim class, of F.gaussian_nll_loss), and counts the optimizer steps it takes
with a global step hook. Part 6 checks `train_mlp` against a reference training here (same data, same
initial weights, same batch order, one thread), `lr_sweep` against it, and re-measures two entries of the
student's `SWEEPS` with the student's `train_mlp`.

(No `from __future__ import annotations` here: `load_judge` runs this file without registering it in
sys.modules, and dataclasses cannot resolve postponed annotations then.)
"""
import contextlib
import functools
import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from course_grading.judge import (Judge, case, expect, expect_close, expect_equal, expect_no_ops, expect_tensor,
                                  expect_type, fail)
from course_grading.remote import Answers, Batch, Remote, StudentRaised
from course_utils import TensorLoader, image_tensors, load_fashion_mnist
from course_utils.testing import implementations

judge = Judge()
BATCH_TIMEOUT = 300  # seconds for one round trip (a whole optimizer run, or a few trainings)


# ---------------------------------------------------------------- PyTorch's own optimizers

OPTIMIZER_OPS = implementations("optimizers")
BASE_MODULES = {"torch.optim", "torch.optim.optimizer", "torch.optim.lr_scheduler"}
TORCH_OPTIMIZERS = sorted(name for name, cls in vars(torch.optim).items()
                          if isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)
                          and cls is not torch.optim.Optimizer)


def borrowed(ops: set[str]) -> set[str]:
    """What a call ran of PyTorch's optimizers: the fused kernels and functional forms of the "optimizers"
    family, and any function of torch.optim outside the base class and the schedulers."""
    return {op for op in ops if op in OPTIMIZER_OPS
            or (op.startswith("py:torch.optim.") and op[3:].rsplit(".", 1)[0] not in BASE_MODULES)}


# ---------------------------------------------------------------- runs: what happens at each step

LR_DROP = 0.3  # a StepLR scheduler multiplies every group's lr by this once, mid-run
SHAPES = [(), (1,), (5,), (3, 4), (2, 3, 3, 3), (4, 1), (7,), (2, 2, 2)]


@dataclass
class Step:
    """One optimizer step. `grads[i]` is None (p.grad is None) or (how, gradient) with how one of
    "new" (a new tensor), "into" (written into the tensor that is already p.grad), "closure" (the
    closure's backward() makes it)."""
    grads: list[tuple[str, torch.Tensor] | None]
    closure: str | None = None  # "backward": the closure computes the gradients; "grad mode": it reports it
    lr_drop: bool = False  # the scheduler drops every lr just before this step

    def describe(self) -> str:
        events = []
        if self.lr_drop:
            events.append(f"a scheduler has just multiplied every group's lr by {LR_DROP}")
        if self.closure == "backward":
            events.append("through step(closure); the closure's backward() makes the gradients")
        elif self.closure == "grad mode":
            events.append("through step(closure)")
        missing = [i for i, g in enumerate(self.grads) if g is None]
        if missing and self.closure != "backward":
            events.append(f"p.grad is None for parameter{'s' if len(missing) > 1 else ''} "
                          f"{', '.join(map(str, missing))}")
        if any(g is not None and g[0] == "into" for g in self.grads):
            events.append("gradients written into the existing p.grad")
        return f" ({'; '.join(events)})" if events else ""


@dataclass
class Run:
    """Parameters (start values, group of each), constructor arguments, group overrides, and the steps."""
    label: str
    dtype: torch.dtype
    defaults: dict[str, Any]
    groups: list[dict[str, Any]]
    start: list[torch.Tensor]
    owner: list[int]
    steps: list[Step]
    variants: dict[str, Any] = field(default_factory=dict)  # mistake -> its parameter values per step

    @functools.cached_property
    def plan(self) -> "GradientPlan":
        return GradientPlan(self)

    @property
    def tolerance(self) -> tuple[float, float]:
        return (1e-10, 1e-9) if self.dtype == torch.float64 else (2e-5, 1e-4)

    def param_groups(self, params: list[Any]) -> list[dict[str, Any]]:
        return [{"params": [p for p, k in zip(params, self.owner) if k == g], **overrides}
                for g, overrides in enumerate(self.groups)]

    def group_text(self, g: int) -> str:
        settings = {**self.defaults, **self.groups[g]}
        return f"group {g}: " + ", ".join(f"{k}={v}" for k, v in settings.items()) if settings else f"group {g}"


def hidden_run(draw: Any, label: str, dtype: torch.dtype, steps: int, defaults: dict, groups: list[dict]) -> Run:
    """Random shapes and gradients: None, zero, mostly-zero or of very different scales, now and then written
    into the existing p.grad; one step through a closure that makes the gradients, one through a closure that
    reports the grad mode, and a scheduler that drops every lr mid-run."""
    r, gen = random.Random(draw.new_seed()), torch.Generator().manual_seed(draw.new_seed())
    count = r.randint(len(groups) + 2, len(groups) + 4)
    shapes = [r.choice(SHAPES) for _ in range(count)]
    start = [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for s in shapes]
    scales = [r.choice([1e-3, 0.1, 1.0, 10.0]) for _ in shapes]
    sparse = [r.random() < 0.4 for _ in shapes]
    backward_at, grad_mode_at = r.randint(3, steps // 2 - 1), r.randint(steps // 2 + 1, steps)
    schedule = []
    for k in range(1, steps + 1):
        grads: list[tuple[str, torch.Tensor] | None] = []
        for i, shape in enumerate(shapes):
            if i == 0 or (i == 1 and r.random() < 0.35):  # parameter 0 never has a gradient
                grads.append(None)
                continue
            g = torch.randn(shape, generator=gen, dtype=torch.float64) * scales[i]
            if sparse[i]:
                g = g * (torch.rand(shape, generator=gen) < 0.25)
            if r.random() < 0.08:
                g = torch.zeros_like(g)
            how = "closure" if k == backward_at else r.choice(["new", "into"])
            grads.append((how, g.to(dtype)))
        closure = "backward" if k == backward_at else "grad mode" if k == grad_mode_at else None
        schedule.append(Step(grads, closure, lr_drop=k == steps // 2))
    return Run(label, dtype, defaults, groups, start, [i % len(groups) for i in range(count)], schedule)


def example_run(label: str, defaults: dict, start: list, grads: list[list], dtype: torch.dtype = torch.float32,
                closures: dict[int, str] | None = None, into: tuple[int, ...] = ()) -> Run:
    """A visible example: one group, given start values and gradients (None: no gradient) per step; at the
    steps in `into` the gradients are written into the existing p.grad."""
    tensors = [torch.tensor(v, dtype=dtype) for v in start]
    steps = []
    for k, row in enumerate(grads, 1):
        how = "closure" if (closures or {}).get(k) == "backward" else "into" if k in into else "new"
        steps.append(Step([None if g is None else (how, torch.tensor(g, dtype=dtype)) for g in row],
                          (closures or {}).get(k)))
    return Run(label, dtype, defaults, [{}], tensors, [0] * len(tensors), steps)


def comparison_run(label: str, defaults: dict, groups: list[dict], split: int, dtype: torch.dtype, seed: int) -> Run:
    """The visible `compare_with_torch` setting: parameters of shapes (3,), (2, 4), (); the first `split` in
    group 0, the rest in group 1; parameter 2 has no gradient every third step; on even steps the
    gradients are written into the existing p.grad."""
    gen = torch.Generator().manual_seed(seed)
    shapes = [(3,), (2, 4), ()]
    start = [torch.randn(s, generator=gen, dtype=torch.float64).to(dtype) for s in shapes]
    steps = []
    for k in range(1, 31):
        steps.append(Step([None if i == 2 and k % 3 == 0 else
                           ("into" if k % 2 == 0 else "new",
                            torch.randn(s, generator=gen, dtype=torch.float64).to(dtype))
                           for i, s in enumerate(shapes)]))
    return Run(label, dtype, defaults, groups, start, [0 if i < split else 1 for i in range(3)], steps)


# ---------------------------------------------------------------- the reference side: replay a run here

class GradientPlan:
    """Where each gradient lives, the same here and in the kernel.

    Two flat buffers, A and B (one tensor of twice the parameters' size), hold the gradients; each
    parameter's p.grad is a view of A or of B. A gradient "written into the existing p.grad" keeps the view
    and changes its values; a "new" gradient switches p.grad to the view of the other buffer. Row k of
    `rows` is the buffers' content at step k (all the gradients of a run travel to the kernel at once).
    """

    def __init__(self, run: "Run"):
        self.shapes = [tuple(p.shape) for p in run.start]
        self.sizes = [p.numel() for p in run.start]
        self.offsets = [sum(self.sizes[:i]) for i in range(len(self.sizes))]
        self.total = sum(self.sizes)
        current: list[Any] = [None] * len(self.shapes)
        # per step and parameter: 0 or 1 (p.grad is a view of A or B), None, "closure"
        self.halves: list[list[Any]] = []
        rows, row = [], torch.zeros(2 * self.total, dtype=run.dtype)
        for step in run.steps:
            row, chosen = row.clone(), []
            for i, given in enumerate(step.grads):
                if step.closure == "backward":
                    current[i] = "closure" if given is not None else None
                elif given is None:
                    current[i] = None
                elif not (given[0] == "into" and current[i] in (0, 1)):
                    current[i] = 1 - current[i] if given[0] == "new" and current[i] in (0, 1) else 0
                chosen.append(current[i])
                if current[i] in (0, 1):
                    row[self.start(current[i], i):self.start(current[i], i) + self.sizes[i]] = given[1].reshape(-1)
            self.halves.append(chosen)
            rows.append(row)
        self.rows = torch.stack(rows) if rows else torch.zeros(0, 2 * self.total, dtype=run.dtype)

    def start(self, half: int, i: int) -> int:
        return half * self.total + self.offsets[i]

    def view(self, buffers: torch.Tensor, half: int, i: int) -> torch.Tensor:
        return torch.as_strided(buffers, self.shapes[i], contiguous_strides(self.shapes[i]), self.start(half, i))

    def writes(self, number: int) -> bool:
        """Whether step `number` (1-based) writes gradients into the buffers."""
        return any(h in (0, 1) for h in self.halves[number - 1])


def contiguous_strides(shape: tuple[int, ...]) -> tuple[int, ...]:
    strides, size = [], 1
    for n in reversed(shape):
        strides.append(size)
        size *= n
    return tuple(reversed(strides))


def make_closure(step: Step, params: list[torch.Tensor]) -> Callable[[], Any]:
    if step.closure == "grad mode":
        return torch.is_grad_enabled
    pairs = [(p, g[1]) for p, g in zip(params, step.grads) if g is not None]
    return lambda: torch.autograd.backward([torch.tensordot(p, g, dims=g.dim()) for p, g in pairs])


def replay(run: "Run",
           make: Callable[[list[dict], dict], torch.optim.Optimizer]) -> list[tuple[list[torch.Tensor], Any]]:
    """(parameter values, what step() returned) after each step of `run`, for the optimizer `make(groups, defaults)`,
    with the gradients handed over exactly as in the kernel."""
    plan = run.plan
    params = [p.clone().requires_grad_(True) for p in run.start]
    buffers = torch.zeros(2 * plan.total, dtype=run.dtype)
    views = [[plan.view(buffers, half, i) for i in range(len(params))] for half in (0, 1)]
    optimizer = make(run.param_groups(params), run.defaults)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1, LR_DROP) if any(s.lr_drop for s in run.steps) else None
    outcome = []
    for number, step in enumerate(run.steps, 1):
        if plan.writes(number):
            buffers.copy_(plan.rows[number - 1])
        for i, (p, half) in enumerate(zip(params, plan.halves[number - 1])):
            p.grad = views[half][i] if half in (0, 1) else None
        if step.lr_drop:
            scheduler.step()
        returned = optimizer.step(make_closure(step, params)) if step.closure else optimizer.step()
        outcome.append(([p.detach().clone() for p in params], returned))
    return outcome


class Written(torch.optim.Optimizer):
    """An update rule written out here with one catalogued mistake switched on (or none). Only used to
    name what a failing answer probably did; verdicts compare with torch.optim."""

    def __init__(self, params: Any, defaults: dict, update: Callable, mistake: str | None):
        super().__init__(params, defaults)
        self.update, self.mistake, self.calls = update, mistake, 0

    def new_state(self, p: torch.Tensor) -> torch.Tensor:
        return torch.zeros(p.shape, dtype=torch.float32) if self.mistake == "float32 state" else torch.zeros_like(p)

    @torch.no_grad()
    def step(self, closure: Callable | None = None) -> Any:
        loss = None
        if closure is not None and self.mistake != "closure last":
            with torch.enable_grad():
                loss = closure()
        self.calls += 1
        for group in self.param_groups:
            hyper = self.defaults if self.mistake == "defaults" else group
            for p in group["params"]:
                grad = p.grad
                if grad is None:
                    if self.mistake != "none as zero":
                        continue
                    grad = torch.zeros_like(p)
                self.update(p, grad, self.state[p], hyper, self)
        if closure is not None and self.mistake == "closure last":
            with torch.enable_grad():
                loss = closure()
        return loss


def sgd_update(p: torch.Tensor, grad: torch.Tensor, state: dict, h: dict, opt: Written) -> None:
    mistake, wd, mu = opt.mistake, h["weight_decay"], h["momentum"]
    g = grad.add(p, alpha=wd) if wd != 0 and mistake != "decay after momentum" else grad
    d = g
    if mu != 0:
        if "buffer" not in state and mistake == "alias":
            state["buffer"] = g
        elif "buffer" not in state:
            state["buffer"] = opt.new_state(p)
            state["buffer"].add_(g, alpha=1 - mu if mistake == "dampening" else 1)
        else:
            state["buffer"].mul_(mu).add_(g, alpha=1 - mu if mistake == "dampening" else 1)
        d = g.add(state["buffer"], alpha=mu) if h["nesterov"] and mistake != "nesterov buffer" else state["buffer"]
    if mistake == "decay after momentum" and wd != 0:
        d = d.add(p, alpha=wd)
    p.add_(d, alpha=-h["lr"])


def adagrad_update(p: torch.Tensor, grad: torch.Tensor, state: dict, h: dict, opt: Written) -> None:
    mistake, wd = opt.mistake, h["weight_decay"]
    g = grad.add(p, alpha=wd) if wd != 0 else grad
    if "sum" not in state:
        state["sum"] = opt.new_state(p)
    square = grad if mistake == "sum without decay" else g
    state["sum"].addcmul_(square, square)
    denom = {"eps inside": lambda s: (s + h["eps"]).sqrt(), "no sqrt": lambda s: s + h["eps"]}.get(
        mistake, lambda s: s.sqrt().add(h["eps"]))(state["sum"])
    p.addcdiv_(g, denom, value=-h["lr"])


def rmsprop_update(p: torch.Tensor, grad: torch.Tensor, state: dict, h: dict, opt: Written) -> None:
    mistake, wd, alpha = opt.mistake, h["weight_decay"], h["alpha"]
    g = grad.add(p, alpha=wd) if wd != 0 else grad
    if "square_avg" not in state:
        state["square_avg"] = opt.new_state(p)
    avg_sq = state["square_avg"]
    if mistake == "no 1 - alpha":
        avg_sq.mul_(alpha).addcmul_(g, g)
    elif mistake == "alpha swapped":
        avg_sq.mul_(1 - alpha).addcmul_(g, g, value=alpha)
    else:
        avg_sq.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    denom = (avg_sq + h["eps"]).sqrt() if mistake == "eps inside" else avg_sq.sqrt().add(h["eps"])
    p.addcdiv_(g, denom, value=-h["lr"])


def adam_update(p: torch.Tensor, grad: torch.Tensor, state: dict, h: dict, opt: Written) -> None:
    mistake, wd, lr, eps, (beta1, beta2) = opt.mistake, h["weight_decay"], h["lr"], h["eps"], h["betas"]
    if "step" not in state:
        state["step"], state["exp_avg"], state["exp_avg_sq"] = 0, opt.new_state(p), opt.new_state(p)
    state["step"] += 1
    t = opt.calls if mistake == "one counter" else state["step"]
    if mistake == "decoupled" and wd != 0:
        p.mul_(1 - lr * wd)
    g = grad.add(p, alpha=wd) if wd != 0 and mistake != "decoupled" else grad
    first, second = state["exp_avg"], state["exp_avg_sq"]
    first.mul_(beta1).add_(g, alpha=1 - beta1)
    second.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
    if mistake == "no bias correction":
        p.addcdiv_(first, second.sqrt().add(eps), value=-lr)
    elif mistake == "correction outside sqrt":
        p.addcdiv_(first, (second.sqrt() / bc2).add_(eps), value=-lr / bc1)
    else:
        p.addcdiv_(first, (second.sqrt() / math.sqrt(bc2)).add_(eps), value=-lr / bc1)


GENERIC_MISTAKES = {
    "float32 state": "the optimizer's state is created in float32 (e.g. torch.zeros(p.shape)) while the parameters "
                     "are float64: create it with torch.zeros_like(p)",
    "defaults": "step() reads the hyper-parameters given to the constructor (or self.defaults) instead of each "
                "parameter group's own values, group[\"lr\"] and so on, which groups and schedulers change",
    "none as zero": "a parameter whose p.grad is None is updated as if its gradient were zero instead of being skipped",
    "closure last": "step() uses p.grad before it calls the closure: call closure() first, it computes the gradients",
}


@dataclass(frozen=True)
class Spec:
    """A student's optimizer class and what it must equal."""
    name: str  # the class, a notebook global
    reference: type[torch.optim.Optimizer]
    defaults: dict[str, Any]  # the constructor's defaults the instructions state
    update: Callable  # the rule written out, for naming mistakes
    mistakes: dict[str, str]  # switch of `update` -> what the student did
    stateful: Callable[[dict], bool] = lambda hyper: True

    def make_reference(self, groups: list[dict], defaults: dict) -> torch.optim.Optimizer:
        return self.reference(groups, **defaults, foreach=False)

    def make_written(self, mistake: str | None) -> Callable[[list[dict], dict], torch.optim.Optimizer]:
        return lambda groups, defaults: Written(groups, {**self.defaults, **defaults}, self.update, mistake)


# ---------------------------------------------------------------- the same runs in the kernel

class KernelRun:
    """One run in the kernel, sent in a few batches (see GradientPlan), and where each of its answers is.
    Bytes are what a round trip costs, so each step is three or four small requests: copy row k into the
    buffers (in place), set p.grad where it changes, step(), and read one vector back: the parameters, then
    the buffers (to see whether step() changed p.grad)."""

    def __init__(self, student: Any, spec: Spec, run: Run):
        self.student, self.spec, self.run, self.plan = student, spec, run, run.plan
        self.pending: dict[str, int] = {}
        self.answers: dict[str, tuple[Answers, int]] = {}
        self.h: dict[str, Any] = {}  # handles
        self.broken = False  # a request its later requests need failed: those are not sent
        self.sent = 0  # steps queued so far

    # bookkeeping
    def ask(self, key: str, index: int) -> None:
        self.pending[key] = index

    def receive(self, answers: Answers) -> None:
        for key, index in self.pending.items():
            self.answers[key] = (answers, index)
        self.pending = {}

    def keep(self, *keys: str) -> None:
        """Handles the next requests need; a failed one marks the run broken."""
        for key in keys:
            answers, index = self.answers[key]
            if answers.ok(index):
                self.h[key] = answers.value(index)
            else:
                self.broken = True

    def value(self, key: str) -> Any:
        answers, index = self.answers[key]
        return answers.value(index)

    def ops(self, key: str) -> set[str]:
        answers, index = self.answers[key]
        return answers.ops(index)

    @property
    def params(self) -> list[Any]:
        return [self.h[f"param {i}"] for i in range(len(self.run.start))]

    def backward_step(self) -> int:
        """The number of the step whose closure makes the gradients, or one past the last step."""
        return next((n for n, s in enumerate(self.run.steps, 1) if s.closure == "backward"), len(self.run.steps) + 1)

    # the batches
    def queue_setup(self, batch: Batch) -> None:
        module = self.student.module
        for i, p in enumerate(self.run.start):
            self.ask(f"param {i}", batch.call(module("torch.nn.Parameter"), p, keep=True))
        self.ask("buffers", batch.call(module("torch.zeros"), 2 * self.plan.total, dtype=self.run.dtype, keep=True))
        self.ask("rows", batch.call(module("torch.clone"), self.plan.rows, keep=True))

    def queue_optimizer(self, batch: Batch, cls: Any) -> None:
        module, run = self.student.module, self.run
        self.keep(*[f"param {i}" for i in range(len(run.start))], "buffers", "rows")
        if self.broken:
            return
        self.ask("optimizer", batch.call(cls, run.param_groups(self.params), **run.defaults, keep=True,
                                         record_ops=True, what=f"{self.spec.name}(...)"))
        for half in (0, 1):
            for i, shape in enumerate(self.plan.shapes):
                self.ask(f"view {half} {i}", batch.call(module("torch.as_strided"), self.h["buffers"], shape,
                                                        contiguous_strides(shape), self.plan.start(half, i), keep=True))

    def queue_methods(self, batch: Batch) -> None:
        self.keep("optimizer", *[key for key in self.answers if key.startswith("view ")])
        if self.broken:
            return
        optimizer = self.h["optimizer"]
        if any(s.lr_drop for s in self.run.steps):
            self.ask("scheduler", batch.call(self.student.module("torch.optim.lr_scheduler.StepLR"), optimizer, 1,
                                             LR_DROP, keep=True,
                                             what="torch.optim.lr_scheduler.StepLR(optimizer, 1, 0.3)"))
        for attribute in ("defaults", "step", "zero_grad", "state"):
            self.ask(attribute, batch.get(optimizer, attribute))

    def queue_steps(self, batch: Batch, until: int, call_step: Any) -> None:
        """The steps before step `until` (1-based) and, if that one's closure makes the gradients, its losses."""
        if self.sent == 0:
            self.keep(*[key for key in ("scheduler", "defaults", "step", "zero_grad", "state") if key in self.answers])
        if self.broken:
            return
        module, params = self.student.module, self.params
        previous: list[Any] = [None] * len(params) if self.sent == 0 else self.plan.halves[self.sent - 1]
        for number in range(self.sent + 1, until):
            step, halves = self.run.steps[number - 1], self.plan.halves[number - 1]
            if self.plan.writes(number):  # row k into the buffers, in place: out= keeps their storage
                batch.call(module("torch.select_copy"), self.h["rows"], 0, number - 1, out=self.h["buffers"],
                           what="writing the gradients")
            for i, (h, before) in enumerate(zip(halves, previous)):
                if h != before and h != "closure":
                    batch.set(params[i], "grad", self.h[f"view {h} {i}"] if h in (0, 1) else None)
            if step.lr_drop:
                batch.call(call_step, self.h["scheduler"], what="the scheduler's step()")
            closure = [] if not step.closure else [self.h["closure"]] if step.closure == "backward" else \
                [module("torch.is_grad_enabled")]
            self.ask(f"step {number}", batch.call(self.h["step"], *closure, record_ops=recorded(number, step),
                                                  what=f"{self.spec.name}.step({'closure' if closure else ''})"))
            self.ask(f"values {number}", batch.call(module("torch.nn.utils.parameters_to_vector"),
                                                    [*params, self.h["buffers"]], no_grad=True,
                                                    what="reading the parameters and gradients"))
            previous = halves
        self.sent = until - 1
        if until <= len(self.run.steps):  # the closure's backward() makes exactly the gradients given
            for i, (p, given) in enumerate(zip(params, self.run.steps[until - 1].grads)):
                batch.set(p, "grad", None)
                if given is not None:
                    self.ask(f"loss {i}", batch.call(module("torch.tensordot"), p, given[1], dims=given[1].dim(),
                                                     keep=True, what="building the closure's loss"))

    def queue_closure(self, batch: Batch) -> None:
        losses = [key for key in self.answers if key.startswith("loss ")]
        self.keep(*losses)
        if not self.broken:
            self.ask("closure", batch.call(self.student.module("functools.partial"),
                                           self.student.module("torch.autograd.backward"),
                                           [self.h[key] for key in losses], keep=True, what="making the closure"))

    def queue_final(self, batch: Batch) -> None:
        """After the last step: the parameters, zero_grad(), the gradients, and the state."""
        module, params, state = self.student.module, self.params, self.h["state"]
        self.ask("final params", batch.call(module("builtins.tuple"), params, what="reading the parameters"))
        self.ask("zero_grad()", batch.call(self.h["zero_grad"], what=f"{self.spec.name}.zero_grad()"))
        for i, p in enumerate(params):
            self.ask(f"final grad {i}", batch.get(p, "grad"))
        self.ask("state size", batch.call(module("builtins.len"), state, what="len(self.state)"))
        for i, p in enumerate(params):
            self.ask(f"state has {i}", batch.call(module("operator.contains"), state, p, what="p in self.state"))
        for i in expected_state(self.spec, self.run):
            self.ask(f"state of {i}", batch.call(module("operator.getitem"), state, params[i], what="self.state[p]"))


def recorded(number: int, step: Step) -> bool:
    """Whether the operators a step runs are recorded (to catch PyTorch's optimizers): recording slows a step
    down several times, and code that hands the update to PyTorch does so at every step, so the first two
    steps, the steps through a closure, and every tenth step are enough."""
    return number <= 2 or step.closure is not None or number % 10 == 0


def expected_state(spec: Spec, run: Run) -> list[int]:
    """The parameters that must have running quantities in self.state after the run."""
    return [i for i in range(len(run.start))
            if any(s.grads[i] is not None for s in run.steps)
            and spec.stateful({**spec.defaults, **run.defaults, **run.groups[run.owner[i]]})]


def step_side_by_side(student: Any, spec: Spec, runs: list[Run]) -> None:
    """The student's `spec.name` in the kernel and `spec.reference` here, through every run: the class and
    the constructor, then after every step the parameters, what step() returned and whether p.grad stayed
    as it was, then the parameters' dtypes, zero_grad() and the state. Fails at the first difference, run
    by run; a difference that a catalogued mistake explains names it."""
    cls, batch = getattr(student, spec.name), student.batch(BATCH_TIMEOUT)
    kernel = [KernelRun(student, spec, run) for run in runs]

    def send(phase: Callable[[KernelRun], None]) -> None:
        live = [k for k in kernel if not k.broken]
        for k in live:
            phase(k)
        answers = batch.send()
        for k in live:
            k.receive(answers)

    is_optimizer = batch.call(student.module("builtins.issubclass"), cls, student.module("torch.optim.Optimizer"),
                              what=f"issubclass({spec.name}, torch.optim.Optimizer)")
    other_classes = {name: batch.call(student.module("builtins.issubclass"), cls, student.module(f"torch.optim.{name}"))
                     for name in TORCH_OPTIMIZERS}
    call_step = batch.call(student.module("operator.methodcaller"), "step", keep=True)
    send(lambda k: k.queue_setup(batch))
    classes = kernel[0].answers["param 0"][0] if kernel else None
    with case(f"the class {spec.name}"):
        check_class(spec, classes, is_optimizer, other_classes)
    call_step = classes.value(call_step)
    send(lambda k: k.queue_optimizer(batch, cls))
    send(lambda k: k.queue_methods(batch))
    send(lambda k: k.queue_steps(batch, k.backward_step(), call_step))
    send(lambda k: k.queue_closure(batch) if k.sent < len(k.run.steps) else None)
    send(lambda k: (k.keep("closure") if "closure" in k.answers else None,
                    k.queue_steps(batch, len(k.run.steps) + 1, call_step) if not k.broken else None,
                    k.queue_final(batch) if not k.broken else None))
    for k in kernel:
        judge_run(spec, k)


def check_class(spec: Spec, answers: Answers, is_optimizer: int, other_classes: dict[str, int]) -> None:
    try:
        subclass = answers.value(is_optimizer)
    except StudentRaised as raised:
        if raised.type_name.endswith("NameError"):
            raise
        fail(f"{spec.name} must be a class that subclasses torch.optim.Optimizer")
    expect(subclass is True, f"{spec.name} must subclass torch.optim.Optimizer")
    for name, index in other_classes.items():
        expect(answers.value(index) is False, f"{spec.name} must subclass torch.optim.Optimizer directly, not "
                                              f"torch.optim.{name}: write the update yourself")


def judge_run(spec: Spec, k: KernelRun) -> None:
    run = k.run
    with case(run.label, dtype=run.dtype, parameters=len(run.start), groups=len(run.groups)):
        for key in list(k.answers)[:len(run.start) + 2]:  # the parameters and buffers
            k.value(key)
        optimizer = k.value("optimizer")
        expect_type(optimizer, spec.name, f"{spec.name}(...)")
        expect_no_ops(k.ops("optimizer"), borrowed(k.ops("optimizer")), f"{spec.name}(...)")
        for key in ("scheduler", "defaults", "step", "zero_grad", "state"):
            if key in k.answers:
                k.value(key)
        defaults, expected = k.value("defaults"), {**spec.defaults, **run.defaults}
        expect(type(defaults) is dict
               and all(key in defaults and defaults[key] == value for key, value in expected.items()),
               f"{spec.name}(...).defaults should hold {expected}, got {defaults!r}"[:400])
        reference = replay(run, spec.make_reference)
        for number, step in enumerate(run.steps, 1):
            with case(f"step {number} of {len(run.steps)}{step.describe()}"):
                if f"step {number}" not in k.answers:
                    raise_first_failure(k)
                check_step(spec, k, number, step, reference[number - 1])
        with case("after the last step"):
            if "zero_grad()" not in k.answers:
                raise_first_failure(k)
            check_final(spec, k)


def raise_first_failure(k: KernelRun) -> None:
    """The run stopped early: raise what stopped it."""
    for key in k.answers:
        k.value(key)
    fail("this run could not be completed in the notebook")


def check_step(spec: Spec, k: KernelRun, number: int, step: Step, reference: tuple[list[torch.Tensor], Any]) -> None:
    run, (want_params, want_returned) = k.run, reference
    returned = k.value(f"step {number}")
    if recorded(number, step):
        ops = k.ops(f"step {number}")
        expect_no_ops(ops, borrowed(ops), f"{spec.name}.step()")
    if step.closure == "backward":
        expect(returned is None,
               f"step(closure) must return what closure() returned (here None), got {returned!r}"[:300])
    elif step.closure == "grad mode":
        expect(returned is not None, "step(closure) must call closure() and return what it returned, got None")
        expect(returned is not False, "step(closure) called the closure with autograd switched off: call it inside "
                                      "`with torch.enable_grad():` (step() itself runs under torch.no_grad())")
        expect(returned is want_returned, f"step(closure) must return what closure() returned ({want_returned!r}), "
                                          f"got {returned!r}"[:300])
    else:
        expect(returned is None, f"step() without a closure must return None, got {returned!r}"[:300])
    vector = k.value(f"values {number}")
    plan = run.plan
    expect(isinstance(vector, torch.Tensor) and vector.numel() == 3 * plan.total,
           "the parameters changed their number of elements")
    atol, rtol = run.tolerance
    for i, (got, want) in enumerate(zip(vector[:plan.total].split(plan.sizes), want_params)):
        where = f"parameter {i} (shape {tuple(want.shape)}, {run.group_text(run.owner[i])})"
        expect_same(got.reshape(want.shape), want, where, atol, rtol, lambda i=i: mistake_values(spec, run, number, i))
    buffers, row = vector[plan.total:], plan.rows[number - 1]
    for i, half in enumerate(plan.halves[number - 1]):
        if half in (0, 1):
            start, end = plan.start(half, i), plan.start(half, i) + plan.sizes[i]
            expect(torch.equal(buffers[start:end], row[start:end]),
                   f"p.grad of parameter {i} changed during step(): never modify p.grad (compute g = p.grad + λθ as "
                   "a new tensor, g = g.add(p, alpha=λ), and keep copies, g.clone(), in the state)")


def expect_same(got: torch.Tensor, want: torch.Tensor, name: str, atol: float, rtol: float,
                mistakes: Callable[[], dict[str, torch.Tensor | None]]) -> None:
    """Every element within atol + rtol·|PyTorch's|; a failure names a catalogued mistake that gives `got`."""
    def close(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a.double() - b.double()).abs() <= atol + rtol * b.double().abs()

    if bool(close(got, want).all()):
        expect(True, name)
        return
    error = (got.double() - want.double()).abs().nan_to_num(nan=math.inf)
    flat = int(torch.argmax(error.reshape(-1)))
    index = tuple(int(v) for v in torch.unravel_index(torch.tensor(flat), want.shape)) if want.dim() else ()
    digits = 15 if want.dtype == torch.float64 else 8
    mistake = next((label for label, value in mistakes().items()
                    if value is not None and value.shape == got.shape and bool(close(got, value).all())), None)
    fail(f"{name} differs from PyTorch's by up to {error.max().item():.3g} (tolerance atol={atol:g}, rtol={rtol:g}); "
         f"at index {index} yours is {got.reshape(-1)[flat].item():.{digits}g}, "
         f"PyTorch's {want.reshape(-1)[flat].item():.{digits}g}", mistake)


def mistake_values(spec: Spec, run: Run, number: int, i: int) -> dict[str, torch.Tensor | None]:
    """What each catalogued mistake gives for parameter i after step `number` (each replayed once per run)."""
    labels = dict(spec.mistakes)
    for switch, label in GENERIC_MISTAKES.items():
        if switch != "float32 state" or run.dtype == torch.float64:
            labels[switch] = label
    values = {}
    for switch, label in labels.items():
        if switch not in run.variants:
            try:
                run.variants[switch] = replay(run, spec.make_written(switch))
            except Exception:  # noqa: BLE001 (a mistaken rule that cannot run this case names nothing)
                run.variants[switch] = None
        outcome = run.variants[switch]
        values[label] = outcome[number - 1][0][i] if outcome is not None else None
    return values


def check_final(spec: Spec, k: KernelRun) -> None:
    run = k.run
    for i, (got, start) in enumerate(zip(k.value("final params"), run.start)):
        expect_tensor(got, f"parameter {i}", parameter=True)
        expect(got.dtype == start.dtype, f"parameter {i} changed its dtype to {str(got.dtype).removeprefix('torch.')}")
    k.value("zero_grad()")
    expect(all(k.value(f"final grad {i}") is None for i in range(len(run.start))),
           "zero_grad() (inherited from torch.optim.Optimizer) must set every p.grad to None: do not override it")
    size = k.value("state size")
    keyed = sum(1 for i in range(len(run.start)) if k.value(f"state has {i}") is True)
    expect(size == keyed, f"self.state has {size} entries but only {keyed} of them are keyed by this optimizer's "
                          "parameters: key it by the parameter tensors, self.state[p]")
    for i in expected_state(spec, run):
        entry = k.value(f"state of {i}")
        expect(type(entry) is dict and len(entry) > 0,
               f"keep each parameter's running quantities in the dict self.state[p] "
               f"(found {entry!r} for parameter {i})"[:300])


# ---------------------------------------------------------------- Parts 1-4: the four optimizers

SGD_SPEC = Spec(
    "SGDMomentum", torch.optim.SGD, {"momentum": 0.0, "weight_decay": 0.0, "nesterov": False}, sgd_update,
    {"nesterov buffer": "Nesterov's direction is the buffer alone (d = b) instead of g + μ·b",
     "dampening": "the buffer is an average, b ← μb + (1 − μ)g, instead of the sum b ← μb + g",
     "decay after momentum": "the weight decay is added to the direction after the momentum update instead of to "
                             "the gradient before it",
     "alias": "the first momentum buffer is p.grad itself (b = g) instead of a copy (g.clone()): the next gradient "
              "written into p.grad changes it"},
    stateful=lambda hyper: hyper["momentum"] != 0)
ADAGRAD_SPEC = Spec(
    "Adagrad", torch.optim.Adagrad, {"lr": 1e-2, "eps": 1e-10, "weight_decay": 0.0}, adagrad_update,
    {"eps inside": "ε is added inside the square root, g / √(G + ε), instead of after it, g / (√G + ε)",
     "no sqrt": "the step divides by G + ε instead of √G + ε",
     "sum without decay": "G sums the squares of p.grad alone instead of those of g = p.grad + λθ"})
RMSPROP_SPEC = Spec(
    "RMSProp", torch.optim.RMSprop, {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0.0}, rmsprop_update,
    {"eps inside": "ε is added inside the square root, g / √(v + ε), instead of after it, g / (√v + ε)",
     "no 1 - alpha": "the factor 1 − α is missing: v ← αv + g²",
     "alpha swapped": "α and 1 − α are swapped: v ← (1 − α)v + αg²"})
ADAM_SPEC = Spec(
    "Adam", torch.optim.Adam, {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0}, adam_update,
    {"no bias correction": "there is no bias correction (m and v are used as they are)",
     "one counter": "t counts the optimizer's step() calls instead of each parameter's own updates (a parameter "
                    "without a gradient must not advance its t)",
     "correction outside sqrt": "v's bias correction is applied outside the square root, √v / (1 − β₂ᵗ), instead "
                                "of √(v / (1 − β₂ᵗ))",
     "decoupled": "the weight decay is decoupled as in AdamW (θ ← θ − ηλθ) instead of added to the gradient"})

F64, F32 = torch.float64, torch.float32


def hidden_runs(draw: Any, layouts: list[tuple[torch.dtype, int, dict, list[dict]]]) -> list[Run]:
    return [hidden_run(draw, f"hidden case {n}", dtype, steps, defaults, groups)
            for n, (dtype, steps, defaults, groups) in enumerate(layouts, 1)]


def comparison_runs(draw: Any, spec: Spec, defaults: dict, groups: list[dict], split: int) -> list[Run]:
    return [comparison_run(f"the visible comparison with torch.optim.{spec.reference.__name__}, in {dtype_name}",
                           defaults, groups, split, dtype, draw.new_seed())
            for dtype, dtype_name in ((F64, "float64"), (F32, "float32"))]


@judge.part("test_sgd_momentum")
def sgd_momentum(student, draw):
    ones = [[1.0]] * 3
    runs = [
        example_run("visible example: plain SGD", {"lr": 0.1}, [1.0], ones),
        example_run("visible example: momentum 0.9", {"lr": 0.1, "momentum": 0.9}, [1.0], ones),
        example_run("visible example: Nesterov 0.9", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, [1.0], ones),
        example_run("visible example: weight decay 0.5 with zero gradients", {"lr": 0.1, "weight_decay": 0.5}, [2.0],
                    [[0.0]] * 2),
        example_run("visible example: q has no gradient", {"lr": 0.5, "momentum": 0.9, "weight_decay": 0.1},
                    [[1.0, -1.0], [5.0]], [[[1.0, 2.0], None]]),
        example_run("visible example: step(closure) on w**2 from w = 3", {"lr": 0.25}, [[3.0]], [[[6.0]], [[1.0]]],
                    closures={1: "backward", 2: "grad mode"}),
        example_run("visible example: the buffer is a copy of the first gradient", {"lr": 0.1, "momentum": 0.5},
                    [[1.0]], [[[1.0]], [[3.0]]], into=(2,)),
        example_run("a float64 example", {"lr": 0.1, "momentum": 0.9}, [[1.0, 2.0]], [[[0.1, 0.2]]] * 4, F64),
        *comparison_runs(draw, SGD_SPEC, {"lr": 0.05, "momentum": 0.9},
                         [{}, {"lr": 0.01, "nesterov": True, "weight_decay": 0.1}], split=2),
        *hidden_runs(draw, [
            (F64, 60, {"lr": 0.05, "momentum": 0.9},
             [{}, {"lr": 0.02, "momentum": 0.0, "weight_decay": 0.1},
              {"momentum": 0.5, "nesterov": True, "weight_decay": 0.01}]),
            (F64, 50, {"lr": 0.1}, [{"momentum": 0.95, "nesterov": True}, {"weight_decay": 0.3}]),
            (F32, 50, {"lr": 0.01, "momentum": 0.8, "weight_decay": 1e-3},
             [{}, {"momentum": 0.99, "nesterov": True, "lr": 0.003}]),
        ]),
    ]
    step_side_by_side(student, SGD_SPEC, runs)


@judge.part("test_adagrad")
def adagrad(student, draw):
    runs = [
        example_run("visible example: constant gradient 1", {"lr": 0.5}, [1.0], [[1.0]] * 3),
        example_run("visible example: gradients -100, then 0.01", {"lr": 0.5}, [1.0], [[-100.0], [0.01]]),
        example_run("visible example: eps = 0.5", {"lr": 0.5, "eps": 0.5}, [1.0], [[1.0]]),
        example_run("visible example: weight decay 0.5 with a zero gradient", {"lr": 0.1, "weight_decay": 0.5},
                    [2.0], [[0.0]]),
        example_run("visible example: a zero coordinate and a parameter without a gradient", {"lr": 0.1},
                    [[1.0, 1.0], 3.0], [[[0.0, 2.0], None]] * 3),
        example_run("visible example: step(closure) on w**2 from w = 3", {"lr": 0.1}, [[3.0]], [[[6.0]], [[1.0]]],
                    closures={1: "backward", 2: "grad mode"}),
        example_run("visible example: the first float64 step", {"lr": 0.1}, [[1.0, 2.0]], [[[1e-3, 3e-4]]], F64),
        example_run("a float64 example with tiny squared gradients", {"lr": 0.1},
                    [[1.0, 2.0]], [[[1e-3, 3e-4]], [[2e-3, 1e-4]], [[1e-3, 2e-4]]], F64),
        *comparison_runs(draw, ADAGRAD_SPEC, {"lr": 0.3}, [{"eps": 1e-3}, {"weight_decay": 0.1}], split=1),
        *hidden_runs(draw, [
            (F64, 60, {"lr": 0.5}, [{}, {"lr": 0.1, "eps": 0.1, "weight_decay": 0.1}, {"eps": 1e-3}]),
            (F64, 50, {}, [{"weight_decay": 0.5}, {"lr": 0.05}]),
            (F32, 50, {"lr": 0.1, "eps": 1e-6, "weight_decay": 1e-2}, [{}, {"lr": 0.02, "eps": 0.05}]),
        ]),
    ]
    step_side_by_side(student, ADAGRAD_SPEC, runs)


@judge.part("test_rmsprop")
def rmsprop(student, draw):
    runs = [
        example_run("visible example: constant gradient 1, alpha = 0.9", {"lr": 0.01, "alpha": 0.9},
                    [1.0], [[1.0]] * 3),
        example_run("visible example: eps = 0.5", {"lr": 0.1, "alpha": 0.9, "eps": 0.5}, [0.0], [[2.0]]),
        example_run("visible example: weight decay, a zero coordinate and a parameter without a gradient",
                    {"lr": 0.1, "alpha": 0.75, "weight_decay": 0.5}, [[2.0, 0.0], 3.0], [[[0.0, 0.0], None]]),
        example_run("visible example: step(closure) on w**2 from w = 3", {"lr": 0.1}, [[3.0]], [[[6.0]], [[1.0]]],
                    closures={1: "backward", 2: "grad mode"}),
        example_run("visible example: the first float64 step", {"lr": 0.01}, [[1.0, 2.0]], [[[0.5, -0.25]]] * 4, F64),
        *comparison_runs(draw, RMSPROP_SPEC, {"lr": 0.01, "weight_decay": 0.1}, [{"alpha": 0.9}, {"eps": 1e-2}],
                         split=1),
        *hidden_runs(draw, [
            (F64, 60, {"lr": 0.01}, [{}, {"alpha": 0.9, "eps": 0.1, "weight_decay": 0.1}, {"alpha": 0.5, "lr": 0.05}]),
            (F64, 50, {}, [{"weight_decay": 0.3, "eps": 1e-3}, {"alpha": 0.999}]),
            (F32, 50, {"lr": 3e-3, "alpha": 0.95, "eps": 1e-6, "weight_decay": 1e-2}, [{}, {"lr": 1e-3, "eps": 0.05}]),
        ]),
    ]
    step_side_by_side(student, RMSPROP_SPEC, runs)


@judge.part("test_adam")
def adam(student, draw):
    runs = [
        example_run("visible example: constant gradient 2", {"lr": 0.1}, [1.0], [[2.0]] * 3),
        example_run("visible example: eps = 1", {"lr": 0.1, "eps": 1.0}, [1.0], [[2.0]]),
        example_run("visible example: betas (0.5, 0.5), gradients 1 then -1",
                    {"lr": 0.1, "betas": (0.5, 0.5), "eps": 0.0}, [0.0], [[1.0], [-1.0]]),
        example_run("visible example: weight decay 0.5 with a zero gradient", {"lr": 0.1, "weight_decay": 0.5},
                    [2.0], [[0.0]]),
        example_run("visible example: q's first gradient comes at the second step", {"lr": 0.1, "betas": (0.5, 0.5)},
                    [0.0, 0.0], [[1.0, None], [1.0, 3.0]]),
        example_run("visible example: step(closure) on w**2 from w = 3", {"lr": 0.1}, [[3.0]], [[[6.0]], [[1.0]]],
                    closures={1: "backward", 2: "grad mode"}),
        example_run("visible example: the first float64 step", {"lr": 0.1}, [[1.0, 2.0]], [[[0.5, -0.25]]] * 4, F64),
        *comparison_runs(draw, ADAM_SPEC, {"lr": 0.05, "weight_decay": 0.1}, [{"betas": (0.8, 0.9)}, {"eps": 1e-2}],
                         split=2),
        *hidden_runs(draw, [
            (F64, 60, {"lr": 0.05},
             [{}, {"betas": (0.5, 0.9), "eps": 0.1, "weight_decay": 0.1}, {"betas": (0.0, 0.99), "lr": 0.01}]),
            (F64, 50, {}, [{"weight_decay": 0.3, "eps": 1e-3}, {"betas": (0.95, 0.9999)}]),
            (F32, 50, {"lr": 1e-2, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 1e-2},
             [{}, {"lr": 1e-3, "eps": 0.05}]),
        ]),
    ]
    step_side_by_side(student, ADAM_SPEC, runs)


# ---------------------------------------------------------------- Part 5: steps_to_reach

def half_square_terms(d: int) -> tuple[torch.Tensor, torch.Tensor]:
    """target 0 and var 1: F.gaussian_nll_loss(x, 0, 1, reduction="sum") is x·x / 2 exactly."""
    return torch.zeros(d, dtype=torch.float64), torch.ones(d, dtype=torch.float64)


def quadratic_loss(target: torch.Tensor, var: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """½ Σ (x − target)² / var + ½ Σ log var: a diagonal quadratic made of one PyTorch function, so that the
    kernel can be given the same loss without any code of the judge."""
    return functools.partial(F.gaussian_nll_loss, target=target, var=var, reduction="sum")


def rotated_quadratic() -> tuple[torch.Tensor, torch.Tensor]:
    """The notebook's A_QUAD and X0 (the locked `quadratic` cell), built here again."""
    angle = math.radians(30.0)
    rotation = torch.tensor([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]],
                            dtype=torch.float64)
    matrix = rotation @ torch.diag(torch.tensor([1.0, 25.0], dtype=torch.float64)) @ rotation.T
    return matrix, torch.tensor([-3.0, 2.0], dtype=torch.float64)


OPTIMIZER_CLASSES = {"SGD": torch.optim.SGD, "Adam": torch.optim.Adam, "RMSprop": torch.optim.RMSprop,
                     "Adagrad": torch.optim.Adagrad}


def ref_steps(make: Callable, tol: float, max_steps: int, loss_fn: Callable, x0: torch.Tensor,
              mistake: str | None = None) -> tuple[int | None, int]:
    """(what steps_to_reach returns, how many optimizer steps it takes); with a catalogued mistake if given."""
    x = x0.clone().requires_grad_(True)
    optimizer, steps = make([x]), 0
    for step in range(max_steps + 1):
        if mistake == "no final check" and step == max_steps:
            return None, steps
        loss = loss_fn(x)
        if not math.isfinite(loss.item()) and mistake != "no divergence check":
            return None, steps
        if loss.item() < tol:
            return step, steps
        if step == max_steps:
            return None, steps
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        steps += 1
    return None, steps


STEPS_MISTAKES = {
    "no final check": "the loss is not checked at t == max_steps (the loop stops before its last check), so a tol "
                      "first reached by the very last step is missed",
    "no divergence check": "the loop goes on after the loss has become inf or nan: return None as soon as it is "
                           "not finite",
}


@dataclass
class SearchCase:
    label: str
    optimizer: str  # a torch.optim class name
    hyper: dict[str, Any]
    tol: float
    max_steps: int
    target: torch.Tensor | None  # None: the notebook's defaults (quadratic, X0)
    var: torch.Tensor | None
    x0: torch.Tensor | None
    defaults: bool = False  # call with make_optimizer only

    def reference(self, mistake: str | None = None) -> tuple[int | None, int]:
        make = functools.partial(OPTIMIZER_CLASSES[self.optimizer], **self.hyper)
        if self.target is None:
            matrix, x0 = rotated_quadratic()
            return ref_steps(make, self.tol, self.max_steps, lambda x: 0.5 * x @ matrix @ x, x0, mistake)
        return ref_steps(make, self.tol, self.max_steps, quadratic_loss(self.target, self.var), self.x0, mistake)


def search_cases(draw: Any) -> list[SearchCase]:
    one = torch.tensor([1.0], dtype=torch.float64)
    zero, unit = half_square_terms(1)
    visible = [("lr = 0.5 halves x: f < 1e-3 first at t = 5", {"lr": 0.5}, 1e-3, 1000),
               ("tol first reached exactly at t = max_steps = 5", {"lr": 0.5}, 1e-3, 5),
               ("max_steps = 4 stops one step short", {"lr": 0.5}, 1e-3, 4),
               ("lr = 1 jumps to the minimum", {"lr": 1.0}, 1e-3, 1000),
               ("f(x0) < tol already: 0 steps", {"lr": 0.5}, 1.0, 1000),
               ("lr = 0 never gets there", {"lr": 0.0}, 1e-3, 20),
               ("lr = 3 diverges: stop when the loss is inf", {"lr": 3.0}, 1e-3, 5000)]
    cases = [SearchCase(f"visible example: f(x) = x²/2 from x = 1, {text}", "SGD", hyper, tol, max_steps,
                        zero, unit, one)
             for text, hyper, tol, max_steps in visible]
    matrix, _ = rotated_quadratic()
    top = torch.linalg.eigvalsh(matrix).tolist()
    cases.append(SearchCase("the default arguments (quadratic, X0, tol = 1e-6, max_steps = 1000)", "SGD",
                            {"lr": 2 / (top[0] + top[-1])}, 1e-6, 1000, None, None, None, defaults=True))
    r = random.Random(draw.new_seed())
    gen = torch.Generator().manual_seed(draw.new_seed())
    for number in range(1, 13):
        d = r.randint(1, 4)
        curvature = torch.exp(torch.empty(d, dtype=torch.float64).uniform_(math.log(0.2), math.log(5.0), generator=gen))
        target = torch.randn(d, generator=gen, dtype=torch.float64)
        x0 = target + torch.randn(d, generator=gen, dtype=torch.float64) * r.choice([0.01, 1.0, 5.0])
        largest = curvature.max().item()
        optimizer, hyper = r.choice([
            ("SGD", {"lr": r.choice([0.5, 1.0, 1.9]) / largest}),
            ("SGD", {"lr": r.choice([0.3, 1.0]) / largest, "momentum": r.choice([0.5, 0.9])}),
            ("Adam", {"lr": r.choice([0.05, 0.3])}),
            ("RMSprop", {"lr": r.choice([0.01, 0.1])}),
        ])
        floor = 0.5 * curvature.reciprocal().log().sum().item()  # the minimum of the loss
        tol, max_steps = floor + r.choice([1e-2, 1e-5, 1e-8]), r.choice([5, 40, 150])
        cases.append(SearchCase(f"hidden case {number}: a {d}-D quadratic", optimizer, hyper, tol, max_steps,
                                target, curvature.reciprocal(), x0))
    for _ in range(1, 3):  # tol first reached at exactly max_steps, and one step short of it
        d = r.randint(1, 3)
        curvature = torch.empty(d, dtype=torch.float64).uniform_(0.5, 2.0, generator=gen)
        x0 = torch.randn(d, generator=gen, dtype=torch.float64) * 3
        base = SearchCase("", "SGD", {"lr": r.uniform(0.2, 0.6)},
                          0.5 * curvature.reciprocal().log().sum().item() + 1e-4,
                          200, torch.zeros(d, dtype=torch.float64), curvature.reciprocal(), x0)
        reached, _ = base.reference()
        if reached is not None and reached >= 2:
            for max_steps, how in ((reached, "exactly at t = max_steps"), (reached - 1, "one step after max_steps")):
                cases.append(SearchCase(f"hidden case: tol first reached {how} ({max_steps})", "SGD", base.hyper,
                                        base.tol, max_steps, base.target, base.var, base.x0))
    curvature = torch.tensor([0.5, 4.0], dtype=torch.float64)
    cases.append(SearchCase("hidden case: a diverging run (lr = 11 / L)", "SGD", {"lr": 11 / 4.0}, 1e-6, 3000,
                            torch.zeros(2, dtype=torch.float64), curvature.reciprocal(),
                            torch.tensor([1.0, -2.0], dtype=torch.float64)))
    return cases


@judge.part("test_steps_to_reach")
def steps_to_reach(student, draw):
    module, batch = student.module, student.batch(BATCH_TIMEOUT)
    cases = search_cases(draw)
    counter = student.spy()
    hook = batch.call(module("torch.optim.optimizer.register_optimizer_step_post_hook"), counter, keep=True)
    calls = batch.call(module("builtins.getattr"), counter, "calls", keep=True)  # the list itself, not a copy
    remove = batch.call(module("operator.methodcaller"), "remove", keep=True)
    steps = batch.call(module("builtins.dict"), student.STEPS, what="dict(STEPS)")
    made = []
    for c in cases:
        hyper = batch.call(module("functools.partial"), module(f"torch.optim.{c.optimizer}"), keep=True, **c.hyper)
        loss = None if c.target is None else batch.call(module("functools.partial"),
                                                        module("torch.nn.functional.gaussian_nll_loss"),
                                                        keep=True, target=c.target, var=c.var, reduction="sum")
        made.append((hyper, loss))
    setup = batch.send()
    handles = [(setup.value(hyper), None if loss is None else setup.value(loss)) for hyper, loss in made]
    hook, calls, remove = setup.value(hook), setup.value(calls), setup.value(remove)

    with case("STEPS"):
        check_steps_table(setup.value(steps))

    asked = []
    for c, (make, loss) in zip(cases, handles):
        args = (make,) if c.defaults else (make, c.tol, c.max_steps, loss, c.x0)
        asked.append((batch.call(student.steps_to_reach, *args, return_args=True, what="steps_to_reach(...)"),
                      batch.call(module("builtins.len"), calls)))
    batch.call(remove, hook, what="removing the step counter")
    answers = batch.send()
    taken_before = 0
    for c, (result, count) in zip(cases, asked):
        want, want_steps = c.reference()
        with case(c.label, optimizer=c.optimizer, tol=c.tol, max_steps=c.max_steps):
            got = answers.value(result)
            taken = answers.value(count) - taken_before
            taken_before += taken
            expect(got is None or type(got) is int,
                   f"steps_to_reach must return a Python int or None, got {got!r}"[:300])
            mistakes = {} if got == want else \
                {label: c.reference(switch)[0] for switch, label in STEPS_MISTAKES.items()}
            expect_equal(got, want, "the step count (None: diverged, or not within max_steps)",
                         mistakes={label: value for label, value in mistakes.items() if value != want})
            mistakes = {} if taken == want_steps else \
                {STEPS_MISTAKES["no divergence check"]: c.reference("no divergence check")[1]}
            expect_equal(taken, want_steps, "the number of optimizer steps taken", mistakes=mistakes)
            if not c.defaults:
                x0 = answers.args(result)[4]
                expect_equal(x0.tolist(), c.x0.tolist(), "x0 after the call (start from x0.clone(); do not modify x0)")
                expect(not getattr(x0, "kernel_requires_grad", False),
                       "x0 must not be changed: make the copy with x = x0.clone().requires_grad_(True)")


def check_steps_table(table: Any) -> None:
    expect(type(table) is dict and sorted(table) == ["adam", "gd", "heavy_ball", "nesterov"],
           'STEPS must be a dict with the keys "gd", "heavy_ball", "nesterov", "adam"')
    matrix, x0 = rotated_quadratic()
    small, large = torch.linalg.eigvalsh(matrix).tolist()
    root = math.sqrt(large / small)
    rows = {"gd": ("SGD", {"lr": 2 / (large + small)}),
            "heavy_ball": ("SGD", {"lr": 4 / (math.sqrt(large) + math.sqrt(small)) ** 2,
                                   "momentum": ((root - 1) / (root + 1)) ** 2}),
            "nesterov": ("SGD", {"lr": 1 / large, "momentum": (root - 1) / (root + 1), "nesterov": True}),
            "adam": ("Adam", {"lr": 0.3})}
    for key, (optimizer, hyper) in rows.items():
        want, _ = SearchCase("", optimizer, hyper, 1e-6, 1000, None, None, None).reference()
        expect_equal(table[key], want, f'STEPS["{key}"] (steps_to_reach with the table\'s hyper-parameters)')


# ---------------------------------------------------------------- Part 6: the race on Fashion-MNIST

N_TRAIN, N_VAL, BATCH, EPOCHS = 5000, 2000, 100, 2  # as in the locked cell `fashion_setup`
LEARNING_RATES = [1e-4, 1e-3, 1e-2, 1e-1, 1.0]
RACE = {"sgd": ("SGD", {}), "momentum": ("SGD", {"momentum": 0.9}), "adagrad": ("Adagrad", {}),
        "rmsprop": ("RMSprop", {}), "adam": ("Adam", {})}
_DATA: dict[str, tuple[torch.Tensor, ...]] = {}


def fashion() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The notebook's training and validation tensors, loaded here by the same course code."""
    if "data" not in _DATA:
        train = image_tensors(load_fashion_mnist(train=True), limit=N_TRAIN)
        val = image_tensors(load_fashion_mnist(train=False), limit=N_VAL)
        _DATA["data"] = (*train, *val)
    return _DATA["data"]


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """The kernel trains on one thread (the setup cell); so does the reference, to round the same way."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def ref_mlp(seed: int) -> nn.Module:
    """make_mlp(seed) of the locked cell, without touching this process's random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))


def ref_train(make: Callable | None, seed: int, epochs: int,
              mistake: str | None = None) -> tuple[nn.Module, list[float]]:
    """train_mlp as specified (make None: lr = 0, nothing changes), or with a catalogued mistake."""
    train_x, train_y, _, _ = fashion()
    model = ref_mlp(seed)
    optimizer = make(model.parameters()) if make is not None else None
    batches = TensorLoader(train_x, train_y, batch_size=BATCH, shuffle=mistake != "unshuffled", seed=seed)
    losses = []
    with one_thread():
        for _ in range(epochs):
            if mistake == "loader per epoch":
                batches = TensorLoader(train_x, train_y, batch_size=BATCH, shuffle=True, seed=seed)
            for x, y in batches:
                if optimizer is None:
                    with torch.no_grad():
                        loss = F.cross_entropy(model(x), y, reduction="sum" if mistake == "summed" else "mean")
                    losses.append(loss.item())
                    continue
                loss = F.cross_entropy(model(x), y)
                if mistake != "no zero_grad":
                    optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
    return model, losses


FASHION_MISTAKES = {
    "unshuffled": "the batches are not shuffled (TensorLoader(..., shuffle=True, seed=seed))",
    "loader per epoch": "a new TensorLoader is made for every epoch, so every epoch repeats the first one's order",
    "summed": "the loss is summed over the batch instead of averaged (F.cross_entropy's default is the mean)",
    "no zero_grad": "optimizer.zero_grad() is missing, so each step uses the gradients of all the batches so far",
}


def accuracy(logits: Any, labels: torch.Tensor) -> float:
    return (logits.argmax(dim=1) == labels).double().mean().item()


@judge.part("test_fashion")
def fashion_race(student, draw):
    train_x, train_y, val_x, val_y = fashion()
    module, batch = student.module, student.batch(BATCH_TIMEOUT)
    partial = module("functools.partial")
    frozen_seed, seed = draw.int(1, 10_000), draw.int(1, 10_000)
    name = draw.choice(["momentum", "adam"])
    lr = {"momentum": 0.05, "adam": 1e-3}[name]
    cls, extra = RACE[name]
    make = functools.partial(getattr(torch.optim, cls), lr=lr, **extra)
    probe = torch.randn(1, 28, 28, generator=torch.Generator().manual_seed(draw.new_seed()))

    frozen = batch.call(partial, module("torch.optim.SGD"), lr=0.0, keep=True)
    trained = batch.call(partial, module(f"torch.optim.{cls}"), lr=lr, keep=True, **extra)
    swept = batch.call(partial, module(f"torch.optim.{cls}"), keep=True, **extra)
    images = batch.call(module("torch.tensordot"), student.val_images, probe, dims=3, what="reading val_images")
    table = batch.call(module("builtins.dict"), student.SWEEPS, what="dict(SWEEPS)")
    best = batch.call(module("builtins.dict"), student.BEST_LR, what="dict(BEST_LR)")
    first = batch.send()
    with case("the validation images of the locked cell"):
        expect_close(first.value(images), torch.tensordot(val_x, probe, dims=3), "val_images (unchanged)",
                     atol=1e-3, rtol=1e-4)
    with case("SWEEPS and BEST_LR"):
        sweeps, best_lr = check_sweeps(first.value(table), first.value(best))
    picks = [(draw.choice(list(RACE)), draw.choice(LEARNING_RATES))]
    other = draw.choice([n for n in RACE if n != picks[0][0]])
    picks.append((other, best_lr[other]))
    remeasured = [batch.call(partial, module(f"torch.optim.{RACE[n][0]}"), lr=r, keep=True, **RACE[n][1])
                  for n, r in picks]
    second = batch.send()

    calls = {"frozen": batch.call(student.train_mlp, first.value(frozen), frozen_seed, 2, what="train_mlp(...)"),
             "trained": batch.call(student.train_mlp, first.value(trained), seed, what="train_mlp(...)"),
             "sweep": batch.call(student.lr_sweep, first.value(swept), [0.0, lr], seed, what="lr_sweep(...)")}
    for number, index in enumerate(remeasured):
        calls[f"again {number}"] = batch.call(student.train_mlp, second.value(index), what="train_mlp(...)")
    runs = batch.send()
    models = {}
    for key in ("frozen", "trained", *[k for k in calls if k.startswith("again")]):
        if runs.ok(calls[key]):
            result = runs.value(calls[key])
            if type(result) is tuple and len(result) == 2 and isinstance(result[0], Remote):
                models[key] = batch.call(result[0], student.val_images, no_grad=True, what="the model")
    outputs = batch.send()

    with case("train_mlp with lr = 0 (nothing changes)", seed=frozen_seed, epochs=2):
        model, losses = check_training_result(runs.value(calls["frozen"]), 2)
        _, want = ref_train(None, frozen_seed, 2)
        check_losses(losses, want, lambda: {FASHION_MISTAKES[m]: ref_train(None, frozen_seed, 2, m)[1]
                                            for m in ("unshuffled", "loader per epoch", "summed")},
                     ". With lr = 0 they are the losses of make_mlp(seed) on the batches of TensorLoader(train_images, "
                     "train_labels, batch_size=BATCH, shuffle=True, seed=seed), in order")
        with one_thread(), torch.no_grad():
            expect_close(outputs.value(models["frozen"]), ref_mlp(frozen_seed)(val_x),
                         "the returned model's outputs (with lr = 0 it is make_mlp(seed) as it was made: train "
                         "make_mlp(seed) with make_optimizer(model.parameters()))", atol=1e-5, rtol=1e-5)
    with case(f"train_mlp with {cls}(lr={lr:g}{', momentum=0.9' if extra else ''})", seed=seed, epochs=EPOCHS):
        model, losses = check_training_result(runs.value(calls["trained"]), EPOCHS)
        reference, want = ref_train(make, seed, EPOCHS)
        check_losses(losses, want,
                     lambda: {FASHION_MISTAKES["no zero_grad"]: ref_train(make, seed, EPOCHS, "no zero_grad")[1]})
        with one_thread(), torch.no_grad():
            want_accuracy = accuracy(reference(val_x), val_y)
        got_accuracy = accuracy(outputs.value(models["trained"]), val_y)
        expect_close(got_accuracy, want_accuracy, "the trained model's validation accuracy", atol=1.5 / N_VAL, rtol=0)
    with case(f"lr_sweep({cls}{', momentum=0.9' if extra else ''}, [0.0, {lr:g}])", seed=seed):
        sweep = runs.value(calls["sweep"])
        expect(type(sweep) is dict and list(sweep) == [0.0, lr],
               f"lr_sweep must return {{lr: accuracy}} for the given learning rates, in order; got {sweep!r}"[:300])
        with one_thread(), torch.no_grad():
            untrained = accuracy(ref_mlp(seed)(val_x), val_y)
        expect_close(sweep[0.0], untrained, "the accuracy at lr = 0 (the untrained network's)",
                     atol=1.5 / N_VAL, rtol=0)
        expect_close(sweep[lr], want_accuracy, f"the accuracy at lr = {lr:g}", atol=1.5 / N_VAL, rtol=0)
    for number, (pick, pick_lr) in enumerate(picks):
        with case(f'SWEEPS["{pick}"][{pick_lr:g}], measured again with train_mlp'):
            model, _ = check_training_result(runs.value(calls[f"again {number}"]), EPOCHS)
            got = accuracy(outputs.value(models[f"again {number}"]), val_y)
            expect_close(sweeps[pick][pick_lr], got, "the reported accuracy", atol=0.01, rtol=0)


def check_sweeps(sweeps: Any, best_lr: Any) -> tuple[dict, dict]:
    expect(type(sweeps) is dict and list(sweeps) == list(RACE), f"SWEEPS needs one entry per optimizer, {list(RACE)}")
    for name, sweep in sweeps.items():
        expect(type(sweep) is dict and list(sweep) == LEARNING_RATES,
               f'SWEEPS["{name}"] must map every lr of LEARNING_RATES, in order, to an accuracy')
        expect(all(type(v) is float and 0.0 <= v <= 1.0 for v in sweep.values()),
               f'SWEEPS["{name}"] must hold accuracies: Python floats between 0 and 1')
    expect(type(best_lr) is dict and best_lr == {n: max(s, key=s.get) for n, s in sweeps.items()},
           f"BEST_LR must hold each optimizer's best lr in SWEEPS (the first on a tie), got {best_lr!r}"[:300])
    return sweeps, best_lr


def check_training_result(result: Any, epochs: int) -> tuple[Any, list[float]]:
    expect(type(result) is tuple and len(result) == 2, "train_mlp must return (model, losses)")
    model, losses = result
    expect(isinstance(model, Remote), f"train_mlp must return the trained model first, got {model!r}"[:200])
    count = epochs * N_TRAIN // BATCH
    expect(type(losses) is list and all(type(v) is float for v in losses),
           "losses must be a list of Python floats (loss.item() after each batch)")
    expect(len(losses) == count, f"one loss per batch: expected {count} for {epochs} epoch(s), got {len(losses)}")
    return model, losses


def check_losses(got: list[float], want: list[float], mistakes: Callable[[], dict[str, list[float]]],
                 what: str = "") -> None:
    """The per-batch losses, as the reference computes them (a failure names a catalogued mistake)."""
    def close(a: list[float], b: list[float]) -> bool:
        return len(a) == len(b) and all(abs(x - y) <= 1e-4 + 1e-4 * abs(y) for x, y in zip(a, b))

    if close(got, want):
        expect(True, "the losses")
        return
    bad = next(i for i, (x, y) in enumerate(zip(got, want)) if not abs(x - y) <= 1e-4 + 1e-4 * abs(y))
    mistake = next((label for label, values in mistakes().items() if close(got, values)), None)
    fail(f"the losses differ from the expected ones from batch {bad} on (0-based, counting across epochs): "
         f"got {got[bad]:.6g}, expected {want[bad]:.6g}{what}", mistake)
