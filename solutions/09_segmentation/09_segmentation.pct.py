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
# # Assignment 09 — Segmentation
#
# Lecture 09 called PyTorch's upsampling layers, checked the notes' examples with them, and trained a UNet with a
# soft Dice loss. In this assignment you write the decoder's layers yourself, in the general form PyTorch has
# them, the loss and the metric with every edge case settled, and you train a small segmentation network on
# harder scenes than the lecture's:
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `upsample`: nearest and bilinear upsampling by integer factors, both `align_corners` conventions | 2 |
# | 2 | `max_unpool`: max-unpooling from saved indices to any output size | 1 |
# | 3 | `conv_transpose2d`: a transposed convolution as zero insertion + an ordinary convolution | 2 |
# | 4 | `dice_loss`: the soft Dice loss per image and class, with smoothing | 2 |
# | 5 | `iou_per_class` and `mean_iou`: IoU with absent classes and ignored pixels | 1 |
# | 6 | `train_segmenter`: a network that reaches a mean IoU of $0.55$ (aim for $0.7$) on cluttered scenes in well under a minute | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. The tests you see there are small
# examples you can check by hand: run them as often as you like. When your notebook is graded, a grader
# outside your notebook calls your functions on many random inputs (batch sizes, channels, image sizes, scale
# factors, strides, paddings, dtypes, empty classes) and compares the results and the gradients with its own
# reference; it checks that PyTorch's own implementation of what you write is not called; and it runs
# `train_segmenter` itself, with a seed of its own, and measures the mean IoU on held-out scenes that it
# generates itself. A part scores its points only if all of its checks pass: make your code correct for every
# input the instructions allow, not just for the examples.
#
# Some more rules:
#
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the functions or change their arguments, and do not edit the test cells.
# - Code that interferes with grading (rebinding library functions, reading other files) sends the
#   submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook should run in about a
#   minute on a laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import torch
from torch import nn
from torch.nn import functional as F

from course_utils import TensorLoader, choose_device, fit, make_scenes, seed_everything, show_scenes

# The networks here are small: on a CPU one thread trains them about as fast as two, and much faster when
# other programs keep the cores busy.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — Nearest and bilinear upsampling (2 points)
#
# **`upsample(x, scale, mode="nearest", align_corners=False)`** enlarges a batch of images `x` of shape
# `(N, C, H, W)` by integer factors and returns a tensor of shape `(N, C, s_h·H, s_w·W)` with the dtype of `x`.
# `scale` is a positive `int` (the same factor for both axes) or a tuple `(s_h, s_w)` of positive `int`s. The
# result must equal `F.interpolate(x, scale_factor=scale, mode=mode, align_corners=...)`; the rules, axis by
# axis (rows with $n = H$, $s = s_h$; columns likewise):
#
# - `mode="nearest"`: output index $i$ copies input index $\lfloor i / s \rfloor$. `align_corners` is ignored.
# - `mode="bilinear"`: output index $i$ samples the input at the position
#   - $u_i = \max\big(0,\ (i + \tfrac12)/s - \tfrac12\big)$ with `align_corners=False` (pixels are squares:
#     the output's squares subdivide the input's), or
#   - $u_i = i \cdot \frac{n - 1}{n s - 1}$ with `align_corners=True` (the corner pixels' centres coincide;
#     $u_i = 0$ when $n s = 1$),
#
#   and interpolates linearly between the input indices $i_0 = \lfloor u_i \rfloor$ and
#   $i_1 = \min(i_0 + 1,\ n - 1)$ with the weight $\lambda = u_i - i_0$: $(1 - \lambda)\,x_{i_0} + \lambda\,x_{i_1}$.
#   First along the rows, then along the columns (the order does not change the result).
#
# Write it with tensor operations (indexing, arithmetic), so that autograd computes its gradient. PyTorch's own
# resampling (`F.interpolate`, `nn.Upsample`, `F.upsample*`, `F.grid_sample`, `F.pixel_shuffle`) must not be
# called. `x` is a float tensor (float32 or float64); `mode` is `"nearest"` or `"bilinear"`.

