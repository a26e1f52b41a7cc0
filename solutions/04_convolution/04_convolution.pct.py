# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Assignment 04 — Convolution and pooling
#
# In this assignment you build the two operations that make a network *convolutional*, check them against
# PyTorch, do the size arithmetic every CNN designer does in their head, and finally train a small CNN on MNIST.
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `conv2d_loops`: 2-D convolution with explicit loops | 1 |
# | 2 | `conv2d`: the same, vectorised with `F.unfold` + one matrix product, with dilation | 2 |
# | 3 | `max_pool2d` and `avg_pool2d` | 2 |
# | 4 | `conv_output_size` and `network_output_shape` | 2 |
# | 5 | a small CNN that reaches ≥ 98.5 % on the MNIST test set, trained in ≤ 60 s | 3 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a test cell. What you see in it are the *visible
# tests*: small examples you can check by hand, run them as often as you like. When your notebook is graded,
# the same cell also runs *hidden tests*: your functions are called on many other inputs (random shapes,
# kernel sizes, strides, paddings, dtypes) and compared with PyTorch. A part scores its points only if all of
# its tests pass, so passing the visible tests is necessary but not sufficient: make your code correct for
# every input the docstring allows, not just for the examples.
#
# Some more rules:
#
# - Parts 1–3 are about implementing operations that PyTorch already has. Inside your functions, PyTorch's
#   own convolution and pooling (`F.conv2d`, `torch.conv2d`, `nn.Conv2d`, `F.max_pool2d`, `F.avg_pool2d`,
#   `nn.MaxPool2d`, the adaptive and `lp_` pools, …) are **forbidden**; the hidden tests detect such calls,
#   also when they happen inside an `nn.Module`. Tensor arithmetic, indexing, `F.pad`, reductions, `matmul` /
#   `einsum` are fine, and so are `F.unfold` and `Tensor.unfold` (except in part 1, which is about loops). In
#   part 5 you *should* use `nn.Conv2d` and friends.
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the functions or change their arguments, and do not edit the test cells.
# - Code that interferes with grading (rebinding library functions, importing `course_grading`, reading
#   other files) sends the submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook should run in about
#   a minute on a laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import time

import torch
from torch import nn
from torch.nn import functional as F

from course_utils import (TensorLoader, choose_device, evaluate, fit, image_tensors, load_mnist,
                          seed_everything)

choice = choose_device()
device = choice.device
print(choice.summary())


def as_pair(value):
    """An int or a pair as a pair of ints: 3 -> (3, 3), (2, 1) -> (2, 1)."""
    if isinstance(value, int):
        return (value, value)
    first, second = value
    return (int(first), int(second))


# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — Convolution with loops (1 point)
#
# A convolutional layer slides each of its `C_out` kernels over the input. A kernel has as many channels as the
# input (a colour image needs a `3 × kH × kW` kernel), and at each position it multiplies the window of the
# input element-wise with the kernel and sums *everything*, over all input channels too, into one number of
# the output map. With input `x` of shape `(N, C_in, H, W)`, weights `w` of shape `(C_out, C_in, kH, kW)`,
# bias `b` of shape `(C_out,)`, stride $s$ and zero padding $p$:
#
# $$y_{n,o,i,j} \;=\; b_o + \sum_{c=0}^{C_{in}-1} \sum_{u=0}^{k_H-1} \sum_{v=0}^{k_W-1}
#     w_{o,c,u,v}\; \tilde x_{n,\,c,\; i\,s_H + u,\; j\,s_W + v}$$
#
# where $\tilde x$ is `x` with $p_H$ rows of zeros added at the top and at the bottom and $p_W$ columns of zeros
# at the left and at the right. The output has
#
# $$H_{out} = \left\lfloor \frac{H + 2p_H - k_H}{s_H} \right\rfloor + 1, \qquad
#   W_{out} = \left\lfloor \frac{W + 2p_W - k_W}{s_W} \right\rfloor + 1 .$$
#
# Note that the kernel is *not* flipped: what deep learning calls convolution is, strictly speaking,
# cross-correlation, and that is what `F.conv2d` computes.
#
# The lecture's *vertical-line filter* shows what this does. On an image that is 1 in one column and 0
# elsewhere, the window centred on the line gives $3 \cdot 2 = 6$, a window with the line at its edge gives
# $3 \cdot (-1) = -3$, and a flat region gives 0:
#
# $$\begin{pmatrix} -1 & 2 & -1 \\ -1 & 2 & -1 \\ -1 & 2 & -1 \end{pmatrix}$$
#
# Write `conv2d_loops` with Python `for` loops over the output positions (you may loop over `n` and `o` too,
# and compute each output number as a sum over one window). It only has to work on small inputs. `stride` and
# `padding` are each an int or a pair `(for height, for width)`; `as_pair` from the setup cell converts them.

