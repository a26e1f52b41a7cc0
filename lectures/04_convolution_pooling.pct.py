# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Lecture 04 — Convolution and pooling
#
# Lectures 01–03 built fully connected networks: every input number is wired to every neuron. That works
# for a table of 80 house features, but an image is not a bag of independent numbers. Its pixels have
# *neighbours*, and the same pattern (a stroke, an edge, an eye) can turn up anywhere in the picture.
# This lecture builds the layer designed for that, the **convolution**, and its partner, **pooling**.
#
# **Plan**
# 1. Why fully connected nets fail on images. MNIST.
# 2. Convolution as a sliding dot product: kernels, activation maps, the notes' vertical-line filter on a real digit.
# 3. Output size $\lfloor (m-n+2p)/s \rfloor + 1$: padding, stride, colour images, many filters, stacking layers,
#    dilated convolutions.
# 4. Pooling: max and average, size reduction.
# 5. A LeNet-style CNN trained on the real MNIST in a few CPU minutes at most, compared with
#    a fully connected net. We look at its learned filters and activation maps, and measure how much a
#    small shift of the digit changes its activations before and after pooling.
# 6. AlexNet's layer sizes from the formula; what else computer vision does with CNNs.
# 7. A widget to try your own 3×3 kernel.

# %%
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.patches import Rectangle
from torch import nn
from torch.nn import functional as F

from course_utils import (TensorLoader, choose_device, explore, fit, image_tensors, load_fashion_mnist,
                          load_mnist, seed_everything, show_images)

choice = choose_device()
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown]
# ## 1. Why fully connected nets fail on images
#
# **Parameters.** A fully connected layer has one weight per (input, neuron) pair. A modest colour photo of
# 224×224 pixels is $224 \cdot 224 \cdot 3 = 150\,528$ numbers; a first hidden layer of 1000 neurons then needs
# 150 million weights, in the *first layer alone*, before the network has learned anything.

# %%
h, w, c, hidden = 224, 224, 3, 1000
fc_weights = h * w * c * hidden
conv_weights = 64 * (c * 3 * 3) + 64  # a conv layer with 64 filters of size 3x3x3 (next section)
print(f"fully connected 224x224x3 -> {hidden}: {fc_weights:,} weights (+{hidden} biases), "
      f"{fc_weights * 4 / 2**20:,.0f} MiB in float32")
print(f"MNIST 28x28 -> {hidden}:            {28 * 28 * hidden:,} weights")
print(f"conv layer, 64 filters 3x3x3:      {conv_weights:,} parameters, whatever the image size")

# %% [markdown]
# **Lost neighbourhood.** Flattening an image into a vector throws away which pixels are next to which.
# A fully connected layer gives every pixel its own weights, so it would learn *exactly as well* if we shuffled
# the pixels with a fixed permutation — an image no human could read. And a digit moved by two pixels
# becomes, pixel for pixel, a different vector: nothing in the layer knows that "the same stroke, a bit to the
# right" is the same thing. We would like **translation equivariance**: a pattern moved in the input should
# produce the same response, moved the same way.
#
# Our running dataset is **MNIST**: 70 000 handwritten digits (60 000 for training, 10 000 for testing),
# 28×28 grey pixels with values 0–255. (The notes say 32×32: that is the size LeNet-5 used after padding the
# 28×28 images with a 2-pixel border.)

# %%
train_set, test_set = load_mnist(train=True), load_mnist(train=False)
print(f"train: {tuple(train_set.data.shape)} {train_set.data.dtype}, test: {tuple(test_set.data.shape)}, "
      f"pixel range {train_set.data.min().item()}..{train_set.data.max().item()}")
x_train, y_train = image_tensors(train_set)  # float32 (N, 1, 28, 28), standardised; labels int64
x_test, y_test = image_tensors(test_set)
del train_set  # the tensors above hold everything we need; keep only one copy of the training set
raw_test = test_set.data.float() / 255  # (10000, 28, 28) pixels in [0, 1], for the hand-made filters below
show_images(x_test[:16], labels=y_test[:16].tolist(), ncols=16, size=0.9);

# %% [markdown]
# How different does a 2-pixel shift look to a fully connected layer? Compare, as flat vectors, a digit with
# (a) the same digit moved 2 pixels to the right and (b) another writer's digit of the same class and
# (c) a digit of a different class.

# %%
def cosine(a, b):
    return F.cosine_similarity(a.flatten(), b.flatten(), dim=0).item()

ones = (y_test == 1).nonzero().flatten()
digit, other_one = raw_test[ones[0]], raw_test[ones[1]]
shifted = torch.roll(digit, shifts=2, dims=1)
seven = raw_test[(y_test == 7).nonzero()[0, 0]]
print(f"cosine(digit, same digit shifted by 2 px) = {cosine(digit, shifted):.3f}")
print(f"cosine(digit, another '1')                = {cosine(digit, other_one):.3f}")
print(f"cosine(digit, a '7')                      = {cosine(digit, seven):.3f}")
assert cosine(digit, shifted) < cosine(digit, seven) < cosine(digit, other_one)

perm = torch.randperm(28 * 28, generator=torch.Generator().manual_seed(0))
fig, axes = plt.subplots(1, 4, figsize=(8, 2.2))
for ax, img, title in zip(axes, [digit, shifted, other_one, digit.flatten()[perm].reshape(28, 28)],
                          ["a '1'", "shifted 2 px", "another '1'", "pixels permuted"]):
    ax.imshow(img, cmap="gray")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
plt.show()