# %% nbgrader={"grade": false, "grade_id": "upsample", "locked": false, "schema_version": 3, "solution": true, "task": false}
def upsample(x: torch.Tensor, scale: int | tuple[int, int], mode: str = "nearest",
             align_corners: bool = False) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, s_h H, s_w W), as F.interpolate(x, scale_factor=scale, mode=mode, ...)."""
    ### BEGIN SOLUTION
    s_h, s_w = (scale, scale) if isinstance(scale, int) else scale

    def resample_axis(t: torch.Tensor, dim: int, s: int) -> torch.Tensor:
        n = t.shape[dim]
        out_positions = torch.arange(n * s, dtype=torch.float64)
        if mode == "nearest":
            return t.index_select(dim, torch.div(out_positions, s, rounding_mode="floor").long())
        if align_corners:
            u = out_positions * ((n - 1) / (n * s - 1)) if n * s > 1 else torch.zeros_like(out_positions)
        else:
            u = ((out_positions + 0.5) / s - 0.5).clamp(min=0)
        lower = u.floor().long().clamp(max=n - 1)
        upper = (lower + 1).clamp(max=n - 1)
        shape = [1] * t.dim()
        shape[dim] = -1
        weight = (u - lower).to(t.dtype).view(shape)
        return t.index_select(dim, lower) * (1 - weight) + t.index_select(dim, upper) * weight

    return resample_axis(resample_axis(x, 2, s_h), 3, s_w)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_upsample", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

notes = torch.tensor([[[[10.0, 20.0], [30.0, 40.0]]]])  # the notes' 2x2 example, shape (1, 1, 2, 2)

# Nearest: every value copied into a 2x2 block
T.assert_close(upsample(notes, 2)[0, 0], [[10, 10, 20, 20], [10, 10, 20, 20], [30, 30, 40, 40], [30, 30, 40, 40]],
               name="upsample(notes, 2) (nearest)")
assert upsample(notes, (1, 3)).shape == (1, 1, 2, 6), "scale (1, 3) keeps the rows and triples the columns"

# Bilinear, align_corners=False: positions 0 (clamped), 0.25, 0.75, 1 -> 10, 12.5, 17.5, 20 in the first row
T.assert_close(upsample(notes, 2, "bilinear")[0, 0],
               [[10, 12.5, 17.5, 20], [15, 17.5, 22.5, 25], [25, 27.5, 32.5, 35], [30, 32.5, 37.5, 40]],
               name="upsample(notes, 2, 'bilinear') (align_corners=False)")
# One row [10, 20], tripled: align_corners=True samples 0, 0.2, ..., 1; align_corners=False -1/3 (-> 0), 0, 1/3, ...
row = torch.tensor([[[[10.0, 20.0]]]])
T.assert_close(upsample(row, (1, 3), "bilinear", align_corners=True)[0, 0, 0], [10, 12, 14, 16, 18, 20],
               name="upsample(row, (1, 3), 'bilinear', align_corners=True)")
T.assert_close(upsample(row, (1, 3), "bilinear")[0, 0, 0], [10, 10, 40 / 3, 50 / 3, 20, 20],
               name="upsample(row, (1, 3), 'bilinear') (align_corners=False: clamped at both ends)")
T.assert_close(upsample(torch.tensor([[[[7.0]]]]), 3, "bilinear", align_corners=True), torch.full((1, 1, 3, 3), 7.0),
               name="a single pixel, align_corners=True (n - 1 = 0: every position is 0)")

# Random batches against F.interpolate, without calling it, dtype kept, gradient flowing
x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
for scale in (2, (3, 2)):
    for mode, corners in (("nearest", None), ("bilinear", False), ("bilinear", True)):
        with T.forbidden("upsampling"):
            got = upsample(x, scale, mode, bool(corners))
        T.assert_type(got, torch.Tensor)
        assert got.dtype == torch.float64, f"the result should keep x's dtype float64, got {got.dtype}"
        T.assert_close(got, F.interpolate(x, scale_factor=scale, mode=mode, align_corners=corners),
                       name=f"upsample(x, {scale}, {mode!r}, align_corners={corners}) vs F.interpolate")
leaf = torch.ones(1, 1, 2, 2, requires_grad=True)
upsample(leaf, 2).sum().backward()
T.assert_close(leaf.grad, torch.full((1, 1, 2, 2), 4.0), name="gradient of sum(upsample(x, 2)): 4 copies of each pixel")

print("✓ Part 1: upsample passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — Max-unpooling to any size (1 point)
#
# `F.max_pool2d(x, k, return_indices=True)` returns, next to the maxima, their positions: for every value, the
# index of its pixel in the **flattened** $H \times W$ plane of its own image and channel ($\text{row} \cdot W +
# \text{column}$). Pooling a $5\times5$ map with $k = 2$ gives $2\times2$ values and forgets the last row and
# column, so the unpooling needs the size to restore.
#
# **`max_unpool(values, indices, output_size)`**: `values` of shape `(N, C, h, w)` (float), `indices` an int64
# tensor of the same shape, `output_size = (H, W)`. Return a tensor of shape `(N, C, H, W)` with the dtype of
# `values`, zero everywhere except that `values[n, c, i, j]` is placed at the flat position
# `indices[n, c, i, j]` of the plane `(n, c)`. The indices of one plane are distinct and in $[0, HW)$. The result
# equals `F.max_unpool2d(values, indices, kernel_size, output_size=(H, W))` for any kernel size; do not call
# `F.max_unpool2d` or `nn.MaxUnpool2d`. The gradient with respect to `values` must flow (autograd).

# %% nbgrader={"grade": false, "grade_id": "unpool", "locked": false, "schema_version": 3, "solution": true, "task": false}
def max_unpool(values: torch.Tensor, indices: torch.Tensor, output_size: tuple[int, int]) -> torch.Tensor:
    """Place values[n, c, i, j] at flat position indices[n, c, i, j] of an (H, W) plane of zeros."""
    ### BEGIN SOLUTION
    n, c = values.shape[:2]
    planes = values.new_zeros(n, c, output_size[0] * output_size[1])
    planes = planes.scatter(2, indices.reshape(n, c, -1), values.reshape(n, c, -1))
    return planes.view(n, c, *output_size)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_unpool", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# The notes' example: pool a 4x4 matrix, then unpool [[1, 2], [3, 4]] with the pooling's indices
pooled_input = torch.tensor([[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]]).view(1, 1, 4, 4)
_, where = F.max_pool2d(pooled_input, 2, return_indices=True)
assert where.flatten().tolist() == [5, 2, 12, 15], "the maxima 5, 6, 7, 8 sit at flat positions 5, 2, 12, 15"
got = max_unpool(torch.tensor([[[[1.0, 2], [3, 4]]]]), where, (4, 4))
T.assert_type(got, torch.Tensor)
T.assert_close(got[0, 0], [[0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]], name="the notes' max-unpooling")

# A 5x5 map pooled to 2x2: the output size restores the fifth row and column (the flat index uses W = 5)
odd = torch.arange(25.0).view(1, 1, 5, 5)
maxima, where = F.max_pool2d(odd, 2, return_indices=True)
assert where.flatten().tolist() == [6, 8, 16, 18], "in a 5-wide plane, row 1 column 1 is flat index 1 * 5 + 1 = 6"
got = max_unpool(maxima, where, (5, 5))
assert got.shape == (1, 1, 5, 5), f"output_size (5, 5) -> shape (1, 1, 5, 5), got {tuple(got.shape)}"
T.assert_close(got, F.max_unpool2d(maxima, where, 2, output_size=(5, 5)), name="max_unpool to 5x5")

# Every image and channel has its own plane; dtype kept; no F.max_unpool2d; the gradient reaches the values
x = torch.randn(2, 3, 6, 7, dtype=torch.float64)
maxima, where = F.max_pool2d(x, 3, return_indices=True)
leaf = maxima.clone().requires_grad_(True)
with T.forbidden("unpooling"):
    got = max_unpool(leaf, where, (6, 7))
assert got.dtype == torch.float64, f"the result should keep the values' dtype float64, got {got.dtype}"
T.assert_close(got, F.max_unpool2d(maxima, where, 3, output_size=(6, 7)), name="max_unpool of a (2, 3) batch")
(got * x).sum().backward()
T.assert_close(leaf.grad, maxima, name="d sum(max_unpool(v) * x) / dv = x at the saved positions (here: the maxima)")

print("✓ Part 2: max_unpool passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — Transposed convolution (2 points)
#
# The lecture wrote a one-channel transposed convolution without bias or `output_padding`. Write the general one,
# **`conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0)`**, equal to
# `F.conv_transpose2d` with the same arguments (`dilation=1`, `groups=1`):
#
# - `x` is `(N, C_in, H, W)`; `weight` has PyTorch's layout for transposed convolutions, `(C_in, C_out, k_h, k_w)`
#   (note: *in* channels first, the other way round from `F.conv2d`); `bias` is `None` or `(C_out,)`.
# - `stride` $s \ge 1$, `padding` $p$ and `output_padding` $o$ are `int`s, the same for both axes, with
#   $0 \le p \le \min(k_h, k_w) - 1$ and $0 \le o < s$.
# - The output has $(H - 1)s - 2p + k_h + o$ rows and $(W - 1)s - 2p + k_w + o$ columns.
#
# Compute it as zero insertion + an ordinary convolution: put $s - 1$ zeros between neighbouring input values,
# pad $k - 1 - p$ zeros on the top and left and $k - 1 - p + o$ on the bottom and right (per axis, with that
# axis's $k$), and convolve with stride 1 (`F.conv2d`) with the kernel rotated by 180° and its two channel axes
# swapped. Add the bias. The gradients with respect to `x`, `weight` and `bias` must flow (autograd).
# Do not call `F.conv_transpose2d`, `nn.ConvTranspose2d`, `torch.convolution` or a convolution's gradient
# functions (`torch.nn.grad`).

# %% nbgrader={"grade": false, "grade_id": "conv_t", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_transpose2d(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None, stride: int = 1,
                     padding: int = 0, output_padding: int = 0) -> torch.Tensor:
    """F.conv_transpose2d(x, weight, bias, stride, padding, output_padding), by zero insertion + F.conv2d."""
    ### BEGIN SOLUTION
    n, c_in, h, w = x.shape
    k_h, k_w = weight.shape[-2:]
    dilated = x.new_zeros(n, c_in, (h - 1) * stride + 1, (w - 1) * stride + 1)
    dilated[:, :, ::stride, ::stride] = x
    before_h, before_w = k_h - 1 - padding, k_w - 1 - padding
    framed = F.pad(dilated, [before_w, before_w + output_padding, before_h, before_h + output_padding])
    rotated = weight.flip(-2, -1).transpose(0, 1)  # (C_out, C_in, k_h, k_w), as F.conv2d wants it
    return F.conv2d(framed, rotated, bias)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_conv_t", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

TRANSPOSED = ("torch.nn.functional.conv_transpose2d", "torch.conv_transpose2d", "torch.convolution")

# The notes' example: [[2, 5], [4, 13]], stride 2, padding 1, their 3x3 kernel (PyTorch stores it rotated)
small = torch.tensor([[[[2.0, 5], [4, 13]]]])
notes_kernel = torch.tensor([[3.0, 1, 2], [2, 0, 0], [5, 4, 7]])
got = conv_transpose2d(small, notes_kernel.flip(-2, -1).view(1, 1, 3, 3), stride=2, padding=1)
T.assert_type(got, torch.Tensor)
T.assert_close(got[0, 0], [[0, 4, 0], [18, 127, 57], [0, 8, 0]], name="the notes' transposed convolution")

# output_padding adds rows and columns at the bottom and right: (2 - 1) * 2 - 2 + 3 + 1 = 4, so 2x2 -> 4x4
got = conv_transpose2d(small, notes_kernel.flip(-2, -1).view(1, 1, 3, 3), stride=2, padding=1, output_padding=1)
assert got.shape == (1, 1, 4, 4), f"output_padding=1 gives a 4x4 output here, got {tuple(got.shape)[-2:]}"
T.assert_close(got[0, 0, :3, :3], [[0, 4, 0], [18, 127, 57], [0, 8, 0]], name="output_padding keeps the rest")

# Channels, a non-square kernel and the bias, against F.conv_transpose2d (which must not be called)
x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
weight, bias = torch.randn(3, 2, 2, 3, dtype=torch.float64), torch.randn(2, dtype=torch.float64)
for stride, padding, output_padding in [(1, 0, 0), (2, 1, 1), (3, 0, 2)]:
    settings = {"stride": stride, "padding": padding, "output_padding": output_padding}
    with T.forbidden(*TRANSPOSED):
        got = conv_transpose2d(x, weight, bias, **settings)
    T.assert_close(got, F.conv_transpose2d(x, weight, bias, **settings), name=f"conv_transpose2d with {settings}")

# Gradients, against autograd through F.conv_transpose2d
leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
conv_transpose2d(*leaves, stride=2, padding=1, output_padding=1).pow(2).sum().backward()
theirs = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
F.conv_transpose2d(*theirs, stride=2, padding=1, output_padding=1).pow(2).sum().backward()
for name, mine, reference in zip(["x", "weight", "bias"], leaves, theirs):
    T.assert_close(mine.grad, reference.grad, name=f"the gradient with respect to {name}")

print("✓ Part 3: conv_transpose2d passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — The soft Dice loss, per image (2 points)
#
# The lecture's soft Dice loss added up each class over the whole batch. Medical-imaging code usually scores each
# image separately, so that a small object in one image counts as much as a large one in another. Write
# **`dice_loss(scores, target, smooth=1.0)`**:
#
# - `scores` `(N, C, H, W)` are logits (float32 or float64); $p_{n,c}(x)$ = their softmax over the classes.
#   `target` `(N, H, W)` is int64 with classes in $[0, C)$; $g_{n,c}(x) = 1$ where `target` is $c$, else 0.
# - For every image $n$ and **every** class $c$ (the background included), with sums over the image's pixels $x$:
#
#   $$ D_{n,c} = \frac{2\sum_x p_{n,c}(x)\, g_{n,c}(x) + \text{smooth}}{\sum_x p_{n,c}(x) + \sum_x g_{n,c}(x) +
#      \text{smooth}}, \qquad L = 1 - \frac{1}{NC}\sum_{n,c} D_{n,c}. $$
#
# - `smooth` $> 0$ is in the numerator *and* the denominator: a class that is absent from an image and predicted
#   nowhere in it gets $D_{n,c} = 1$ (nothing to find, nothing found), not $0/0$.
# - Return $L$ as a 0-dimensional tensor with the dtype of `scores`, differentiable with respect to `scores`.

# %% nbgrader={"grade": false, "grade_id": "dice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dice_loss(scores: torch.Tensor, target: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """1 - mean over images and classes of the smoothed soft Dice coefficient."""
    ### BEGIN SOLUTION
    p = torch.softmax(scores, dim=1)
    g = F.one_hot(target, num_classes=scores.shape[1]).movedim(-1, 1).to(scores.dtype)
    pixels = (2, 3)
    coefficient = (2 * (p * g).sum(pixels) + smooth) / (p.sum(pixels) + g.sum(pixels) + smooth)  # (N, C)
    return 1 - coefficient.mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_dice", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T


def confident(labels: torch.Tensor, classes: int) -> torch.Tensor:
    """Logits whose softmax is exactly one-hot in float32 (the other classes' exp(-200) underflows to 0)."""
    return 200 * F.one_hot(labels, classes).movedim(-1, 1).float()


# One 2x2 image, two classes. Truth [[0, 1], [1, 1]], prediction [[0, 0], [1, 1]]:
#   class 0: overlap 1, sizes 2 + 1 -> (2 + 1) / (3 + 1) = 3/4;  class 1: overlap 2, sizes 2 + 3 -> (4 + 1) / (5 + 1) = 5/6
truth = torch.tensor([[[0, 1], [1, 1]]])
guess = torch.tensor([[[0, 0], [1, 1]]])
loss = dice_loss(confident(guess, 2), truth)
T.assert_type(loss, torch.Tensor)
assert loss.shape == () and loss.dtype == torch.float32, f"expected a 0-dim float32 tensor, got {tuple(loss.shape)} {loss.dtype}"
T.assert_close(loss, 1 - (3 / 4 + 5 / 6) / 2, name="dice_loss, two classes")
# A third class, absent from truth and prediction: D = smooth / smooth = 1 (without smoothing it would be 0/0)
T.assert_close(dice_loss(confident(guess, 3), truth), 1 - (3 / 4 + 5 / 6 + 1) / 3,
               name="dice_loss with a class absent from both (it counts as D = 1)")
# The smoothing constant enters numerator and denominator: smooth = 0.5
T.assert_close(dice_loss(confident(guess, 2), truth, smooth=0.5), 1 - (2.5 / 3.5 + 4.5 / 5.5) / 2,
               name="dice_loss(..., smooth=0.5)")
# A perfect prediction scores 0, also on an all-background image (the absent classes count as found)
empty = torch.zeros(1, 2, 2, dtype=torch.long)
T.assert_close(dice_loss(confident(empty, 4), empty), 0.0, name="all background, predicted all background")
T.assert_close(dice_loss(confident(truth, 2), truth), 0.0, name="a perfect prediction")
# Per image, not per batch: the two images' losses average (summing over the batch would give another value)
pair = dice_loss(confident(torch.cat([guess, empty]), 3), torch.cat([truth, empty]))
T.assert_close(pair, (dice_loss(confident(guess, 3), truth) + 0) / 2, name="a batch of two images")
# Softmax inside, float64 kept, differentiable
scores = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
loss = dice_loss(scores, torch.randint(0, 3, (2, 4, 4)))
assert loss.dtype == torch.float64, "the loss keeps the dtype of the scores"
loss.backward()
assert scores.grad is not None and torch.isfinite(scores.grad).all() and scores.grad.abs().sum() > 0, (
    "the loss must be differentiable with respect to the scores")

print("✓ Part 4: dice_loss passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — IoU with absent classes and ignored pixels (1 point)
#
# Segmentation benchmarks (Pascal VOC, Cityscapes) mark pixels that nobody could label, for example object
# borders, with a special value, 255, and leave them out of the score. Write
#
# - **`iou_per_class(predicted, target, num_classes, ignore_index=None)`**: `predicted` and `target` are int64
#   tensors of the same (any) shape with classes in $[0, \text{num\_classes})$, except that `target` may hold
#   `ignore_index` where a pixel is ignored. Leave out every pixel where `target == ignore_index` (from the
#   prediction too). Over the remaining pixels, with $P_c$ the pixels predicted $c$ and $G_c$ the pixels of
#   class $c$: $\text{IoU}_c = |P_c \cap G_c| \,/\, |P_c \cup G_c|$. A class with $P_c \cup G_c$ empty
#   (absent from both) has no IoU: its entry is `nan`. Return a float64 tensor of shape `(num_classes,)`.
# - **`mean_iou(predicted, target, num_classes, ignore_index=None)`**: the mean of `iou_per_class` over the
#   classes that have an IoU (the `nan` entries are left out, not counted as 0 or 1), as a Python `float`;
#   `nan` if no class has one.

# %% nbgrader={"grade": false, "grade_id": "iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou_per_class(predicted: torch.Tensor, target: torch.Tensor, num_classes: int,
                  ignore_index: int | None = None) -> torch.Tensor:
    """float64 (num_classes,): |P_c & G_c| / |P_c | G_c| over the pixels not ignored; nan for absent classes."""
    ### BEGIN SOLUTION
    kept = target != ignore_index if ignore_index is not None else torch.ones_like(target, dtype=torch.bool)
    pairs = target[kept] * num_classes + predicted[kept]
    counts = torch.bincount(pairs, minlength=num_classes * num_classes).view(num_classes, num_classes).double()
    both = counts.diagonal()
    either = counts.sum(dim=0) + counts.sum(dim=1) - both
    return torch.where(either > 0, both / either, torch.nan)
    ### END SOLUTION


def mean_iou(predicted: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None = None) -> float:
    """The mean IoU over the classes present in the prediction or the target (nan if none)."""
    ### BEGIN SOLUTION
    return iou_per_class(predicted, target, num_classes, ignore_index).nanmean().item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_iou", "locked": true, "points": 1, "schema_version": 3, "solution": false, "task": false}
import math

from course_utils import testing as T

# Truth [[0, 1], [1, 2]], prediction [[0, 1], [1, 1]], 4 classes:
#   class 0: 1 / 1;  class 1: overlap 2, union 3 -> 2/3;  class 2: predicted nowhere -> 0 / 1;  class 3: absent -> nan
truth = torch.tensor([[0, 1], [1, 2]])
guess = torch.tensor([[0, 1], [1, 1]])
per_class = iou_per_class(guess, truth, 4)
T.assert_type(per_class, torch.Tensor)
assert per_class.dtype == torch.float64 and per_class.shape == (4,), "iou_per_class returns float64 (num_classes,)"
assert math.isnan(per_class[3]), f"class 3 is absent from both: its IoU is nan, got {per_class[3].item()}"
T.assert_close(per_class[:3], [1, 2 / 3, 0], name="iou_per_class, classes 0-2")
got = mean_iou(guess, truth, 4)
T.assert_type(got, float, "mean_iou(...)")
T.assert_close(got, (1 + 2 / 3 + 0) / 3, name="mean_iou: the mean over the 3 classes present (not over all 4)")

# Ignored pixels leave the prediction too: ignoring the bottom-right pixel removes class 2 and the wrong 1
ignored = torch.tensor([[0, 1], [1, 255]])
T.assert_close(iou_per_class(guess, ignored, 4, ignore_index=255)[:2], [1, 1], name="ignore_index=255")
assert mean_iou(guess, ignored, 4, ignore_index=255) == 1.0, "with the pixel ignored, everything left is right"
# All background, predicted all background: only class 0 has an IoU; nothing left at all: nan
zeros = torch.zeros(3, 5, 5, dtype=torch.long)
assert mean_iou(zeros, zeros, 3) == 1.0, "all background, predicted all background: mean IoU 1 (classes 1, 2 absent)"
assert math.isnan(mean_iou(zeros, torch.full_like(zeros, 255), 3, ignore_index=255)), "every pixel ignored: nan"

print("✓ Part 5: iou_per_class and mean_iou pass the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part6_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 6 — Segment cluttered scenes (2 points)
#
# The lecture's scenes had a black background. These have **clutter**: fragments of other Fashion-MNIST pictures
# (of any class) lie in the background, and noise covers everything. The network must find the four classes of
# objects and call the fragments background.
#
# **`train_segmenter(seed)`**: call `seed_everything(seed)`, build a network of your own design, move it to
# `device`, train it on `train_scenes` (images and `semantic` maps, all or part of them; never on other scenes)
# and return the trained model. What is fixed:
#
# - the model maps images `(N, 1, 64, 64)` (float32, as in `train_scenes.images`) to class scores
#   `(N, 5, 64, 64)`, one per pixel and class (0 = background);
# - it has at most **80,000 parameters**.
#
# `fit(model, loader, optimizer, epochs, loss_fn=..., scheduler=..., device=device, plot=False)` and
# `TensorLoader(images, masks, batch_size=..., shuffle=True, device=device, seed=seed)` do the bookkeeping. Two
# hints. To tell a piece of a trouser from a whole one, a pixel's features must see the whole object (up to 36
# pixels wide) and some of its surroundings: the lecture's UNet, with two poolings, sees too little, and with
# some seeds it never learns one of the classes; a third pooling (64 → 8 pixels) is cheap, because it works on
# small maps. And the rare classes need a loss that weighs them: with a plain cross-entropy, even plus a soft
# Dice, some seeds never tell the thin trousers from T-shirts. Weigh each class's cross-entropy in inverse
# proportion to its pixels in the training masks (`weight=` of `F.cross_entropy`) and add a soft Dice. A UNet with
# 8, 16, 24 and 32 channels, trained for five epochs on 1200 of the scenes with batches of 16, Adam and a
# one-cycle schedule up to `max_lr=4e-3`, is a good start.
#
# **What is graded.** The grader calls `train_segmenter` itself, with a seed of its own, and times it: aim for
# well under a minute on a laptop; it fails only training that takes more than three minutes on its (busy)
# machine. It then generates 200 held-out scenes of its own (the same kind, from Fashion-MNIST's test images,
# with a seed you do not know), asks your model (in eval mode) for the scores, and computes the mean IoU of
# the predicted classes (the argmax) over the classes present, which must be at least $0.55$. Aim for $0.7$: the
# result varies a little with the seed.
# The test cell below trains with seed 0 and measures the same way on 200 held-out scenes.

# %% nbgrader={"grade": false, "grade_id": "scenes", "locked": true, "schema_version": 3, "solution": false, "task": false}
SCENES = {"source": "fashion", "classes": [0, 1, 7, 8], "size": 64, "clutter": 3, "noise": 0.05}
train_scenes = make_scenes(1500, seed=0, **SCENES)
print(train_scenes)
show_scenes(train_scenes.images[:6], semantic=train_scenes.semantic[:6], class_names=train_scenes.class_names,
            ncols=6, size=1.9);


# %% nbgrader={"grade": false, "grade_id": "segmenter", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_segmenter(seed: int) -> nn.Module:
    """seed_everything(seed), build a small segmentation network, train it on train_scenes; return it (on `device`)."""
    ### BEGIN SOLUTION
    seed_everything(seed=seed)

    def double_conv(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                             nn.Conv2d(c_out, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())

    class SmallUNet(nn.Module):
        """Three poolings (64 -> 8 pixels): the deepest features see a whole object and the clutter around it."""

        def __init__(self, classes: int, widths: tuple[int, ...] = (8, 16, 24, 32)):
            super().__init__()
            self.encoders = nn.ModuleList(double_conv(c_in, c_out) for c_in, c_out in zip((1, *widths), widths))
            self.ups = nn.ModuleList(nn.ConvTranspose2d(deep, shallow, 2, stride=2)
                                     for shallow, deep in zip(widths, widths[1:]))
            self.decoders = nn.ModuleList(double_conv(2 * width, width) for width in widths[:-1])
            self.classify = nn.Conv2d(widths[0], classes, 1)

        def forward(self, images: torch.Tensor) -> torch.Tensor:
            skips, h = [], images
            for level, encoder in enumerate(self.encoders):
                h = encoder(h if level == 0 else F.max_pool2d(h, 2))
                skips.append(h)
            for skip, up, decoder in reversed(list(zip(skips, self.ups, self.decoders))):
                h = decoder(torch.cat([up(h), skip], dim=1))
            return self.classify(h)

    # Each class's cross-entropy weighs in inverse proportion to its pixels (mean weight 1): without it, some
    # seeds never separate the thin trousers from T-shirts, and the trouser IoU stays at zero.
    images, masks = train_scenes.images[:1200], train_scenes.semantic[:1200]  # 1500 cost more and gain little
    pixels = torch.bincount(masks.flatten(), minlength=train_scenes.num_classes).double()
    class_weights = (1 / pixels) / (1 / pixels).mean()
    class_weights = class_weights.float().to(device)

    def weighted_cross_entropy_and_dice(scores: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
        """Class-weighted cross-entropy plus a soft Dice over the batch: no class can be left out."""
        p = scores.softmax(dim=1)
        g = F.one_hot(truth, scores.shape[1]).movedim(-1, 1).to(p.dtype)
        dims = (0, 2, 3)
        soft_dice = (2 * (p * g).sum(dims) + 1) / (p.sum(dims) + g.sum(dims) + 1)
        return F.cross_entropy(scores, truth, weight=class_weights) + 1 - soft_dice.mean()

    model = SmallUNet(train_scenes.num_classes).to(device, memory_format=torch.channels_last)  # faster convolutions
    epochs = 5
    loader = TensorLoader(images, masks, batch_size=16, shuffle=True, device=device, seed=seed)
    adam = torch.optim.Adam(model.parameters())
    one_cycle = torch.optim.lr_scheduler.OneCycleLR(adam, max_lr=4e-3, total_steps=epochs * len(loader))
    fit(model, loader, adam, epochs, loss_fn=weighted_cross_entropy_and_dice, scheduler=one_cycle, device=device,
        plot=False)
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_segmenter", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

model, train_seconds = T.timed_training(train_segmenter, seed=0, aim_s=60, limit_s=180)  # the grader's limits
parameters = sum(p.numel() for p in model.parameters())
assert parameters <= 80_000, f"the network has {parameters:,} parameters; at most 80,000 are allowed"
held_out = make_scenes(200, seed=1, train=False, **SCENES)
model.eval()
with torch.no_grad():
    scores = torch.cat([model(images.to(device)).float().cpu() for images in held_out.images.split(50)])
assert scores.shape == (200, 5, 64, 64), f"200 scenes should give scores (200, 5, 64, 64), got {tuple(scores.shape)}"
predicted = scores.argmax(dim=1)
confusion = torch.bincount(held_out.semantic.flatten() * 5 + predicted.flatten(), minlength=25).view(5, 5).double()
class_iou = confusion.diagonal() / (confusion.sum(0) + confusion.sum(1) - confusion.diagonal())
score = class_iou.nanmean().item()
print(f"{parameters:,} parameters; IoU per class {[round(v, 3) for v in class_iou.tolist()]}, mean IoU {score:.3f}")
assert score >= 0.55, f"mean IoU {score:.3f} on the held-out scenes; at least 0.55 is required (the grader uses another seed)"

print(f"✓ Part 6: mean IoU {score:.3f} with {parameters:,} parameters in {train_seconds:.1f} s")

# %% [markdown]
# The first held-out scenes, the truth above and your network's prediction below (ungraded):

# %%
try:
    show_scenes(held_out.images[:6], semantic=held_out.semantic[:6], class_names=held_out.class_names, ncols=6,
                size=1.9, titles=["truth"] * 6)
    show_scenes(held_out.images[:6], semantic=predicted[:6], class_names=held_out.class_names, ncols=6, size=1.9,
                titles=["predicted"] * 6)
except NameError:
    print("Run Part 6 first.")