# %% nbgrader={"grade": false, "grade_id": "conv2d_loops", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d_loops(x, weight, bias=None, stride=1, padding=0):
    """2-D convolution (cross-correlation) of x (N, C_in, H, W) with weight (C_out, C_in, kH, kW).

    bias: None or a tensor (C_out,). stride, padding: int or pair (height, width); padding adds zeros.
    Returns a tensor (N, C_out, H_out, W_out) with x's dtype, equal to F.conv2d(x, weight, bias, stride, padding).
    Use explicit Python loops; no F.unfold / Tensor.unfold and no PyTorch convolution functions.
    """
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw) = as_pair(stride), as_pair(padding)
    n_images, channels, height, width = x.shape
    c_out, _, kh, kw = weight.shape
    padded = x.new_zeros(n_images, channels, height + 2 * ph, width + 2 * pw)
    padded[:, :, ph:ph + height, pw:pw + width] = x
    h_out = (height + 2 * ph - kh) // sh + 1
    w_out = (width + 2 * pw - kw) // sw + 1
    out = x.new_zeros(n_images, c_out, h_out, w_out)
    for n in range(n_images):
        for o in range(c_out):
            for i in range(h_out):
                for j in range(w_out):
                    window = padded[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw]
                    out[n, o, i, j] = (window * weight[o]).sum()
            if bias is not None:
                out[n, o] += bias[o]
    return out
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv2d_loops", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

image = torch.zeros(1, 1, 5, 5)
image[0, 0, :, 2] = 1.0  # a vertical line in the middle column
line_filter = torch.tensor([[-1.0, 2.0, -1.0]] * 3).reshape(1, 1, 3, 3)

out = conv2d_loops(image, line_filter)
assert isinstance(out, torch.Tensor), f"conv2d_loops should return a torch.Tensor, got {type(out).__name__}"
assert out.shape == (1, 1, 3, 3), f"5×5 image, 3×3 kernel, no padding: expected shape (1, 1, 3, 3), got {tuple(out.shape)}"
assert out[0, 0].tolist() == [[-3.0, 6.0, -3.0]] * 3, (
    f"each output row should be [-3, 6, -3] (line at the left edge, centre, right edge); got {out[0, 0].tolist()}")
assert conv2d_loops(torch.ones(1, 1, 4, 4), line_filter).abs().max() == 0, "a flat image should give 0 everywhere"

out = conv2d_loops(image, line_filter, padding=1)
assert out.shape == (1, 1, 5, 5), f"padding=1 keeps a 5×5 image 5×5 under a 3×3 kernel; got {tuple(out.shape)}"
assert out[0, 0, 0].tolist() == [0.0, -2.0, 4.0, -2.0, 0.0], (
    f"in the top row, the padded zero row covers one kernel row: expected [0, -2, 4, -2, 0], got {out[0, 0, 0].tolist()}")

out = conv2d_loops(image, line_filter, bias=torch.tensor([0.5]), stride=2, padding=1)
assert out.shape == (1, 1, 3, 3), f"stride 2 on the padded 7×7 image gives 3×3; got {tuple(out.shape)}"
assert out[0, 0].tolist() == [[0.5, 4.5, 0.5], [0.5, 6.5, 0.5], [0.5, 4.5, 0.5]], (
    f"with stride 2, padding 1 and bias 0.5, got {out[0, 0].tolist()}")

# Several channels, filters and images, against PyTorch
gen = torch.Generator().manual_seed(0)
x = torch.randn(2, 3, 6, 7, generator=gen, dtype=torch.float64)
w = torch.randn(4, 3, 3, 2, generator=gen, dtype=torch.float64)
b = torch.randn(4, generator=gen, dtype=torch.float64)
with T.forbidden(F.conv2d):
    out = conv2d_loops(x, w, b, stride=(2, 1), padding=(1, 0))
expected = F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0))
assert out.shape == expected.shape, f"expected shape {tuple(expected.shape)}, got {tuple(out.shape)}"
assert out.dtype == x.dtype, f"the output should have the input's dtype {x.dtype}, got {out.dtype}"
assert torch.allclose(out, expected, atol=1e-10), f"differs from F.conv2d by up to {(out - expected).abs().max():.3g}"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBIDDEN = [F.unfold, torch.Tensor.unfold] + T.pytorch_implementations("convolution")