# %% [markdown]
# As vectors, the shifted copy of the thin "1" is *less* similar to the original than a digit of a different
# class. An MLP has to learn every position of every stroke separately, from examples.
#
# ## 2. Convolution: a small kernel slid over the image
#
# A **kernel** (or **filter**) is a small $n \times n$ matrix of weights. Put it on the top-left $n\times n$
# window of the image, multiply element-wise and sum: that is one output number. Slide the window one pixel
# right and repeat, row after row. For an $m\times m$ image the result is an $(m-n+1)\times(m-n+1)$
# **activation map** (feature map):
#
# $$ y_{ij} = \sum_{u=0}^{n-1}\sum_{v=0}^{n-1} x_{i+u,\,j+v}\; w_{uv} \; (+\, b).$$
#
# The same $n^2$ weights are used at every position (**weight sharing**), and each output sees only an
# $n\times n$ neighbourhood (**local connectivity**). Both fix the problems above: a 3×3 kernel has 9 weights
# whatever the image size, and a stroke moved to the right produces the same response moved to the right.
#
# (Mathematicians would flip the kernel first; what deep-learning libraries call convolution is strictly a
# *cross-correlation*. Since the kernel is learned, the flip makes no difference.)
#
# Here is the sliding dot product written with two loops, checked against PyTorch's `F.conv2d`. (The
# assignment asks you to write the full version with padding, stride and channels, then vectorise it.)

# %%
def conv2d_loops(x, k):
    """Valid 2-D cross-correlation of one (H, W) image with one (n, n) kernel, by two loops."""
    n = k.shape[0]
    out = torch.zeros(x.shape[0] - n + 1, x.shape[1] - n + 1)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            out[i, j] = (x[i:i + n, j:j + n] * k).sum()
    return out

x_small = torch.tensor([[1., 2, 0, 1, 3],
                        [0, 1, 3, 2, 1],
                        [2, 0, 1, 0, 2],
                        [1, 3, 2, 1, 0],
                        [0, 1, 0, 2, 1]])
k_small = torch.tensor([[1., 0, -1],
                        [2, 0, -2],
                        [1, 0, -1]])
ours = conv2d_loops(x_small, k_small)
torch_out = F.conv2d(x_small[None, None], k_small[None, None])[0, 0]  # F.conv2d wants (N, C, H, W)
print("loops:\n", ours, "\nF.conv2d:\n", torch_out)
assert torch.equal(ours, torch_out)

# %% [markdown]
# One step of that computation, drawn: the highlighted window times the kernel, summed, gives the highlighted
# output cell.

# %%
def draw_matrix(ax, m, title, box=None, cmap="Blues"):
    m = np.asarray(m)
    ax.imshow(m, cmap=cmap, alpha=0.35)
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, f"{v:g}", ha="center", va="center", fontsize=10)
    if box is not None:
        (i, j), size = box
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), size, size, fill=False, ec="red", lw=2.5))
    ax.set_xticks([]), ax.set_yticks([])
    ax.set_title(title, fontsize=10)

i, j = 1, 2
window_sum = (x_small[i:i + 3, j:j + 3] * k_small).sum().item()
fig, axes = plt.subplots(1, 3, figsize=(9, 3), gridspec_kw={"width_ratios": [5, 3, 3]})
draw_matrix(axes[0], x_small, "input 5×5", box=((i, j), 3))
draw_matrix(axes[1], k_small, "kernel 3×3", cmap="Oranges")
draw_matrix(axes[2], ours, f"output 3×3: y[{i},{j}] = {window_sum:g}", box=((i, j), 1), cmap="Greens")
plt.show()

# %% [markdown]
# ### The notes' vertical-line filter
#
# Which kernel responds to vertical lines? The notes' choice (*seed example*):
#
# $$ K = \begin{pmatrix} -1 & 2 & -1 \\ -1 & 2 & -1 \\ -1 & 2 & -1 \end{pmatrix}. $$
#
# Its weights sum to zero, so on any flat region (all pixels equal) the response is exactly 0. On a bright
# vertical line one pixel wide it gives $3\cdot 2 = 6$ per unit of brightness, and $-3$ just beside it:

# %%
vertical_line = torch.tensor([[-1., 2, -1]]).repeat(3, 1)
print("kernel:\n", vertical_line)
line_patch = torch.zeros(5, 5)
line_patch[:, 2] = 1  # a 1-pixel-wide vertical line
response = conv2d_loops(line_patch, vertical_line)
print("5x5 patch with a vertical line ->\n", response)
assert torch.equal(response, torch.tensor([[-3., 6, -3]]).repeat(3, 1))
flat = conv2d_loops(torch.full((5, 5), 0.7), vertical_line)
assert torch.allclose(flat, torch.zeros(3, 3), atol=1e-6)
horizontal = conv2d_loops(line_patch.T, vertical_line)
print("a horizontal line gives", horizontal.unique().tolist(), "everywhere: the filter ignores it")

# %% [markdown]
# Now on real MNIST digits, a "1" and a "4" (pixels in [0, 1]). We pad with one pixel of zeros so the
# activation map stays 28×28 (padding is next). Red = strong positive response, blue = negative.

