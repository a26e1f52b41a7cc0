"""Plausible wrong answers for Assignment 05 (optimizers): each must cost its part, not the others.

- adagrad: epsilon inside the square root, g / sqrt(G + eps), instead of PyTorch's g / (sqrt(G) + eps).
  Indistinguishable with the default eps = 1e-10 and large gradients, wrong whenever eps matters
  (the visible eps = 0.5 example, the hidden groups with eps = 1e-3 and 0.1). Part 2 fails.
- adam: no bias correction (m and v used as they are), so the first steps are far too large
  (lr * 0.1 * g / sqrt(0.001 * g^2) = 3.16 lr on the first step) and every step differs. Part 4 fails.
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
    "test_adam": "there is no bias correction (m and v are used as they are)",
}