_py, _gen = T.py_rng(4101), T.rng(4102)
for _case in range(10):
    _dtype = (torch.float64, torch.float32)[_case % 2]
    _n, _cin, _cout = _py.randint(1, 2), _py.randint(1, 3), _py.randint(1, 3)
    _kh, _kw = _py.randint(1, 3), _py.randint(1, 3)
    _sh, _sw, _ph, _pw = _py.randint(1, 3), _py.randint(1, 3), _py.randint(0, 2), _py.randint(0, 2)
    _h, _w = _py.randint(max(1, _kh - 2 * _ph), 7), _py.randint(max(1, _kw - 2 * _pw), 7)
    _x = torch.randn(_n, _cin, _h, _w, generator=_gen, dtype=_dtype)
    _wt = torch.randn(_cout, _cin, _kh, _kw, generator=_gen, dtype=_dtype)
    _b = torch.randn(_cout, generator=_gen, dtype=_dtype) if _case % 3 else None
    _stride = _sh if _sh == _sw and _case % 4 else (_sh, _sw)
    _padding = _ph if _ph == _pw and _case % 4 else (_ph, _pw)
    _what = (f"conv2d_loops on x {tuple(_x.shape)} {_dtype}, weight {tuple(_wt.shape)}, bias={_b is not None}, "
             f"stride={_stride}, padding={_padding}")
    _expected = F.conv2d(_x, _wt, _b, stride=(_sh, _sw), padding=(_ph, _pw))
    with T.forbidden(*_FORBIDDEN):
        _out = conv2d_loops(_x.clone(), _wt.clone(), None if _b is None else _b.clone(), stride=_stride,
                            padding=_padding)
    T.assert_type(_out, torch.Tensor, name=_what)
    assert _out.dtype == _dtype, f"{_what}: the output should be {_dtype}, got {_out.dtype}"
    _tol = 1e-10 if _dtype == torch.float64 else 2e-5
    T.assert_close(_out, _expected, atol=_tol, rtol=_tol, name=_what)
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — Vectorised convolution with `unfold` (2 points)
#
# Python loops are far too slow for real images. The standard trick (*im2col*) copies every window into a
# column of a matrix, after which the whole convolution is **one matrix product**.
# `F.unfold(x, kernel_size, dilation, padding, stride)` does the copying: for `x` of shape `(N, C_in, H, W)` it
# returns `(N, C_in·kH·kW, L)` with $L = H_{out} W_{out}$; column $\ell = i \cdot W_{out} + j$ is the window
# that produces output position $(i, j)$, flattened in the order $(c, u, v)$, the same order as
# `weight.reshape(C_out, -1)`. So
#
# $$Y = W_{\text{mat}} \cdot \text{cols}: \quad (C_{out},\, C_{in}k_Hk_W) \cdot (N,\, C_{in}k_Hk_W,\, L)
#   \;\to\; (N,\, C_{out},\, L),$$
#
# then add the bias and reshape `L` back into $H_{out} \times W_{out}$.
#
# This version also takes a **dilation** $d$: the kernel's taps are spread $d$ pixels apart, so a 3×3 kernel
# with $d = 2$ covers a 5×5 area with 9 weights (more context, same parameters):
#
# $$y_{n,o,i,j} = b_o + \sum_{c,u,v} w_{o,c,u,v}\; \tilde x_{n,\,c,\; i\,s_H + u\,d_H,\; j\,s_W + v\,d_W},
#   \qquad H_{out} = \left\lfloor \frac{H + 2p_H - d_H(k_H - 1) - 1}{s_H} \right\rfloor + 1 .$$
#
# With $d = 1$ this is the formula of part 1. Your `conv2d` must match `F.conv2d` for every combination of
# kernel size (square or not), stride, padding and dilation (each an int or a pair), with or without bias, for
# float32 and float64. Do not call `conv2d_loops` from it.