# %%
fours = (y_test == 4).nonzero().flatten()
examples = {"'1'": raw_test[ones[0]], "'4'": raw_test[fours[0]]}
fig, axes = plt.subplots(2, 2, figsize=(5.4, 5.2))
for row, (name, img) in zip(axes, examples.items()):
    act = F.conv2d(img[None, None], vertical_line[None, None], padding=1)[0, 0]
    lim = act.abs().max().item()
    row[0].imshow(img, cmap="gray")
    row[0].set_title(f"digit {name}", fontsize=9)
    im = row[1].imshow(act, cmap="RdBu_r", vmin=-lim, vmax=lim)
    row[1].set_title("activation map", fontsize=9)
    fig.colorbar(im, ax=row[1], fraction=0.046)
    for ax in row:
        ax.axis("off")
    background = act[:3, :3].abs().max().item()  # the top-left corner is empty paper
    peak = divmod(act.argmax().item(), act.shape[1])
    print(f"digit {name}: activation map {tuple(act.shape)}, max {act.max():.2f} at (row, col) {peak}, "
          f"min {act.min():.2f}, |value| on the blank corner {background:.1f}")
plt.tight_layout()
plt.show()

one = examples["'1'"]
act_one = F.conv2d(one[None, None], vertical_line[None, None], padding=1)[0, 0]
row = 14
cols = slice(int(one[row].argmax()) - 3, int(one[row].argmax()) + 4)
print(f"row {row} of the '1', around the stroke:")
print("  pixels:    ", np.round(one[row, cols].numpy(), 2))
print("  activation:", np.round(act_one[row, cols].numpy(), 2))

# %% [markdown]
# The vertical stroke of the "1" lights up along its whole length (with negative flanks on either side), while
# the background is exactly zero. On the "4", the two vertical strokes respond and the horizontal bar mostly
# does not. The map is not a copy of the picture: it is the answer to "how much does this neighbourhood look
# like the kernel?" at every position.
#
# Before 2012 people designed such kernels by hand (edges, gradients, HOG features) and fed the responses to a
# classifier. A CNN **learns** its kernels from data: the 9 numbers of each kernel are trainable parameters,
# updated by backpropagation like any other weight.

# %% [markdown]
# ## 3. Output size, padding, stride
#
# - **Padding** $p$ adds a border of $p$ zeros around the image, so the kernel can also be centred on the edge
#   pixels. With a 3×3 kernel, $p=1$ keeps the size ("same" padding, $p=(n-1)/2$ for odd $n$). The notes say
#   padding 2 keeps a 32×32 image at 32×32 under a 3×3 kernel; that is true only if "2" counts both sides
#   together. In the formula below $p$ is the border on *each* side: $p=1$ gives 32×32, $p=2$ gives 34×34
#   (see the table).
# - **Stride** $s$ is how far the window jumps between positions; $s=2$ roughly halves each side.
#
# For an $m\times m$ input, an $n\times n$ kernel, padding $p$ and stride $s$:
#
# $$ \text{out} = \left\lfloor \frac{m - n + 2p}{s} \right\rfloor + 1. $$
#
# The floor matters: when the last window does not fit, it is simply dropped. Let us check the formula
# against PyTorch on a table of cases.

# %%
def conv_out(m, n, p=0, s=1, d=1):
    """Output side length of a convolution (or pooling) layer; d is the dilation (section 3.3)."""
    n_eff = n + (n - 1) * (d - 1)
    return (m - n_eff + 2 * p) // s + 1

cases = [(32, 3, 0, 1), (32, 3, 1, 1), (32, 3, 2, 1), (32, 5, 2, 1), (28, 3, 1, 2), (28, 5, 0, 1),
         (8, 3, 0, 2), (7, 3, 0, 2), (227, 11, 0, 4), (224, 7, 3, 2), (5, 3, 1, 2)]
print(f"{'m':>4} {'n':>3} {'p':>3} {'s':>3} | {'formula':>7} {'PyTorch':>7}")
for m, n, p, s in cases:
    got = F.conv2d(torch.zeros(1, 1, m, m), torch.zeros(1, 1, n, n), padding=p, stride=s).shape[-1]
    print(f"{m:>4} {n:>3} {p:>3} {s:>3} | {conv_out(m, n, p, s):>7} {got:>7}")
    assert got == conv_out(m, n, p, s)

# %% [markdown]
# Note the rows `(8, 3, 0, 2)` and `(7, 3, 0, 2)`: $(8-3)/2+1 = 3.5$ and $(7-3)/2+1=3$ both give 3, the
# 8-wide input just loses its last column.
#
# ### 3.1 Colour images and many filters
#
# A colour image has 3 channels (R, G, B). A convolution kernel then is a **3-D** block of size
# $n\times n\times 3$: at each position it multiplies the whole $n\times n\times 3$ window and sums over all
# three channels, producing *one* number. So one filter still gives one activation map, and the kernel
# always spans all input channels. (The other option the notes mention, convolving each channel separately,
# exists too: it is a *depthwise* convolution, `groups=channels` in PyTorch, used by MobileNet in Lecture 07.)
#
# A layer has many filters; each gives its own activation map, and the maps are stacked into the output's
# channels. PyTorch stores images as `(batch, channels, height, width)` and a layer's weights as
# `(out_channels, in_channels, n, n)`, plus one bias per filter.

# %%
rgb = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))  # stand-in for a colour image
conv_rgb = nn.Conv2d(in_channels=3, out_channels=4, kernel_size=3)
out = conv_rgb(rgb)
print(f"input {tuple(rgb.shape)} -> weight {tuple(conv_rgb.weight.shape)} -> output {tuple(out.shape)}")
# one 3-D filter = the sum of three 2-D convolutions, one per channel, plus the bias
per_channel = sum(F.conv2d(rgb[:, ch:ch + 1], conv_rgb.weight[0:1, ch:ch + 1]) for ch in range(3))
print("filter 0 == sum of per-channel 2-D convs + bias:",
      torch.allclose(out[:, 0:1], per_channel + conv_rgb.bias[0], atol=1e-5))

