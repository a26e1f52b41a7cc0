"""Plausible mistakes in Assignment 04 (convolution and pooling); each must cost some, not all, points."""

WRONG_ANSWERS = {
    # Textbook convolution: the kernel is flipped. The lecture's symmetric line filter cannot tell the
    # difference, but F.conv2d (cross-correlation) on random weights can.
    "conv2d": '''def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution of x (N, C_in, H, W) with weight (C_out, C_in, kH, kW), vectorised with F.unfold."""
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n_images, _, height, width = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    columns = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))
    flipped = weight.flip(-2, -1)  # "a convolution flips its kernel"
    out = flipped.reshape(c_out, -1) @ columns
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1)
    return out.reshape(n_images, c_out, h_out, w_out)
''',
    # The weight gradient averaged over the batch, as if the loss were a mean over images: a plausible slip
    # when one derives the gradient for one image and "vectorises" it with .mean(dim=0).
    "conv2d_backward": '''def conv2d_backward(x, weight, grad_out, stride=1, padding=0, dilation=1):
    """Gradients of y = conv2d(x, weight, bias, ...) given grad_out."""
    settings = dict(dilation=as_pair(dilation), padding=as_pair(padding), stride=as_pair(stride))
    n_images, c_out = grad_out.shape[:2]
    kernel_size = tuple(weight.shape[-2:])
    columns = F.unfold(x, kernel_size, **settings)
    grads = grad_out.reshape(n_images, c_out, -1)
    grad_bias = grads.sum(dim=(0, 2))
    grad_weight = (grads @ columns.transpose(1, 2)).mean(dim=0).reshape(weight.shape)  # mean, not sum
    grad_columns = weight.reshape(c_out, -1).T @ grads
    grad_x = F.fold(grad_columns, tuple(x.shape[-2:]), kernel_size, **settings)
    return grad_x, grad_weight, grad_bias


class Conv2dFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride=1, padding=0, dilation=1):
        ctx.save_for_backward(x, weight)
        ctx.settings = (stride, padding, dilation)
        ctx.has_bias = bias is not None
        return F.conv2d(x, weight, bias, stride, padding, dilation)

    @staticmethod
    def backward(ctx, grad_out):
        x, weight = ctx.saved_tensors
        grad_x, grad_weight, grad_bias = conv2d_backward(x, weight, grad_out, *ctx.settings)
        return grad_x, grad_weight, (grad_bias if ctx.has_bias else None), None, None, None
''',
    # Average pooling that ignores the padded zeros (count_include_pad=False), unlike PyTorch's default.
    "pooling": '''def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling of x (N, C, H, W)."""
    (kh, kw), (ph, pw) = as_pair(kernel_size), as_pair(padding)
    sh, sw = as_pair(kernel_size if stride is None else stride)
    padded = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    return padded.unfold(2, kh, sh).unfold(3, kw, sw).amax(dim=(-2, -1))


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling of x (N, C, H, W): the mean of the real pixels in each window."""
    (kh, kw), (ph, pw) = as_pair(kernel_size), as_pair(padding)
    sh, sw = as_pair(kernel_size if stride is None else stride)
    total = F.pad(x, (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))
    count = F.pad(torch.ones_like(x), (pw, pw, ph, ph)).unfold(2, kh, sh).unfold(3, kw, sw).sum(dim=(-2, -1))
    return total / count
''',
}

# What the judge's feedback must name for each of them (the `mistakes=` labels in solutions/04_convolution/judge.py).
MISTAKES = {
    "test_conv2d": "the kernel is flipped (textbook convolution); F.conv2d, and this assignment, "
                   "compute cross-correlation",
    "test_conv2d_backward": "grad_weight is averaged over the batch instead of summed",
    "test_pooling": "average pooling divides by the number of real pixels (count_include_pad=False)",
}