# %% nbgrader={"grade": false, "grade_id": "conv2d", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    """2-D convolution of x (N, C_in, H, W) with weight (C_out, C_in, kH, kW), vectorised with F.unfold.

    bias: None or a tensor (C_out,). stride, padding, dilation: int or pair (height, width).
    Returns a tensor (N, C_out, H_out, W_out) with x's dtype, equal to
    F.conv2d(x, weight, bias, stride, padding, dilation).
    """
    ### BEGIN SOLUTION
    (sh, sw), (ph, pw), (dh, dw) = as_pair(stride), as_pair(padding), as_pair(dilation)
    n_images, _, height, width = x.shape
    c_out, _, kh, kw = weight.shape
    h_out = (height + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    w_out = (width + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    columns = F.unfold(x, (kh, kw), dilation=(dh, dw), padding=(ph, pw), stride=(sh, sw))  # (N, C_in·kH·kW, L)
    out = weight.reshape(c_out, -1) @ columns  # (N, C_out, L)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1)
    return out.reshape(n_images, c_out, h_out, w_out)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv2d", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

image = torch.zeros(1, 1, 5, 5)
image[0, 0, :, 2] = 1.0
line_filter = torch.tensor([[-1.0, 2.0, -1.0]] * 3).reshape(1, 1, 3, 3)
out = conv2d(image, line_filter)
assert isinstance(out, torch.Tensor), f"conv2d should return a torch.Tensor, got {type(out).__name__}"
assert out.shape == (1, 1, 3, 3), f"expected shape (1, 1, 3, 3), got {tuple(out.shape)}"
assert out[0, 0].tolist() == [[-3.0, 6.0, -3.0]] * 3, f"each row should be [-3, 6, -3]; got {out[0, 0].tolist()}"

# Dilation 2: the 3×3 kernel's taps sit at columns 0, 2, 4 of a 5×5 window, so only the middle tap sees the line
out = conv2d(image, line_filter, dilation=2)
assert out.shape == (1, 1, 1, 1), f"a 3×3 kernel with dilation 2 covers 5×5: expected shape (1, 1, 1, 1), got {tuple(out.shape)}"
assert out.item() == 6.0, f"with dilation 2 the middle column of taps (2, 2, 2) sees the line: expected 6, got {out.item()}"

gen = torch.Generator().manual_seed(0)
x = torch.randn(2, 3, 9, 8, generator=gen)
w = torch.randn(5, 3, 3, 2, generator=gen)
b = torch.randn(5, generator=gen)
with T.forbidden(F.conv2d):
    out = conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2))
expected = F.conv2d(x, w, b, stride=(2, 1), padding=(1, 2), dilation=(1, 2))
assert out.shape == expected.shape, f"expected shape {tuple(expected.shape)}, got {tuple(out.shape)}"
assert out.dtype == x.dtype, f"the output should have the input's dtype {x.dtype}, got {out.dtype}"
assert torch.allclose(out, expected, atol=1e-5), f"differs from F.conv2d by up to {(out - expected).abs().max():.3g}"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBIDDEN = T.pytorch_implementations("convolution")

_py, _gen = T.py_rng(4201), T.rng(4202)
for _case in range(40):
    _dtype = (torch.float64, torch.float32)[_case % 2]
    _n, _cin, _cout = _py.randint(1, 4), _py.randint(1, 4), _py.randint(1, 5)
    _kh, _kw = _py.randint(1, 5), _py.randint(1, 5)
    _sh, _sw, _ph, _pw = _py.randint(1, 3), _py.randint(1, 3), _py.randint(0, 3), _py.randint(0, 3)
    _dh, _dw = _py.choice((1, 1, 2, 3)), _py.choice((1, 1, 2, 3))
    _h = _py.randint(max(1, _dh * (_kh - 1) + 1 - 2 * _ph), 14)
    _w = _py.randint(max(1, _dw * (_kw - 1) + 1 - 2 * _pw), 14)
    _x = torch.randn(_n, _cin, _h, _w, generator=_gen, dtype=_dtype)
    _wt = torch.randn(_cout, _cin, _kh, _kw, generator=_gen, dtype=_dtype)
    _b = torch.randn(_cout, generator=_gen, dtype=_dtype) if _case % 3 else None
    _stride = _sh if _sh == _sw and _case % 4 else (_sh, _sw)
    _padding = _ph if _ph == _pw and _case % 4 else (_ph, _pw)
    _dilation = _dh if _dh == _dw and _case % 4 else (_dh, _dw)
    _what = (f"conv2d on x {tuple(_x.shape)} {_dtype}, weight {tuple(_wt.shape)}, bias={_b is not None}, "
             f"stride={_stride}, padding={_padding}, dilation={_dilation}")
    _expected = F.conv2d(_x, _wt, _b, stride=(_sh, _sw), padding=(_ph, _pw), dilation=(_dh, _dw))
    with T.forbidden(*_FORBIDDEN):
        _out = conv2d(_x.clone(), _wt.clone(), None if _b is None else _b.clone(), stride=_stride,
                      padding=_padding, dilation=_dilation)
    T.assert_type(_out, torch.Tensor, name=_what)
    assert _out.dtype == _dtype, f"{_what}: the output should be {_dtype}, got {_out.dtype}"
    _tol = 1e-10 if _dtype == torch.float64 else 2e-5
    T.assert_close(_out, _expected, atol=_tol, rtol=_tol, name=_what)

# A realistic layer: a batch of 28×28 images through 8 filters, called with positional arguments
_x = torch.randn(16, 3, 28, 28, generator=_gen)
_wt, _b = torch.randn(8, 3, 5, 5, generator=_gen), torch.randn(8, generator=_gen)
with T.forbidden(*_FORBIDDEN):
    _out = conv2d(_x, _wt, _b, 1, 2, 1)
T.assert_close(_out, F.conv2d(_x, _wt, _b, 1, 2, 1), atol=2e-5, rtol=2e-5,
               name="conv2d on x (16, 3, 28, 28) float32, weight (8, 3, 5, 5), stride 1, padding 2, dilation 1")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "speed_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# How much do the loops cost? The next cell times both of your versions against PyTorch on one small layer.

# %% nbgrader={"grade": false, "grade_id": "speed", "locked": true, "schema_version": 3, "solution": false, "task": false}
x_demo, w_demo = torch.randn(1, 3, 16, 16), torch.randn(4, 3, 3, 3)
for name, function in [("conv2d_loops", conv2d_loops), ("conv2d (unfold)", conv2d), ("F.conv2d", F.conv2d)]:
    start = time.perf_counter()
    function(x_demo, w_demo, None, 1, 1)
    print(f"{name:>16}: {1000 * (time.perf_counter() - start):8.2f} ms")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — Max pooling and average pooling (2 points)
#
# Pooling shrinks each activation map channel by channel (no weights, no mixing of channels): a
# $k_H \times k_W$ window moves with stride $s$ and each window is summarised by one number, its maximum or its
# mean. Besides making maps smaller, max pooling makes the network less sensitive to small shifts: the maximum
# of a window does not change when the strong activation moves inside it.
#
# $$y^{\max}_{n,c,i,j} = \max_{0 \le u < k_H,\ 0 \le v < k_W} \tilde x_{n,c,\; i s_H + u,\; j s_W + v},
#   \qquad
#   y^{\text{avg}}_{n,c,i,j} = \frac{1}{k_H k_W} \sum_{u=0}^{k_H-1} \sum_{v=0}^{k_W-1}
#   \tilde x_{n,c,\; i s_H + u,\; j s_W + v}$$
#
# Conventions, the same as PyTorch's defaults:
#
# - `stride=None` means stride = kernel size (non-overlapping windows);
# - the output size is $\lfloor (H + 2p_H - k_H)/s_H \rfloor + 1$ (windows that would stick out are dropped);
# - for **max** pooling the padding is $-\infty$ (a padded cell never wins); for **average** pooling it is 0
#   and the padded zeros *count*: you always divide by $k_H k_W$ (`count_include_pad=True`);
# - `kernel_size`, `stride` and `padding` are each an int or a pair; the padding is at most half the kernel.
#
# The lecture's example: 2×2 max pooling of a 4×4 map keeps the largest number of each 2×2 block.
#
# $$\begin{pmatrix} 12 & 20 & 30 & 0 \\ 8 & 12 & 2 & 0 \\ 34 & 70 & 37 & 4 \\ 112 & 100 & 25 & 12 \end{pmatrix}
#   \;\xrightarrow{\ 2\times 2 \text{ max}\ }\;
#   \begin{pmatrix} 20 & 30 \\ 112 & 37 \end{pmatrix}
#   \qquad
#   \xrightarrow{\ 2\times 2 \text{ avg}\ }\;
#   \begin{pmatrix} 13 & 8 \\ 79 & 19.5 \end{pmatrix}$$
#
# Hint: `F.pad(x, (left, right, top, bottom), value=...)` pads the last two dimensions, and
# `x.unfold(dim, size, step)` makes sliding windows along one dimension (apply it to both).
# `F.unfold` works as well, but it always pads with zeros.

# %% nbgrader={"grade": false, "grade_id": "pooling", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling of x (N, C, H, W); equal to F.max_pool2d(x, kernel_size, stride, padding).

    kernel_size, stride, padding: int or pair (height, width); stride=None means stride = kernel_size;
    padding is -inf. Returns a tensor (N, C, H_out, W_out) with x's dtype.
    """
    ### BEGIN SOLUTION
    (kh, kw), (ph, pw) = as_pair(kernel_size), as_pair(padding)
    sh, sw = as_pair(kernel_size if stride is None else stride)
    padded = F.pad(x, (pw, pw, ph, ph), value=float("-inf"))
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, C, H_out, W_out, kH, kW)
    return windows.amax(dim=(-2, -1))
    ### END SOLUTION