# %% [markdown]
# ### 3.2 Stacking convolution layers (*seed example*)
#
# A 32×32 image, 5 filters of 3×3 (stride 1, no padding) → five 30×30 maps, i.e. a 30×30×5 "image with 5
# channels". The next layer's kernels are therefore 3×3×**5**; with 3 of them we get 28×28×3. Each layer
# sees the previous layer's activation maps, so it can combine simple patterns (strokes, edges) into more
# complex ones (corners, loops, and, in deep networks on photos, eyes and wheels).

# %%
layer1 = nn.Conv2d(1, 5, kernel_size=3)
layer2 = nn.Conv2d(5, 3, kernel_size=3)
x32 = torch.randn(1, 1, 32, 32, generator=torch.Generator().manual_seed(1))
a1 = layer1(x32)
a2 = layer2(a1)
for name, layer, t in [("input", None, x32), ("5 filters 3x3", layer1, a1), ("3 filters 3x3x5", layer2, a2)]:
    params = "" if layer is None else (f"weight {tuple(layer.weight.shape)}, "
                                       f"{sum(q.numel() for q in layer.parameters())} parameters")
    print(f"{name:>16}: {t.shape[2]}x{t.shape[3]}x{t.shape[1]}   {params}")
assert a1.shape == (1, 5, 30, 30) and a2.shape == (1, 3, 28, 28)
assert sum(q.numel() for q in layer1.parameters()) == 5 * 3 * 3 * 1 + 5 == 50
assert sum(q.numel() for q in layer2.parameters()) == 3 * 3 * 3 * 5 + 3 == 138

# %% [markdown]
# A useful consequence: each output of layer 2 depends on a 5×5 patch of the input (a 3×3 window of layer-1
# outputs, each seeing 3×3 pixels). This is its **receptive field**; stacking small kernels grows it while
# keeping few parameters.
#
# ### 3.3 Dilated convolutions
#
# A **dilated** (atrous) convolution spreads the kernel's taps apart with gaps of $d-1$ pixels,
# $y_{ij} = \sum_{u,v} x_{i+du,\,j+dv}\,w_{uv}$. A 3×3 kernel with dilation $d$ still has 9 weights but covers
# an effective window of
#
# $$ n_\text{eff} = n + (n-1)(d-1), $$
#
# i.e. 3, 5, 7, 9 for $d = 1, 2, 3, 4$. The output size is the formula above with $n_\text{eff}$ in place of
# $n$. Dilated convolutions see wide context cheaply; Lecture 09 uses them for segmentation.

# %%
fig, axes = plt.subplots(1, 3, figsize=(8, 2.8))
for ax, d in zip(axes, [1, 2, 3]):
    grid = np.zeros((9, 9))
    n_eff = 3 + 2 * (d - 1)
    start = (9 - n_eff) // 2
    grid[start:start + n_eff, start:start + n_eff] = 0.3  # the window it covers
    grid[start:start + n_eff:d, start:start + n_eff:d] = 1  # the 9 taps that carry weights
    ax.imshow(grid, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(np.arange(-0.5, 9), minor=True), ax.set_yticks(np.arange(-0.5, 9), minor=True)
    ax.grid(which="minor", color="grey", lw=0.5)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    ax.set_title(f"3×3 kernel, dilation {d}: covers {n_eff}×{n_eff}", fontsize=9)
plt.tight_layout()
plt.show()

k3 = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(2))
img = x_test[:1]
print(f"{'d':>2} {'n_eff':>6} {'out (formula)':>14} {'out (nn.Conv2d)':>16}")
for d in [1, 2, 3, 4]:
    conv_d = nn.Conv2d(1, 1, 3, dilation=d, bias=False)
    got = conv_d(img).shape[-1]
    print(f"{d:>2} {3 + 2 * (d - 1):>6} {conv_out(28, 3, d=d):>14} {got:>16}")
    assert got == conv_out(28, 3, d=d)

# dilation 2 == an ordinary 5x5 convolution whose kernel has zeros between the taps
sparse = torch.zeros(1, 1, 5, 5)
sparse[..., ::2, ::2] = k3
same = torch.allclose(F.conv2d(img, k3, dilation=2), F.conv2d(img, sparse), atol=1e-5)
print("dilation-2 conv == 5x5 conv with zeros inserted:", same)
assert same

# %% [markdown]
# ## 4. Pooling
#
# Even with stride and no padding, maps shrink slowly (32 → 30 → 28). **Pooling** reduces them on purpose:
# cut each activation map into $k\times k$ cells (usually 2×2 with stride 2) and keep one number per cell,
# the **maximum** (max-pooling) or the **mean** (average pooling). It has no parameters, acts on each
# channel separately, and halves each side, so the next layers and the final fully connected classifier get
# 4× fewer inputs. Its output size follows the same formula with $n = k$, $s = k$, $p=0$.
#
# The notes' example (*seed example*):

# %%
a = torch.tensor([[12., 20, 30, 0],
                  [8, 12, 2, 0],
                  [34, 70, 37, 4],
                  [112, 100, 25, 12]])
max_pooled = F.max_pool2d(a[None, None], kernel_size=2)[0, 0]
avg_pooled = F.avg_pool2d(a[None, None], kernel_size=2)[0, 0]
print("input:\n", a)
print("2x2 max-pool:\n", max_pooled)
print("2x2 avg-pool:\n", avg_pooled)
assert torch.equal(max_pooled, torch.tensor([[20., 30], [112, 37]]))
assert torch.equal(avg_pooled, torch.tensor([[13., 8], [79, 19.5]]))

