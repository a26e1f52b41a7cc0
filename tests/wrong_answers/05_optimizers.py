"""Plausible wrong answers for Assignment 05 (optimizers): each must cost its part, not the others.

- adagrad: epsilon inside the square root, g / sqrt(G + eps), instead of PyTorch's g / (sqrt(G) + eps).
  Indistinguishable with the default eps = 1e-10 and large gradients, wrong whenever eps matters
  (the visible eps = 0.5 example, the hidden groups with eps = 1e-3 and 0.1). Part 2 fails.
- rmsprop: the running average created with torch.zeros(p.shape), float32 whatever the parameter's dtype.
  Exact enough in float32 runs; in float64 runs v is rounded to float32 at every step and the parameters
  drift by about 1e-8 relative, far beyond float64 precision (the visible float64 step shows it). Part 3 fails.
- adam: no bias correction (m and v used as they are), so the first steps are far too large
  (lr * 0.1 * g / sqrt(0.001 * g^2) = 3.16 lr on the first step) and every step differs. Part 4 fails.
- steps_to_reach: the loop runs t = 0 .. max_steps - 1 and gives up without checking the loss after the last
  step, so a tol first reached at t == max_steps is reported as None. Part 5 fails.
Parts 1 and 6 are answered correctly, so the submission scores 5 of 12.
"""

WRONG_ANSWERS = {
    "adagrad": '''class Adagrad(torch.optim.Optimizer):
    """Adagrad; equals torch.optim.Adagrad with lr_decay=0 and initial_accumulator_value=0."""

    def __init__(self, params, lr=1e-2, eps=1e-10, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, eps, wd = group["lr"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                state = self.state[p]
                if len(state) == 0:
                    state["sum"] = torch.zeros_like(p)
                state["sum"].addcmul_(g, g)
                p.addcdiv_(g, (state["sum"] + eps).sqrt(), value=-lr)  # misconception: eps inside the square root
        return loss
''',
    "rmsprop": '''class RMSProp(torch.optim.Optimizer):
    """RMSProp; equals torch.optim.RMSprop with momentum=0 and centered=False."""

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "alpha": alpha, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, alpha, eps, wd = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                state = self.state[p]
                if len(state) == 0:
                    state["square_avg"] = torch.zeros(p.shape)  # misconception: float32 whatever p's dtype
                v = state["square_avg"]
                v.mul_(alpha).addcmul_(g, g, value=1 - alpha)
                p.addcdiv_(g, v.sqrt().add_(eps), value=-lr)
        return loss
''',
    "steps_to_reach": '''def steps_to_reach(make_optimizer, tol=1e-6, max_steps=1000, loss_fn=quadratic, x0=X0):
    """Optimizer steps until loss_fn(x) < tol first holds, starting at x0; None if diverged or not within max_steps."""
    x = x0.clone().requires_grad_(True)
    opt = make_optimizer([x])
    for t in range(max_steps):
        loss = loss_fn(x)
        if not math.isfinite(loss.item()):
            return None
        if loss.item() < tol:
            return t
        opt.zero_grad()
        loss.backward()
        opt.step()
    return None  # misconception: the loss after the last step (t == max_steps) is never checked


curvature = torch.linalg.eigvalsh(A_QUAD)
m_small, L_big = curvature[0].item(), curvature[-1].item()
root = math.sqrt(L_big / m_small)
STEPS = {
    "gd": steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=2 / (L_big + m_small))),
    "heavy_ball": steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=4 / (math.sqrt(L_big) + math.sqrt(m_small)) ** 2,
                                                            momentum=((root - 1) / (root + 1)) ** 2)),
    "nesterov": steps_to_reach(lambda ps: torch.optim.SGD(ps, lr=1 / L_big, momentum=(root - 1) / (root + 1),
                                                          nesterov=True)),
    "adam": steps_to_reach(lambda ps: torch.optim.Adam(ps, lr=0.3)),
}
''',
    "adam": '''class Adam(torch.optim.Optimizer):
    """Adam with bias correction and coupled (L2) weight decay; equals torch.optim.Adam with amsgrad=False."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay})

    @torch.no_grad()
    def step(self, closure=None):
        """Update every parameter that has a gradient; return closure()'s loss if a closure is given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if len(state) == 0:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                state["step"] += 1
                t = state["step"]
                g = p.grad
                if wd != 0:
                    g = g.add(p, alpha=wd)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                m.mul_(beta1).add_(g, alpha=1 - beta1)
                v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                m_hat, v_hat = m, v  # misconception: no bias correction (the averages start at zero)
                p.addcdiv_(m_hat, v_hat.sqrt().add_(eps), value=-lr)
        return loss
''',
}

MISTAKES = {
    "test_adagrad": "ε is added inside the square root, g / √(G + ε), instead of after it, g / (√G + ε)",
    "test_rmsprop": "the optimizer's state is created in float32 (e.g. torch.zeros(p.shape)) while the parameters "
                    "are float64: create it with torch.zeros_like(p)",
    "test_adam": "there is no bias correction (m and v are used as they are)",
    "test_steps_to_reach": "the loss is not checked at t == max_steps (the loop stops before its last check), so a "
                           "tol first reached by the very last step is missed",
}