def avg_pool2d(x, kernel_size, stride=None, padding=0):
    """Average pooling of x (N, C, H, W); equal to F.avg_pool2d(x, kernel_size, stride, padding).

    kernel_size, stride, padding: int or pair (height, width); stride=None means stride = kernel_size;
    padding is zeros that count in the mean (divide by kH·kW). Returns a tensor (N, C, H_out, W_out), x's dtype.
    """
    ### BEGIN SOLUTION
    (kh, kw), (ph, pw) = as_pair(kernel_size), as_pair(padding)
    sh, sw = as_pair(kernel_size if stride is None else stride)
    padded = F.pad(x, (pw, pw, ph, ph), value=0.0)
    windows = padded.unfold(2, kh, sh).unfold(3, kw, sw)  # (N, C, H_out, W_out, kH, kW)
    return windows.mean(dim=(-2, -1))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_pooling", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_grading import testing as T

activation = torch.tensor([[12.0, 20.0, 30.0, 0.0],
                           [8.0, 12.0, 2.0, 0.0],
                           [34.0, 70.0, 37.0, 4.0],
                           [112.0, 100.0, 25.0, 12.0]]).reshape(1, 1, 4, 4)
out = max_pool2d(activation, 2)
assert isinstance(out, torch.Tensor), f"max_pool2d should return a torch.Tensor, got {type(out).__name__}"
assert out.shape == (1, 1, 2, 2), f"2×2 pooling of a 4×4 map gives 2×2 (stride defaults to 2); got {tuple(out.shape)}"
assert out[0, 0].tolist() == [[20.0, 30.0], [112.0, 37.0]], f"expected [[20, 30], [112, 37]], got {out[0, 0].tolist()}"
out = avg_pool2d(activation, 2)
assert isinstance(out, torch.Tensor), f"avg_pool2d should return a torch.Tensor, got {type(out).__name__}"
assert out[0, 0].tolist() == [[13.0, 8.0], [79.0, 19.5]], f"expected [[13, 8], [79, 19.5]], got {out[0, 0].tolist()}"

out = max_pool2d(activation, 2, stride=1)
assert out.shape == (1, 1, 3, 3), f"overlapping 2×2 windows with stride 1 give 3×3; got {tuple(out.shape)}"
assert out[0, 0, 0].tolist() == [20.0, 30.0, 30.0], f"first row should be [20, 30, 30], got {out[0, 0, 0].tolist()}"

negative = -activation  # every value is ≤ 0: padding with 0 instead of -inf would change the maximum
out = max_pool2d(negative, 3, stride=1, padding=1)
assert out[0, 0, 0, 0].item() == -8.0, f"max pooling pads with -inf, so the top-left corner is max(-12, -20, -8, -12) = -8; got {out[0, 0, 0, 0].item()}"
out = avg_pool2d(activation, 2, stride=2, padding=1)
assert out[0, 0, 0, 0].item() == 3.0, f"average pooling counts the padded zeros: (0 + 0 + 0 + 12) / 4 = 3; got {out[0, 0, 0, 0].item()}"

gen = torch.Generator().manual_seed(0)
x = torch.randn(2, 3, 7, 6, generator=gen)
with T.forbidden(F.max_pool2d, F.avg_pool2d):
    got_max = max_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0))
    got_avg = avg_pool2d(x, (3, 2), stride=(2, 1), padding=(1, 0))
for got, expected, name in [(got_max, F.max_pool2d(x, (3, 2), (2, 1), (1, 0)), "max_pool2d"),
                            (got_avg, F.avg_pool2d(x, (3, 2), (2, 1), (1, 0)), "avg_pool2d")]:
    assert got.shape == expected.shape, f"{name}: expected shape {tuple(expected.shape)}, got {tuple(got.shape)}"
    assert torch.allclose(got, expected, atol=1e-6), f"{name} differs from PyTorch's by up to {(got - expected).abs().max():.3g}"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

_FORBIDDEN = T.pytorch_implementations("pooling", "convolution")