# %% [markdown]
# Max-pooling keeps "was the pattern present somewhere in this cell?" and forgets exactly where. That is the
# second reason to pool: if the digit moves by a pixel, a strong response that stays inside its 2×2 cell
# gives the same pooled value. We will *measure* how much this helps on the trained network in section 5.4.
#
# ## 5. A convolutional network for MNIST
#
# The classic recipe (LeNet, 1998): a few blocks of **convolution → nonlinearity → pooling**, then flatten
# the last activation maps into a vector and classify it with fully connected layers.
#
# - **ReLU after each convolution.** A convolution is linear; without a nonlinearity, stacked convolutions
#   would collapse into one (Lecture 01's argument). ReLU is the default (Lecture 03).
# - **Softmax + cross-entropy at the end.** The last layer outputs 10 scores (logits) $z$; softmax turns them
#   into probabilities $p_k = e^{z_k}/\sum_j e^{z_j}$, and the loss is $-\log p_y$ for the true class $y$.
#   `F.cross_entropy` takes the logits and does both, so the model has no softmax layer.
# - **The kernels are the parameters.** Training adjusts every number of every kernel (and the biases)
#   by backpropagation, exactly as for a fully connected layer.
#
# Our network also uses **batch normalisation** after each convolution, which makes it train fast with a large
# learning rate; Lecture 06 explains it.

# %%
def lenet_style():
    def block(c_in, c_out):
        return [nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(), nn.MaxPool2d(2)]
    return nn.Sequential(*block(1, 16), *block(16, 32), nn.Flatten(),
                         nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10))

def count(model):
    return sum(q.numel() for q in model.parameters())

def describe(layer):
    if isinstance(layer, nn.Conv2d):
        n = layer.kernel_size[0]
        return f"Conv2d {layer.in_channels}->{layer.out_channels}, {n}x{n}, pad {layer.padding[0]}"
    if isinstance(layer, nn.Linear):
        return f"Linear {layer.in_features}->{layer.out_features}"
    if isinstance(layer, nn.MaxPool2d):
        return f"MaxPool2d {layer.kernel_size}x{layer.kernel_size}"
    return type(layer).__name__

_ = seed_everything(0)
cnn = lenet_style().to(device)
t = torch.zeros(1, 1, 28, 28, device=device)
print(f"{'layer':<28} {'output shape':<18} {'params':>7}")
for layer in cnn:
    t = layer(t)
    print(f"{describe(layer):<28} {str(tuple(t.shape)):<18} {count(layer):>7,}")
conv_params = sum(q.numel() for m in cnn if isinstance(m, nn.Conv2d) for q in m.parameters())
print(f"total {count(cnn):,} parameters, of which the two conv layers' kernels and biases: {conv_params:,}")
print("first-layer kernels:", tuple(cnn[0].weight.shape), "— 16 kernels of 3x3, learned")
assert conv_params < count(cnn) / 10

# %% [markdown]
# Every spatial size follows from the formula: 28 → conv(3, p=1) 28 → pool 14 → conv 14 → pool 7, so
# the classifier receives $32\cdot 7\cdot 7 = 1568$ numbers. Note where the parameters are (printed above): the
# convolutions hold only a few per cent of them, the first fully connected layer most of the rest.
#
# ### 5.1 Training
#
# We train on all 60 000 training digits for 2 epochs with AdamW and a one-cycle learning-rate schedule
# (the learning rate warms up, then anneals; stepped after every batch — Lecture 05 covers both), and
# evaluate on the 10 000 test digits after each epoch. `fit` draws the curves as it goes. Two epochs are enough
# for at least 99 % test accuracy. <!-- asserted -->

# %%
EPOCHS, BATCH, MAX_LR = 2, 128, 0.01
train_loader = TensorLoader(x_train, y_train, batch_size=BATCH, shuffle=True, device=device, seed=0)
test_loader = TensorLoader(x_test, y_test, batch_size=1000, device=device)

def train(model, seed=0, plot=True):
    """Train `model` with the recipe above; return (final test accuracy, training seconds)."""
    seed_everything(seed)
    train_loader.generator.manual_seed(seed)  # same batch order for every model
    optimizer = torch.optim.AdamW(model.parameters(), lr=MAX_LR, weight_decay=1e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=MAX_LR,
                                                    total_steps=EPOCHS * len(train_loader))
    start = time.perf_counter()
    history = fit(model, train_loader, optimizer, EPOCHS, val_loader=test_loader, scheduler=scheduler,
                  device=device, plot=plot)
    return history["val_acc"][-1], time.perf_counter() - start

cnn_acc, cnn_time = train(cnn)
print(f"CNN: test accuracy {cnn_acc:.2%} after {EPOCHS} epochs, {cnn_time:.1f} s of training")
assert cnn_acc >= 0.99, "the CNN should reach at least 99% test accuracy"

# %% [markdown]
# ### 5.2 The fully connected baseline
#
# The same data, optimiser, schedule and number of epochs for a multilayer perceptron
# 784 → 256 → 128 → 10 that sees the image as a flat vector:

# %%
mlp = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                    nn.Linear(128, 10)).to(device)
mlp_acc, mlp_time = train(mlp, plot=False)
print(f"{'model':<22} {'parameters':>10} {'test acc':>9} {'test errors':>11} {'train time':>10}")
for name, model, acc, secs in [("CNN (LeNet-style)", cnn, cnn_acc, cnn_time),
                               ("MLP 784-256-128-10", mlp, mlp_acc, mlp_time)]:
    print(f"{name:<22} {count(model):>10,} {acc:>9.2%} {round((1 - acc) * len(y_test)):>11} {secs:>9.1f}s")
