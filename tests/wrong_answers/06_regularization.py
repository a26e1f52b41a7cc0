"""Plausible mistakes in Assignment 06 (regularization); each must cost some, not all, points."""

WRONG_ANSWERS = {
    # The running variance updated with the biased batch variance, the one used for normalising. The outputs in
    # training mode and the hand-written backward pass are right; the running statistics (and so every output in
    # eval mode) are not PyTorch's.
    "batchnorm": '''class BatchNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, eps):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        mean = x.mean(dim=dims, keepdim=True)
        inv_std = 1.0 / torch.sqrt(x.var(dim=dims, unbiased=False, keepdim=True) + eps)
        x_hat = (x - mean) * inv_std
        ctx.save_for_backward(x_hat, inv_std, weight)
        return x_hat * weight.reshape(shape) + bias.reshape(shape)

    @staticmethod
    def backward(ctx, grad_out):
        x_hat, inv_std, weight = ctx.saved_tensors
        dims = [0] + list(range(2, grad_out.dim()))
        shape = [1, grad_out.shape[1]] + [1] * (grad_out.dim() - 2)
        mean_grad = grad_out.mean(dim=dims, keepdim=True)
        mean_grad_x_hat = (grad_out * x_hat).mean(dim=dims, keepdim=True)
        grad_x = weight.reshape(shape) * inv_std * (grad_out - mean_grad - x_hat * mean_grad_x_hat)
        return grad_x, (grad_out * x_hat).sum(dim=dims), grad_out.sum(dim=dims), None


class BatchNorm(nn.Module):
    """Batch normalisation over dimension 1 of inputs (N, C) or (N, C, H, W)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True):
        super().__init__()
        self.num_features, self.eps, self.momentum, self.affine = num_features, eps, momentum, affine
        self.weight = nn.Parameter(torch.ones(num_features)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features)) if affine else None
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        dims = [0] + list(range(2, x.dim()))
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        weight = self.weight if self.affine else x.new_ones(x.shape[1])
        bias = self.bias if self.affine else x.new_zeros(x.shape[1])
        if self.training:
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * x.mean(dim=dims))
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * x.var(dim=dims, unbiased=False))
            return BatchNormFunction.apply(x, weight, bias, self.eps)
        x_hat = (x - self.running_mean.reshape(shape)) / torch.sqrt(self.running_var.reshape(shape) + self.eps)
        return x_hat * weight.reshape(shape) + bias.reshape(shape)
''',
    # The original (non-inverted) dropout: survivors are not scaled in training, the output is scaled by
    # 1 - p at test time instead. Same expectations, but not the layer PyTorch (and the task) defines.
    "dropout": '''class Dropout(nn.Module):
    """Dropout as in the original paper."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be between 0 and 1, got {p}")
        self.p = p

    def forward(self, x):
        if not self.training:
            return x * (1 - self.p)
        keep = torch.rand_like(x) >= self.p
        return x * keep
''',
    # Only the weights of Linear and Conv layers are penalised: the visible examples once passed with this, but
    # an nn.Embedding table or a matrix-shaped parameter of one's own module counts too.
    "weight_penalty": '''def weight_penalty(model, l1=0.0, l2=0.0, include_bias=False):
    total = torch.zeros(())
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            for name, parameter in module.named_parameters(recurse=False):
                if include_bias or name == "weight":
                    total = total + l1 * parameter.abs().sum() + 0.5 * l2 * parameter.pow(2).sum()
    return total
''',
}

# What the judge's feedback must name for each of them (the `mistakes=` labels in solutions/06_regularization/judge.py).
MISTAKES = {
    "test_batchnorm": "the running variance is updated with the biased batch variance (PyTorch uses the unbiased one, "
                      "m/(m - 1)·σ²)",
    "test_dropout": "the survivors are not scaled by 1/(1 - p) (the original, non-inverted dropout)",
    "test_weight_penalty": "only the weights of nn.Linear and nn.Conv modules are visited (every parameter with "
                           "p.dim() >= 2 counts, whatever module holds it)",
}