_py, _gen = T.py_rng(4301), T.rng(4302)
for _case in range(40):
    _dtype = (torch.float32, torch.float64)[_case % 2]
    _kh, _kw = _py.randint(1, 4), _py.randint(1, 4)
    _sh, _sw = _py.randint(1, 3), _py.randint(1, 3)
    _ph, _pw = _py.randint(0, _kh // 2), _py.randint(0, _kw // 2)
    _h, _w = _py.randint(max(1, _kh - 2 * _ph), 11), _py.randint(max(1, _kw - 2 * _pw), 11)
    _x = torch.randn(_py.randint(1, 3), _py.randint(1, 4), _h, _w, generator=_gen, dtype=_dtype) - 0.5
    _kernel = _kh if _kh == _kw and _case % 3 else (_kh, _kw)
    _padding = _ph if _ph == _pw and _case % 3 else (_ph, _pw)
    _stride = None if _case % 5 == 0 else (_sh if _sh == _sw and _case % 3 else (_sh, _sw))
    _setting = (f"x {tuple(_x.shape)} {_dtype}, kernel_size={_kernel}, stride={_stride}, padding={_padding}")
    _kwargs = {"stride": _stride, "padding": _padding} if _case % 4 else {"padding": _padding, "stride": _stride}
    for _name, _student, _reference in [("max_pool2d", max_pool2d, F.max_pool2d), ("avg_pool2d", avg_pool2d, F.avg_pool2d)]:
        _expected = _reference(_x, _kernel, _stride, _padding)
        with T.forbidden(*_FORBIDDEN):
            _out = _student(_x.clone(), _kernel, **_kwargs)
        T.assert_type(_out, torch.Tensor, name=f"{_name} on {_setting}")
        assert _out.dtype == _dtype, f"{_name} on {_setting}: the output should be {_dtype}, got {_out.dtype}"
        _tol = 0.0 if _name == "max_pool2d" else (1e-6 if _dtype == torch.float32 else 1e-12)
        T.assert_close(_out, _expected, atol=_tol, rtol=_tol, name=f"{_name} on {_setting}")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Output-shape arithmetic (2 points)
#
# Designing a CNN means knowing the size of every activation map before you write the first `nn.Linear`. For
# one spatial dimension of size $m$, a kernel of size $n$, padding $p$, stride $s$ and dilation $d$:
#
# $$m_{out} = \left\lfloor \frac{m + 2p - d\,(n - 1) - 1}{s} \right\rfloor + 1$$
#
# With $d = 1$ this is the lecture's $(m - n + 2p)/s + 1$, rounded *down* when the stride does not divide
# evenly. Worked examples from the lecture:
#
# - a 32×32 image under 5 filters of 3×3 (no padding, stride 1) gives 30×30×5; 3 more filters of size 3×3×5
#   give 28×28×3;
# - AlexNet's first layer: a 227×227 image under 11×11 kernels with stride 4 gives $(227 - 11)/4 + 1 = 55$;
# - to keep the size with a 3×3 kernel you need $p = 1$ (for an odd $n$, $p = (n - 1)/2$). The lecture notes say
#   "padding 2" for this case; the formula shows 2 would give 34×34.
#
# Write `conv_output_size` (plain Python `int`s in, an `int` out), then `network_output_shape`, which follows an
# image of shape `(C, H, W)` through a stack of layers described by tuples:
#
# - `("conv", out_channels, k, s, p)`: a `k × k` convolution with stride `s`, padding `p`, dilation 1, and
#   `out_channels` filters (the channel count becomes `out_channels`);
# - `("pool", k, s)`: `k × k` pooling with stride `s` and no padding (the channel count is unchanged).
#
# It returns the final `(C, H, W)` as a tuple of three `int`s, and raises `ValueError` if any layer's output
# would have a height or width below 1 (the kernel does not fit into its padded input).

# %% nbgrader={"grade": false, "grade_id": "shapes", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_output_size(m, n, p=0, s=1, d=1):
    """Output length of a convolution or pooling along one dimension: input m, kernel n, padding p, stride s,
    dilation d (all ints). Returns floor((m + 2p - d(n - 1) - 1) / s) + 1 as an int."""
    ### BEGIN SOLUTION
    return (m + 2 * p - d * (n - 1) - 1) // s + 1
    ### END SOLUTION


def network_output_shape(input_shape, layers):
    """The (C, H, W) tuple of ints after passing an image of shape input_shape = (C, H, W) through `layers`,
    a list of ("conv", out_channels, k, s, p) and ("pool", k, s) tuples. Raises ValueError if some layer's
    output height or width would be < 1."""
    ### BEGIN SOLUTION
    channels, height, width = input_shape
    for layer in layers:
        if layer[0] == "conv":
            _, channels, k, s, p = layer
        else:
            _, k, s = layer
            p = 0
        height, width = conv_output_size(height, k, p, s), conv_output_size(width, k, p, s)
        if height < 1 or width < 1:
            raise ValueError(f"layer {layer} does not fit into its input: the output would be {height}×{width}")
    return (channels, height, width)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_shapes", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
assert conv_output_size(32, 3) == 30, f"32 with a 3-kernel: expected 30, got {conv_output_size(32, 3)}"
assert conv_output_size(227, 11, s=4) == 55, f"AlexNet's first layer: expected 55, got {conv_output_size(227, 11, s=4)}"
assert conv_output_size(32, 3, p=1) == 32, f"padding 1 keeps 32 under a 3-kernel; got {conv_output_size(32, 3, p=1)}"
assert conv_output_size(32, 3, p=2) == 34, f"padding 2 grows 32 to 34 under a 3-kernel; got {conv_output_size(32, 3, p=2)}"
assert conv_output_size(7, 2, s=2) == 3, f"(7 - 2)/2 + 1 = 3.5 rounds down to 3; got {conv_output_size(7, 2, s=2)}"
assert conv_output_size(7, 3, d=2) == 3, f"a 3-kernel with dilation 2 spans 5, so 7 gives 3; got {conv_output_size(7, 3, d=2)}"
assert type(conv_output_size(28, 2, s=2)) is int, (
    f"conv_output_size should return a Python int, got {type(conv_output_size(28, 2, s=2)).__name__} (use //, not /)")

shape = network_output_shape((1, 32, 32), [("conv", 5, 3, 1, 0), ("conv", 3, 3, 1, 0)])
assert shape == (3, 28, 28), f"the lecture's stack 32×32 → 30×30×5 → 28×28×3: expected (3, 28, 28), got {shape}"
assert type(shape) is tuple and all(type(v) is int for v in shape), "network_output_shape should return a tuple of ints"
shape = network_output_shape((3, 227, 227), [("conv", 96, 11, 4, 0), ("pool", 3, 2)])
assert shape == (96, 27, 27), f"AlexNet's conv1 + pool1: expected (96, 27, 27), got {shape}"
shape = network_output_shape((1, 28, 28), [("conv", 16, 3, 1, 1), ("pool", 2, 2), ("conv", 32, 3, 1, 1), ("pool", 2, 2)])
assert shape == (32, 7, 7), f"the usual MNIST trunk: expected (32, 7, 7), got {shape}"
assert network_output_shape((4, 10, 12), []) == (4, 10, 12), "no layers: the shape is unchanged"
try:
    network_output_shape((1, 8, 8), [("pool", 2, 2), ("pool", 2, 2), ("conv", 8, 3, 1, 0)])
except ValueError:
    pass
else:
    raise AssertionError("8×8 → 4×4 → 2×2 leaves no room for a 3×3 kernel: network_output_shape should raise ValueError")
### BEGIN HIDDEN TESTS
from course_grading import testing as T


def _ref_length(m, n, p, s, d):
    return F.conv2d(torch.zeros(1, 1, m, 1), torch.zeros(1, 1, n, 1), stride=(s, 1), padding=(p, 0),
                    dilation=(d, 1)).shape[2]


_py = T.py_rng(4401)
for _ in range(60):
    _n, _d, _s, _p = _py.randint(1, 7), _py.randint(1, 3), _py.randint(1, 5), _py.randint(0, 4)
    _m = _py.randint(max(1, _d * (_n - 1) + 1 - 2 * _p), 70)
    _args = (_m, _n, _p, _s, _d)
    _got = conv_output_size(*_args)
    T.assert_type(_got, int, name=f"conv_output_size{_args}")
    assert _got == _ref_length(*_args), f"conv_output_size{_args} returned {_got}, expected {_ref_length(*_args)}"
assert conv_output_size(m=9, n=3, s=2, p=1, d=2) == _ref_length(9, 3, 1, 2, 2), "conv_output_size with keyword arguments"


def _ref_shape(input_shape, layers):
    """Run a zero image through PyTorch's convolution and pooling; None where PyTorch rejects the stack."""
    x = torch.zeros(1, *input_shape)
    try:
        for layer in layers:
            if layer[0] == "conv":
                x = F.conv2d(x, torch.zeros(layer[1], x.shape[1], layer[2], layer[2]), stride=layer[3], padding=layer[4])
            else:
                x = F.max_pool2d(x, layer[1], stride=layer[2])
    except RuntimeError:
        return None
    return tuple(x.shape[1:])


def _random_layer(rng):
    if rng.random() < 0.6:
        return ("conv", rng.randint(1, 6), rng.randint(1, 5), rng.randint(1, 3), rng.randint(0, 2))
    return ("pool", rng.randint(1, 3), rng.randint(1, 3))


_valid = _invalid = 0
while _valid < 25 or _invalid < 10:
    _input = (_py.randint(1, 4), _py.randint(6, 48), _py.randint(6, 48))
    _layers = [_random_layer(_py) for _ in range(_py.randint(1, 6))]
    _expected = _ref_shape(_input, _layers)
    if _expected is not None and _valid < 25:
        _valid += 1
        _got = network_output_shape(_input, [tuple(layer) for layer in _layers])
        T.assert_type(_got, tuple, name=f"network_output_shape({_input}, {_layers})")
        assert len(_got) == 3 and all(type(v) is int for v in _got), (
            f"network_output_shape({_input}, {_layers}) should be a tuple of 3 ints, got {_got!r}")
        assert _got == _expected, f"network_output_shape({_input}, {_layers}) returned {_got}, expected {_expected}"
    elif _expected is None and _invalid < 10 and _ref_shape(_input, _layers[:-1]) is not None:
        _invalid += 1
        try:
            _got = network_output_shape(_input, _layers)
        except ValueError:
            continue
        raise AssertionError(f"network_output_shape({_input}, {_layers}) returned {_got!r}, but the last layer "
                             "does not fit into its input: it should raise ValueError")
### END HIDDEN TESTS

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — A small CNN on MNIST (3 points)
#
# Now put the pieces together — with PyTorch's own layers this time (`nn.Conv2d`, `nn.MaxPool2d`,
# `nn.BatchNorm2d`, … are allowed and expected here). A LeNet-style network alternates
# *convolution → activation → pooling* a few times, so the maps get smaller and the channels more numerous,
# then flattens the result and classifies it with one or two linear layers. Part 4 tells you the input size of
# the first `nn.Linear`.
#
# 1. In `build_cnn`, return a fresh, untrained network that maps a batch of MNIST images `(N, 1, 28, 28)`,
#    as produced by `image_tensors` (normalised float32), to logits `(N, 10)`. At most **200,000** parameters.
# 2. In the training cell, build it, move it to `device`, and train it on `x_train, y_train` so that
#    `model` ends up trained. The locked cells around it measure the time your cell takes and store it in
#    `train_seconds`: it must be **≤ 60 s** (on a laptop CPU one epoch of a small network is enough). Grading
#    runs your whole notebook again, training included, on a machine that may be busier than yours, so the
#    grader fails only training that takes more than 3 × 60 = 180 s; still, aim for half of the 60 s.
#    `course_utils.fit(model, loader, optimizer, epochs, scheduler=..., plot=False)` and
#    `TensorLoader(x, y, batch_size=..., shuffle=True, device=device)` do the bookkeeping; Adam(W) with a
#    one-cycle learning-rate schedule (`torch.optim.lr_scheduler.OneCycleLR`, stepped every batch, which `fit`
#    does) converges quickly.
# 3. Do not train on the test set. The hidden test evaluates `model` with its own code, in eval mode, on the
#    10,000 MNIST test images, and requires an accuracy of at least **98.5 %**. The cell after training prints
#    yours; since the model is trained again at grading, aim a little higher (≈ 98.8 %) to be safe.

# %% nbgrader={"grade": false, "grade_id": "mnist_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
x_train, y_train = image_tensors(load_mnist(train=True))
x_test, y_test = image_tensors(load_mnist(train=False))
print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}, pixel mean {x_train.mean():.3f}, std {x_train.std():.3f}")