assert 1 - cnn_acc < (1 - mlp_acc) / 2 and count(cnn) < count(mlp) / 2  # far fewer errors, fewer parameters

# %% [markdown]
# With less than half the parameters, the CNN makes less than half the mistakes. On a CPU it costs more time
# per epoch (each 3×3 kernel is applied at every one of 784 positions; on a GPU the difference mostly
# disappears). Training the MLP longer does not close the gap: on LeCun's MNIST benchmark page, MLPs
# without data augmentation stop around 98.5 % and small CNNs pass 99 %. <!-- quoted -->
# Locality and weight sharing are the right assumptions for images, and they are built into the layer instead
# of being learned from examples.
#
# ### 5.3 What did it learn?
#
# The 16 first-layer kernels, each a 3×3 grid of learned weights (red positive, blue negative), and the
# softmax probabilities for one test digit:

# %%
cnn.eval()
kernels = cnn[0].weight.detach().cpu()
fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
for k, ax in zip(kernels, axes.flat):
    lim = k.abs().max().item()
    ax.imshow(k[0], cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.axis("off")
fig.suptitle("learned first-layer kernels (3×3)", fontsize=10)
plt.tight_layout()
plt.show()

idx = fours[1].item()
x_one = x_test[idx:idx + 1].to(device)
with torch.no_grad():
    probs = F.softmax(cnn(x_one), dim=1)[0].cpu()
print(f"test digit #{idx} (label {y_test[idx].item()}): softmax =", np.round(probs.numpy(), 3))
print(f"prediction {probs.argmax().item()} with probability {probs.max():.3f}; "
      f"cross-entropy loss = -log p_true = {-probs[y_test[idx]].log().item():.4f}")

# %% [markdown]
# Some learned kernels resemble the hand-made ones from section 2: positive on one side and negative on the
# other (edge detectors in some direction), or centre-surround (spot/line detectors). Nobody designed them;
# they are what minimising the cross-entropy produced.
#
# Their activation maps for that digit after conv → BN → ReLU (16 maps, 28×28), and the second block's maps
# (32 maps, 14×14, computed from the pooled first-block maps):

# %%
with torch.no_grad():
    maps1 = cnn[:3](x_one)[0].cpu()   # conv1 -> BN -> ReLU
    maps2 = cnn[:7](x_one)[0].cpu()   # ... -> pool -> conv2 -> BN -> ReLU
print(f"block 1 maps {tuple(maps1.shape)}, {100 * (maps1 == 0).float().mean():.0f}% zeros after ReLU; "
      f"block 2 maps {tuple(maps2.shape)}, {100 * (maps2 == 0).float().mean():.0f}% zeros")
show_images(maps1, labels=[f"filter {i}" for i in range(16)], ncols=8, cmap="viridis", size=1.0)
plt.show()
show_images(maps2, ncols=16, cmap="viridis", size=0.65)
plt.show()

# %% [markdown]
# First-layer maps are still recognisably the digit, each emphasising the strokes of one orientation or
# contrast. Second-layer maps are coarser and more abstract: each mixes all 16 first-layer maps, responding
# to combinations such as corners and stroke ends. ReLU leaves many exact zeros (sparse activations).
#
# ### 5.4 Small shifts: convolution maps move, pooled maps move less
#
# Convolution is *equivariant*: shift the input and the activation map shifts with it, but, compared position
# by position, it is a different map. Pooling should make the representation more *invariant*. Let us
# measure it: shift 1000 test digits by 1, 2 and 3 pixels to the right, and compute at each stage the
# relative change $\lVert f(x_\text{shift}) - f(x)\rVert / \lVert f(x)\rVert$ (averaged over digits), and
# how many predictions change.

# %%
stages = {"input": 0, "conv1+ReLU": 3, "pool1": 4, "conv2+ReLU": 7, "pool2": 8, "logits": len(cnn)}
x_eval = x_test[:1000].to(device)

def stage_outputs(x):
    """One forward pass, keeping the output after each stage named in `stages`."""
    outputs = {"input": x}
    for depth, layer in enumerate(cnn, start=1):
        x = layer(x)
        outputs.update({name: x for name, d in stages.items() if d == depth})
    return outputs

def relative_change(a, b):
    return ((b - a).flatten(1).norm(dim=1) / a.flatten(1).norm(dim=1)).mean().item()

changes, flips, accs = {}, {}, {}
with torch.no_grad():
    clean = stage_outputs(x_eval)
    base_pred = clean["logits"].argmax(1)
    accs[0] = (base_pred.cpu() == y_test[:1000]).float().mean().item()
    for shift in [1, 2, 3]:
        x_shift = torch.roll(x_eval, shifts=shift, dims=3)  # the border is blank, so rolling = shifting
        moved = stage_outputs(x_shift)
        changes[shift] = [relative_change(clean[name], moved[name]) for name in stages]
        pred = moved["logits"].argmax(1)
        flips[shift] = (pred != base_pred).float().mean().item()
        accs[shift] = (pred.cpu() == y_test[:1000]).float().mean().item()

print(f"{'shift':>5} | " + " ".join(f"{name:>10}" for name in stages) + " | predictions changed | accuracy")
print(f"{0:>5} | " + " ".join(f"{0:>10.3f}" for _ in stages) + f" | {0:>19.1%} | {accs[0]:.1%}")
for shift in changes:
    print(f"{shift:>5} | " + " ".join(f"{v:>10.3f}" for v in changes[shift])
          + f" | {flips[shift]:>19.1%} | {accs[shift]:.1%}")

fig, ax = plt.subplots(figsize=(7, 3))
width = 0.27
for k, shift in enumerate(changes):
    ax.bar(np.arange(len(stages)) + (k - 1) * width, changes[shift], width, label=f"shift {shift} px")
ax.set_xticks(range(len(stages)), list(stages))
ax.set_ylabel("relative L2 change")
ax.legend()
ax.grid(axis="y", alpha=0.3)
plt.show()

# %% [markdown]
# Read the table from left to right. Compared position by position, a 1-pixel shift already changes the input
# and the first convolution's maps by more than 50 %: <!-- asserted -->
# the maps only *moved*, but a moved map is a different array. Every max-pool lowers the change (conv1 → pool1
# and conv2 → pool2), a convolution alone does not, and the logits change least. So for 1–2 pixel shifts only a
# few predictions change, under 6 %. <!-- asserted -->
# The invariance is only *partial*: a 2×2 pool absorbs movements inside its cell, so it grows with the number of
# pooling stages, and by 3 pixels clearly more predictions change, between 3 % and 30 %. <!-- asserted -->
# Larger shifts, rotations or scalings must be learned from data, e.g. with data augmentation (Lecture 06).

# %%
for _, c in changes.items():  # the claims above, checked on the numbers
    assert c[2] < c[1] and c[4] < c[3] and c[5] < c[4], "pooling should reduce the change"
assert min(changes[1][:2]) > 0.5
assert flips[1] < 0.05 and flips[2] < 0.06 and max(flips[1], flips[2]) < flips[3] and 0.03 < flips[3] < 0.3

# %% [markdown]
# ## 6. AlexNet's layer sizes, from the formula
#
# AlexNet (2012, Lecture 07) is the same recipe at ImageNet scale: colour 227×227 input, 1000 classes. Its
# first convolution uses 96 large 11×11×3 kernels with stride 4, so $\lfloor(227-11)/4\rfloor+1 = 55$:
# the map is 55×55×96. Every other size follows from the same formula. (The notes say layers 3–5 use 1×1
# kernels; in the paper they are 3×3 with padding 1, which is why they keep the 13×13 size.) We check each
# row by pushing a tensor on PyTorch's `meta` device through the layers: shapes are computed, but no memory is
# allocated for the 62 M weights.

# %%
alexnet = [  # (name, layer, kernel, stride, padding)
    ("conv1 96@11x11 s4", nn.Conv2d(3, 96, 11, stride=4, device="meta"), 11, 4, 0),
    ("maxpool 3x3 s2", nn.MaxPool2d(3, stride=2), 3, 2, 0),
    ("conv2 256@5x5 p2", nn.Conv2d(96, 256, 5, padding=2, device="meta"), 5, 1, 2),
    ("maxpool 3x3 s2", nn.MaxPool2d(3, stride=2), 3, 2, 0),
    ("conv3 384@3x3 p1", nn.Conv2d(256, 384, 3, padding=1, device="meta"), 3, 1, 1),
    ("conv4 384@3x3 p1", nn.Conv2d(384, 384, 3, padding=1, device="meta"), 3, 1, 1),
    ("conv5 256@3x3 p1", nn.Conv2d(384, 256, 3, padding=1, device="meta"), 3, 1, 1),
    ("maxpool 3x3 s2", nn.MaxPool2d(3, stride=2), 3, 2, 0),
    ("fc6", nn.Linear(6 * 6 * 256, 4096, device="meta"), None, None, None),
    ("fc7", nn.Linear(4096, 4096, device="meta"), None, None, None),
    ("fc8", nn.Linear(4096, 1000, device="meta"), None, None, None),
]
t = torch.empty(1, 3, 227, 227, device="meta")
side, total = 227, 0
print(f"{'layer':<20} {'formula':>15} {'PyTorch':>15} {'parameters':>12}")
print(f"{'input':<20} {'227x227x3':>15} {'227x227x3':>15}")
for name, layer, n, s, p in alexnet:
    if isinstance(layer, nn.Linear):
        t = layer(t.flatten(1))
        formula = shape = str(t.shape[1])
    else:
        side = conv_out(side, n, p, s)
        formula = f"{side}x{side}x{layer.out_channels if isinstance(layer, nn.Conv2d) else t.shape[1]}"
        t = layer(t)
        shape = f"{t.shape[2]}x{t.shape[3]}x{t.shape[1]}"
        assert shape == formula
    params = sum(q.numel() for q in layer.parameters())
    total += params
    print(f"{name:<20} {formula:>15} {shape:>15} {params:>12,}")
print(f"{'total':<20} {'':>15} {'':>15} {total:>12,}")
by_name = {name: sum(q.numel() for q in layer.parameters()) for name, layer, *_ in alexnet}
conv_total = sum(params for name, params in by_name.items() if name.startswith("conv"))
print(f"fc6 alone: {by_name['fc6'] / 1e6:.1f} M parameters; the five convolutions together: {conv_total / 1e6:.1f} M")

# %% [markdown]
# About 62 M parameters (the original split conv2, conv4 and conv5 across two GPUs, which halves those layers
# and gives the quoted "~60 M"), and again almost all of them sit in the fully connected layers: fc6 alone
# has about ten times as many as the five convolutions together.
#
# **What CNNs are used for.** The same building blocks, with different heads and losses, solve most of
# computer vision: **classification** (one label per image, as here and in ImageNet), **detection** (a box
# and a label around every object of known classes), **segmentation** (a class for every pixel, e.g. tumour
# vs healthy tissue in an MRI, or separating individual cells under a microscope; Lecture 09), **OCR**
# (reading printed and handwritten text, where LeNet started on cheques), **pose estimation** (locating
# body joints), and **self-driving** perception (lanes, cars, pedestrians and signs from camera images).

# %% [markdown]
# ## 7. Try your own kernel
#
# Choose a preset kernel or "custom" and set the nine weights with the sliders (the sliders are used only for
# "custom"). The figure shows the image, the kernel and its activation map (padding 1, so 28×28). Executed
# without a live Jupyter server, the notebook shows the default: the notes' vertical-line filter on a "4".
# First, all presets at once on one digit:

# %%
PRESETS = {
    "vertical line (notes)": [[-1, 2, -1], [-1, 2, -1], [-1, 2, -1]],
    "vertical edge": [[-1, 0, 1], [-1, 0, 1], [-1, 0, 1]],
    "horizontal edge": [[-1, -1, -1], [0, 0, 0], [1, 1, 1]],
    "Sobel-x": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "blur": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
}
fashion = load_fashion_mnist(train=False)
IMAGES = {"MNIST '4'": raw_test[fours[0]], "MNIST '8'": raw_test[(y_test == 8).nonzero()[0, 0]],
          "MNIST '1'": raw_test[ones[0]]}
for label in ["Sneaker", "Trouser", "Bag"]:
    first = (fashion.targets == fashion.classes.index(label)).nonzero()[0, 0]
    IMAGES[f"Fashion: {label.lower()}"] = fashion.data[first].float() / 255

def activation(img, kernel):
    return F.conv2d(img[None, None], torch.tensor(kernel, dtype=torch.float32)[None, None], padding=1)[0, 0]

fig, axes = plt.subplots(1, len(PRESETS) + 1, figsize=(12, 2))
axes[0].imshow(IMAGES["MNIST '4'"], cmap="gray")
axes[0].set_title("image", fontsize=9)
for ax, (name, kernel) in zip(axes[1:], PRESETS.items()):
    act = activation(IMAGES["MNIST '4'"], kernel)
    ax.imshow(act, cmap="gray")
    ax.set_title(name, fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()

# %%
def draw_kernel_demo(preset, image, **weights):
    kernel = PRESETS[preset] if preset != "custom" else [[weights[f"w{r}{c}"] for c in range(3)] for r in range(3)]
    img = IMAGES[image]
    act = activation(img, kernel)
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.2))
    axes[0].imshow(img, cmap="gray")
    axes[0].set_title(image)
    draw_matrix(axes[1], np.round(np.array(kernel, dtype=float), 2), f"kernel: {preset}", cmap="RdBu_r")
    lim = max(act.abs().max().item(), 1e-6)
    im = axes[2].imshow(act, cmap="RdBu_r", vmin=-lim, vmax=lim)
    axes[2].set_title(f"activation map (min {act.min():.2f}, max {act.max():.2f})", fontsize=10)
    fig.colorbar(im, ax=axes[2], fraction=0.046)
    for ax in (axes[0], axes[2]):
        ax.axis("off")
    plt.tight_layout()
    plt.show()

