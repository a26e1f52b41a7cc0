"""check_optimizer passes an optimizer written from scratch and fails borrowed or wrong ones."""
from collections import defaultdict

import pytest
import torch
from torch.optim.sgd import sgd

from course_grading.optim_check import check_closure, check_optimizer, trace

CASES = [
    {"seed": 1, "dtype": torch.float64, "steps": 6, "defaults": {"lr": 0.05, "momentum": 0.9},
     "groups": [{}, {"lr": 0.02, "weight_decay": 0.1, "nesterov": True}]},
    {"seed": 2, "dtype": torch.float32, "steps": 5, "defaults": {"lr": 0.1, "weight_decay": 0.01},
     "groups": [{"momentum": 0.5}, {}]},
]


def _momentum_used(hyper):
    return hyper.get("momentum", 0.0) != 0


def check(cls):
    check_optimizer(cls, torch.optim.SGD, CASES, name="Momentum", stateful=_momentum_used)


class Momentum(torch.optim.Optimizer):
    """torch.optim.SGD with dampening=0, written out."""

    def __init__(self, params, lr, momentum=0.0, weight_decay=0.0, nesterov=False):
        super().__init__(params, {"lr": lr, "momentum": momentum, "weight_decay": weight_decay, "nesterov": nesterov})

    def decayed(self, p, weight_decay):
        return p.grad.add(p, alpha=weight_decay) if weight_decay != 0 else p.grad

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            mu = group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = self.decayed(p, group["weight_decay"])
                if mu != 0:
                    state = self.state[p]
                    if "buf" not in state:
                        state["buf"] = g.clone()
                    else:
                        state["buf"].mul_(mu).add_(g)
                    g = g.add(state["buf"], alpha=mu) if group["nesterov"] else state["buf"]
                p.add_(g, alpha=-group["lr"])
        return loss


class NoWeightDecay(Momentum):
    def decayed(self, p, weight_decay):
        return p.grad


class ChangesGrad(Momentum):
    def decayed(self, p, weight_decay):
        return p.grad.add_(p, alpha=weight_decay)


class SubclassOfSGD(torch.optim.SGD):
    pass


class Delegates(torch.optim.Optimizer):
    def __init__(self, params, lr, **hyper):
        groups = list(params)
        super().__init__(groups, {"lr": lr, **hyper})
        self.inner = torch.optim.SGD(self.param_groups, lr=lr, **hyper)

    def step(self, closure=None):
        return self.inner.step(closure)


class CallsFunctional(Momentum):
    def decayed(self, p, weight_decay):
        sgd([p], [p.grad.clone()], [None], weight_decay=0.0, momentum=0.0, lr=0.0,
            dampening=0.0, nesterov=False, maximize=False)
        return super().decayed(p, weight_decay)


class NoState(Momentum):
    """The right numbers, but the buffers live in a dict keyed by id(p) instead of self.state."""

    def __init__(self, params, lr, **hyper):
        super().__init__(params, lr, **hyper)
        self.buffers = defaultdict(dict)

    @torch.no_grad()
    def step(self, closure=None):
        self.state, saved = self.buffers, self.state
        try:
            return super().step(closure)
        finally:
            self.buffers, self.state = self.state, saved


def test_a_correct_optimizer_passes():
    check(Momentum)


@pytest.mark.parametrize("cls, message", [
    (SubclassOfSGD, "subclass torch.optim.Optimizer directly, not SGD"),
    (Delegates, r"Momentum\(\.\.\.\) must run your own code, but it calls PyTorch's implementation"),
    (CallsFunctional, r"Momentum.step\(\) must run your own code, but it calls PyTorch's implementation "
                      r"\(sgd in torch/optim/sgd.py\)"),
    (NoWeightDecay, r"parameter \d+ .* differs from the expected value"),
    (ChangesGrad, r"step\(\) must not change the gradients"),
    (NoState, r"keep each parameter's running quantities in self.state\[p\]"),
])
def test_borrowed_or_wrong_optimizers_fail(cls, message):
    with pytest.raises(AssertionError, match=message):
        check(cls)


def test_an_optimizer_held_in_an_attribute_fails():
    class Holds(Momentum):
        def __init__(self, params, lr, **hyper):
            super().__init__(params, lr, **hyper)
            self.helpers = [torch.optim.Optimizer.__new__(torch.optim.SGD)]

    with pytest.raises(AssertionError, match="the attribute 'helpers' holds a torch.optim optimizer"):
        check(Holds)


def test_trace_and_check_closure_on_a_correct_optimizer():
    p = torch.tensor(1.0, requires_grad=True)
    assert trace(Momentum([p], lr=0.1, momentum=0.9), p, [1.0, 1.0]) == pytest.approx([0.9, 0.71])
    w = torch.tensor([3.0], requires_grad=True)
    check_closure(Momentum([w], lr=0.25), w)
    assert w.tolist() == [1.5]


class NoGradClosure(Momentum):
    """Calls the closure without re-enabling autograd inside step()."""

    @torch.no_grad()
    def step(self, closure=None):
        return closure()


def test_check_closure_explains_a_closure_run_without_autograd():
    w = torch.tensor([3.0], requires_grad=True)
    with pytest.raises(AssertionError, match="enable_grad"):
        check_closure(NoGradClosure([w], lr=0.1), w)