# %% nbgrader={"grade": false, "grade_id": "build_cnn", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_cnn():
    """A new, untrained CNN: (N, 1, 28, 28) normalised MNIST images -> (N, 10) logits; ≤ 200,000 parameters."""
    ### BEGIN SOLUTION
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),  # 16 × 14 × 14
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),  # 32 × 7 × 7
        nn.Flatten(),
        nn.Linear(32 * 7 * 7, 64), nn.ReLU(),
        nn.Linear(64, 10),
    )
    ### END SOLUTION


# %% nbgrader={"grade": false, "grade_id": "train_clock_start", "locked": true, "schema_version": 3, "solution": false, "task": false}
seed_everything(0)
training_started = time.perf_counter()

# %% nbgrader={"grade": false, "grade_id": "train_cnn", "locked": false, "schema_version": 3, "solution": true, "task": false}
### BEGIN SOLUTION
model = build_cnn().to(device)
train_loader = TensorLoader(x_train, y_train, batch_size=64, shuffle=True, device=device, seed=0)
optimizer = torch.optim.AdamW(model.parameters(), lr=0.01, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.01, epochs=1, steps_per_epoch=len(train_loader))
history = fit(model, train_loader, optimizer, epochs=1, scheduler=scheduler, device=device, plot=False)
### END SOLUTION