sliders = {f"w{r}{c}": widgets.FloatSlider(value=float(PRESETS["vertical line (notes)"][r][c]), min=-3, max=3,
                                           step=0.1, description=f"w[{r},{c}]", continuous_update=False)
           for r in range(3) for c in range(3)}
explore(draw_kernel_demo,
        preset=widgets.Dropdown(options=[*PRESETS, "custom"], value="vertical line (notes)", description="kernel"),
        image=widgets.Dropdown(options=list(IMAGES), value="MNIST '4'", description="image"),
        **sliders)

# %% [markdown]
# ## Summary
#
# - Fully connected layers on images need huge numbers of weights (150 M for 224×224×3 → 1000) and ignore which
#   pixels are neighbours; a shifted digit is a different vector.
# - A **convolution** slides a small kernel over the image and takes a dot product at each position: local
#   connectivity and shared weights. The result is an **activation map**; many kernels give many maps (channels);
#   on colour or multi-channel inputs each kernel spans all input channels.
# - Output size $\lfloor (m-n+2p)/s \rfloor + 1$ (padding $p$, stride $s$); a dilation $d$ makes the effective kernel
#   $n + (n-1)(d-1)$. Verified against PyTorch for every case above, including AlexNet's 227 → 55 → 27 → 13 → 6.
# - **Pooling** (max or average over 2×2 cells) shrinks maps 4× without parameters, and makes activations change
#   less under small shifts; on our trained net the relative change fell at every pooling stage, and few
#   predictions changed for 1–2 pixel shifts.
# - ReLU after each convolution, softmax + cross-entropy at the end; the **kernels are learned**. A LeNet-style
#   CNN beat an MLP trained the same way on MNIST in 2 epochs, with fewer than half the parameters and fewer
#   than half the errors.
#
# ## Try it yourself
#
# 1. Permute the pixels of every image with one fixed random permutation (`perm` from section 1) and retrain
#    both the MLP and the CNN. Which one notices? Why?
# 2. Replace the `nn.MaxPool2d(2)` layers by `nn.AvgPool2d(2)`, or by a stride-2 convolution, and rerun the
#    training and the shift experiment. What happens to the accuracy and to the "pool" columns?
# 3. In the widget, design a "custom" kernel that lights up on *diagonal* strokes only (try it on the "4" and
#    the "1"). Then look for a learned first-layer kernel that does something similar.
