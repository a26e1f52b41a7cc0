"""Plausible mistakes in Assignment 06 (regularization); each must cost some, not all, points."""

WRONG_ANSWERS = {
    # The running variance updated with the biased batch variance, the one used for normalising. The outputs in
    # training mode are right; the running statistics (and so every output in eval mode) are not PyTorch's.
    "batchnorm": '''class BatchNorm(nn.Module):
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
        if self.training:
            mean = x.mean(dim=dims)
            var = x.var(dim=dims, unbiased=False)
            with torch.no_grad():
                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)
                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var)  # biased variance
        else:
            mean, var = self.running_mean, self.running_var
        out = (x - mean.reshape(shape)) / torch.sqrt(var.reshape(shape) + self.eps)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out
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
}