# %% nbgrader={"grade": false, "grade_id": "train_clock_stop", "locked": true, "schema_version": 3, "solution": false, "task": false}
train_seconds = time.perf_counter() - training_started
print(f"trained in {train_seconds:.1f} s")

# %% nbgrader={"grade": false, "grade_id": "test_accuracy", "locked": true, "schema_version": 3, "solution": false, "task": false}
n_parameters = sum(p.numel() for p in model.parameters())
test_metrics = evaluate(model, TensorLoader(x_test, y_test, batch_size=1000, device=device))
print(f"{n_parameters:,} parameters, trained in {train_seconds:.1f} s, test accuracy {test_metrics['acc']:.2%}")

# %% nbgrader={"grade": true, "grade_id": "test_cnn", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert isinstance(build_cnn(), nn.Module), "build_cnn() should return an nn.Module"
assert isinstance(model, nn.Module), f"`model` should be your trained nn.Module, got {type(model).__name__}"
assert any(isinstance(m, nn.Conv2d) for m in model.modules()), "this part asks for a convolutional network: use nn.Conv2d"
n_parameters = sum(p.numel() for p in model.parameters())
assert n_parameters <= 200_000, f"the network has {n_parameters:,} parameters; at most 200,000 are allowed"
assert isinstance(train_seconds, float), "`train_seconds` should be the float measured around the training cell"
assert train_seconds <= 180, f"training took {train_seconds:.1f} s; it must take at most 60 s (train fewer epochs or a smaller net)"
if train_seconds > 60:
    print(f"warning: training took {train_seconds:.1f} s here; aim for at most 60 s on your machine")
model.eval()
with torch.no_grad():
    logits = model(x_test[:2].to(next(model.parameters()).device))
assert tuple(logits.shape) == (2, 10), f"the model should map (2, 1, 28, 28) images to (2, 10) logits, got {tuple(logits.shape)}"
### BEGIN HIDDEN TESTS
from course_grading import testing as T

T.assert_type(train_seconds, float, name="train_seconds")
assert 0 < train_seconds <= 180, f"training took {train_seconds:.1f} s at grading; at most 3 × 60 s are allowed"
_images, _labels = image_tensors(load_mnist(train=False))
assert len(_labels) == 10_000, "the MNIST test set should have 10,000 images"
_accuracy = T.accuracy(model, _images, _labels)
assert _accuracy >= 0.985, f"test accuracy {_accuracy:.2%}; at least 98.5% is required"
print(f"✓ test accuracy {_accuracy:.2%}")
### END HIDDEN TESTS
