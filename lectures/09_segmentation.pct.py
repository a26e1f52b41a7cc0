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
# # Lecture 09 — Semantic segmentation
#
# A classifier gives one label per image. **Semantic segmentation** gives one label per *pixel*: which pixels
# are road, which are car, which are tumour. **Instance segmentation** goes one step further and separates two
# touching cars (Lecture 10 draws boxes around objects; here we label pixels). Medicine is a large customer:
# organs and tumours in CT and MRI scans, cells under a microscope, where small structures must be outlined
# precisely and the problem is often binary (cell or not).
#
# **Plan**
# 1. Data: scenes with several objects, per-pixel labels, instance masks and boxes, generated from real
#    Fashion-MNIST images.
# 2. Per-pixel classification. Why a sliding window is slow, and how a fully convolutional net computes the same
#    thing at once; why a full-resolution network is expensive. Time per image and memory, measured.
# 3. Encoder–decoder networks, and what they lose: coarse output, lost detail, objects of many sizes.
# 4. Upsampling: nearest, bed of nails, bilinear, max-unpooling, transposed convolution, pixel shuffle. Every
#    example of the notes reproduced numerically; checkerboard artefacts.
# 5. Dilated convolutions and the receptive field (computed and drawn); pyramid pooling.
# 6. UNet: skip connections, the overlap-tile strategy with mirror padding, per-pixel weights for thin borders.
# 7. Losses and metrics: per-pixel cross-entropy and BCE, Dice, IoU, class imbalance.
# 8. A small UNet trained on the scenes, measured by mean IoU, its predictions drawn over the inputs; a widget
#    to explore them by class and threshold.
#
# In the assignment you will write the upsampling layers, the transposed convolution, Dice and IoU yourself,
# and train your own UNet.

# %%
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Rectangle
from torch import nn
from torch.nn import functional as F

from course_utils import (TensorLoader, choose_device, explore, fit, make_scenes, seed_everything, show_matrices,
                          show_scenes)

# Our networks are small: on a CPU one thread beats splitting each operation across busy cores.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown]
# ## 1. The data: generated scenes
#
# The classic segmentation datasets (Pascal VOC, COCO, Cityscapes) are gigabytes of photos, and a network that
# segments them needs hours on a GPU. To see every idea *work* on a laptop CPU within seconds, we build scenes
# ourselves from real images: `course_utils.make_scenes` pastes Fashion-MNIST pictures at random sizes and
# positions onto a 64×64 canvas, possibly overlapping. We keep four classes with distinct shapes. Because we
# draw the scenes, we know the truth exactly:
#
# - `semantic` (N, H, W): the class of every pixel, 0 = background;
# - `instances` (N, H, W) and, per scene, one mask per object: which object each pixel belongs to;
# - `boxes` `(x_tl, y_tl, x_br, y_br)` with `labels`, in the formats torchvision uses (Lecture 10 needs them).
#
# An object's pixels are those of its picture above a brightness threshold; where two objects overlap, the one
# drawn later hides the other, and the masks and boxes describe what is visible. The training scenes use
# Fashion-MNIST's training images, the test scenes its test images, so the test objects were never seen.

# %%
SCENES = {"source": "fashion", "classes": [0, 1, 7, 8], "size": 64}  # T-shirt/top, Trouser, Sneaker, Bag
start = time.perf_counter()
train_set = make_scenes(1500, seed=0, **SCENES)
test_set = make_scenes(500, seed=1, train=False, **SCENES)
print(f"{len(train_set) + len(test_set)} scenes generated in {time.perf_counter() - start:.2f} s")
print(train_set)
NAMES, C = train_set.class_names, train_set.num_classes
H, W = train_set.canvas_size
print(f"images {tuple(train_set.images.shape)} {train_set.images.dtype}, "
      f"semantic {tuple(train_set.semantic.shape)} {train_set.semantic.dtype}, boxes {tuple(train_set.boxes.shape)}")
show_scenes(train_set.images[:6], semantic=train_set.semantic[:6], class_names=NAMES, ncols=6, size=1.9)
plt.show()
show_scenes(train_set.images[:6], train_set.targets(range(6)), class_names=NAMES, ncols=6, size=1.9)
plt.show()

# %% [markdown]
# Top: the **semantic** segmentation, one colour per class. Bottom: the **instances**, each object with its own
# mask and box (masks coloured by class here). Where two objects of one class touch, the semantic map merges them
# into one region; only the instance masks and boxes tell them apart.
#
# Most pixels are background. This **class imbalance** is the rule in segmentation (a tumour is a few pixels of
# a scan) and it will matter for the loss and the metrics:

# %%
pixel_share = torch.bincount(train_set.semantic.flatten(), minlength=C).double() / train_set.semantic.numel()
for name, share in zip(NAMES, pixel_share):
    print(f"{name:>12}: {share:6.1%} of the pixels")

# %% [markdown]
# ## 2. Segmentation as per-pixel classification
#
# A segmentation network maps an image $x$ of $H\times W$ pixels to $C$ scores per pixel, a tensor of shape
# $C\times H\times W$. A softmax over the class axis turns each pixel's scores into probabilities
# $p_{c,ij}$, and the loss is the cross-entropy of every pixel, averaged:
#
# $$ L = -\frac{1}{HW}\sum_{i,j} \log p_{y_{ij},\,ij}, \qquad p_{c,ij} = \frac{e^{z_{c,ij}}}{\sum_k e^{z_{k,ij}}}. $$
#
# `F.cross_entropy` accepts exactly this: scores `(N, C, H, W)` and integer targets `(N, H, W)`.

# %%
scores = torch.randn(2, C, H, W, generator=torch.Generator().manual_seed(0))
targets = train_set.semantic[:2]
by_hand = -scores.log_softmax(dim=1).gather(1, targets[:, None]).mean()
print(f"F.cross_entropy: {F.cross_entropy(scores, targets):.5f}   by hand: {by_hand:.5f}")
assert torch.allclose(F.cross_entropy(scores, targets), by_hand)

# %% [markdown]
# ### The sliding window: one classifier run per pixel
#
# The first idea in the notes: cut a window around every pixel and classify the window with a CNN; its answer
# is the pixel's class. Our window classifier has seven 3×3 convolutions without padding, so a 15×15 window
# shrinks to 1×1, and a 1×1 convolution gives the $C$ scores. A 64×64 image has 4096 windows, hence 4096
# forward passes. We do not train it here: we only measure what it costs.

# %%
WINDOW = 15

def window_classifier(layers=7, width=16):
    """`layers` 3x3 convolutions without padding and a 1x1 one: a (2 * layers + 1)-pixel window in, C scores out."""
    body = []
    for i in range(layers):
        body += [nn.Conv2d(1 if i == 0 else width, width, 3), nn.ReLU()]
    return nn.Sequential(*body, nn.Conv2d(width, C, 1)).eval()

patch_net = window_classifier()

def sliding_window(images):
    """Classify every pixel by running `patch_net` on the window around it (zero padding at the border)."""
    padded = F.pad(images, [WINDOW // 2] * 4)
    windows = F.unfold(padded, WINDOW)  # (N, 225, H*W): one column per pixel
    windows = windows.transpose(1, 2).reshape(-1, 1, WINDOW, WINDOW)
    return patch_net(windows).reshape(len(images), H, W, C).permute(0, 3, 1, 2)

def fully_convolutional(images):
    """The same network slid over the whole padded image by the convolutions themselves."""
    return patch_net(F.pad(images, [WINDOW // 2] * 4))

image = test_set.images[:1]
with torch.no_grad():
    one_by_one, all_at_once = sliding_window(image), fully_convolutional(image)
print(f"outputs {tuple(one_by_one.shape)} and {tuple(all_at_once.shape)}, "
      f"largest difference {(one_by_one - all_at_once).abs().max():.1e}")
assert torch.allclose(one_by_one, all_at_once, atol=1e-5)

# %% [markdown]
# Identical outputs. A convolution *is* a sliding window, so running the whole network on the whole image
# computes every window's answer in one pass, and the windows of neighbouring pixels, which overlap in
# $14 \times 15$ of their 225 pixels, share their intermediate results instead of recomputing them. A network
# built only of convolutions (no fully connected layer) is a **fully convolutional network** (FCN, Long et al.,
# 2015): it takes images of any size and returns a map of scores.
#
# How much does it save, and what would it take to see a whole object? Our objects are up to 36 pixels wide, so
# each output pixel should depend on a region at least that large, its **receptive field** (section 5). With
# 3×3 convolutions at full resolution that needs about 20 layers, every one of them on all 4096 pixels. An
# **encoder–decoder** instead shrinks the image with pooling, works at low resolution where a 3×3 kernel covers
# more of the scene, and upsamples back (section 3). We measure four networks: multiply-adds and the memory of
# the layer outputs (the activations that training stores for the backward pass) are counted with forward
# hooks, the time is measured per image.

# %%
def conv_block(c_in, c_out):
    """Two 3x3 convolutions with padding 1 (size kept), each followed by BatchNorm and ReLU."""
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())


class UNet(nn.Module):
    """Encoder (full, 1/2, 1/4 resolution) and decoder with 2x2 transposed convolutions; with `skips`, each
    decoder level also gets the encoder's map of the same size, concatenated (section 6)."""

    def __init__(self, classes, width=8, skips=True):
        super().__init__()
        w, self.skips = width, skips
        self.down1, self.down2, self.bottom = conv_block(1, w), conv_block(w, 2 * w), conv_block(2 * w, 4 * w)
        self.up2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2)
        self.dec2 = conv_block(4 * w if skips else 2 * w, 2 * w)
        self.up1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2)
        self.dec1 = conv_block(2 * w if skips else w, w)
        self.head = nn.Conv2d(w, classes, 1)

    def join(self, upsampled, skipped):
        return torch.cat([upsampled, skipped], dim=1) if self.skips else upsampled

    def forward(self, x):
        full = self.down1(x)
        half = self.down2(F.max_pool2d(full, 2))
        quarter = self.bottom(F.max_pool2d(half, 2))
        half_up = self.dec2(self.join(self.up2(quarter), half))
        full_up = self.dec1(self.join(self.up1(half_up), full))
        return self.head(full_up)


def full_resolution_fcn(layers, width=16):
    """`layers` 3x3 convolutions with padding 1: every layer works on all H x W pixels."""
    body = []
    for i in range(layers):
        body += [nn.Conv2d(1 if i == 0 else width, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU()]
    return nn.Sequential(*body, nn.Conv2d(width, C, 1))


def measured_receptive_field(model, size=96):
    """Side of the input region that the centre output pixel depends on: where its gradient is non-zero."""
    x = torch.randn(1, 1, size, size, generator=torch.Generator().manual_seed(0), requires_grad=True)
    out = model.eval()(x)
    out[0, :, out.shape[-2] // 2, out.shape[-1] // 2].sum().backward()
    rows = (x.grad[0, 0] != 0).any(1).nonzero().flatten()
    return int(rows.max() - rows.min() + 1)


def cost(model, x):
    """Multiply-adds of the convolutions and bytes of every layer's output for one forward pass of `x`."""
    totals = {"macs": 0, "bytes": 0}

    def count(module, inputs, output):
        totals["bytes"] += output.numel() * output.element_size()
        k = module.kernel_size[0] * module.kernel_size[1] if hasattr(module, "kernel_size") else 0
        if isinstance(module, nn.Conv2d):
            totals["macs"] += output.numel() * module.in_channels // module.groups * k
        elif isinstance(module, nn.ConvTranspose2d):
            totals["macs"] += inputs[0].numel() * module.out_channels * k

    handles = [m.register_forward_hook(count) for m in model.modules() if not list(m.children())]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return totals


def seconds_per_image(run, images, repeat=3, warm_up=True):
    """The fastest of `repeat` timed calls (after one untimed warm-up call, if asked for), per image."""
    times = []
    with torch.no_grad():
        for _ in range(repeat + warm_up):
            start = time.perf_counter()
            run(images)
            times.append(time.perf_counter() - start)
    return min(times[warm_up:]) / len(images)


encoder_decoder = UNet(C, width=16, skips=False).eval()
rf_encoder_decoder = measured_receptive_field(encoder_decoder)
deep_fcn = full_resolution_fcn(layers=(rf_encoder_decoder - 1) // 2).eval()
FCN = f"full-res FCN, {len(deep_fcn) // 3} layers"
batch = test_set.images[:8]
windows = F.unfold(F.pad(image, [WINDOW // 2] * 4), WINDOW).transpose(1, 2).reshape(-1, 1, WINDOW, WINDOW)
rows = {  # name: (receptive field, network, images to time it on, its cost on one image)
    "sliding 15x15 window": (WINDOW, sliding_window, image, cost(patch_net, windows)),
    "same net, convolutional": (WINDOW, fully_convolutional, batch, cost(patch_net, F.pad(image, [7] * 4))),
    FCN: (measured_receptive_field(deep_fcn), deep_fcn, batch, cost(deep_fcn, image)),
    "encoder-decoder": (rf_encoder_decoder, encoder_decoder, batch, cost(encoder_decoder, image)),
}
measured = {}
print(f"{'network':<26} {'receptive field':>15} {'ms / image':>11} {'M mult-adds':>12} {'activations MiB':>16}")
for name, (field, run, images, counts) in rows.items():
    slow = run is sliding_window  # already warmed up by the check above; one run takes long enough
    measured[name] = seconds_per_image(run, images, repeat=1 if slow else 3, warm_up=not slow) * 1000
    print(f"{name:<26} {field:>13} px {measured[name]:>11.2f} {counts['macs'] / 1e6:>12.1f} "
          f"{counts['bytes'] / 2**20:>16.2f}")
costs = {name: counts for name, (*_, counts) in rows.items()}
assert costs["sliding 15x15 window"]["macs"] > 20 * costs["same net, convolutional"]["macs"]
assert costs["sliding 15x15 window"]["bytes"] > 20 * costs["same net, convolutional"]["bytes"]
assert costs[FCN]["macs"] > 2 * costs["encoder-decoder"]["macs"]
assert costs[FCN]["bytes"] > 2 * costs["encoder-decoder"]["bytes"]
street_photo = 1024 * 2048 / (H * W)  # pixels of a 1024x2048 photo per pixel of our scenes
print(f"\nOn one 1024x2048 street photo the full-resolution FCN would store "
      f"{costs[FCN]['bytes'] * street_photo / 2**30:.1f} GiB of activations per image, the encoder-decoder "
      f"{costs['encoder-decoder']['bytes'] * street_photo / 2**30:.1f} GiB.")
print(f"Measured here: the sliding window took "
      f"{measured['sliding 15x15 window'] / measured['same net, convolutional']:.0f}x as long as its convolutional "
      f"form, the full-resolution FCN {measured[FCN] / measured['encoder-decoder']:.1f}x as long as the "
      f"encoder-decoder.")

# %% [markdown]
# Read the table in pairs. The sliding window and its convolutional form compute the same numbers, but the
# window version repeats the shared work for every pixel: its multiply-adds and its activations are dozens of
# times larger, and it takes correspondingly longer (the ratio is printed under the table). Among the two
# networks that see a whole object, the full-resolution FCN pays for all its layers at every pixel; the
# encoder–decoder does part of its work at a half and a quarter of the resolution and needs fewer multiply-adds
# and less memory for the same field. The gap grows with the field: the FCN needs one more full-resolution layer
# for every 2 pixels of field, the encoder–decoder one more pooling level for every doubling. The street-scene
# benchmark Cityscapes has 1024×2048-pixel images: that is where the last line matters. <!-- quoted -->
#
# ## 3. Encoder–decoder, and what it loses
#
# The recipe of the notes: take a classification CNN (VGG, ResNet, …), drop its fully connected layers, and
# **upsample** its last, small activation map back to the size of the image; train the whole thing with the
# per-pixel loss. Its weaknesses:
#
# - **coarse output**: a map computed at 1/32 of the resolution knows where things are only to within 32 pixels;
# - **lost detail**: pooling and large strides throw away exactly the spatial information the decoder needs back;
# - **scale variability**: the same class appears large and small (a cow near the camera and far away), so the
#   network must recognise it at several sizes.
#
# How much does the coarse output alone cost? Suppose a network gave the *perfect* answer at $1/s$ of the
# resolution (each $s\times s$ cell labelled by its centre pixel) and we upsample it by copying (nearest). We
# measure the result against the truth with the mean **IoU** (intersection over union, section 7):

# %%
def confusion_matrix(predicted, truth, classes=C):
    """(classes, classes) counts: row = true class, column = predicted class, over all pixels."""
    return torch.bincount(truth.flatten() * classes + predicted.flatten(), minlength=classes**2).view(classes, classes)


def iou_per_class(predicted, truth, classes=C):
    m = confusion_matrix(predicted, truth, classes).double()
    hits = m.diagonal()
    return hits / (m.sum(0) + m.sum(1) - hits)


coarse_miou = {}
print(f"{'stride':>6} {'cells':>7} {'mean IoU of a perfect coarse prediction':>42}")
for stride in [1, 2, 4, 8, 16]:
    coarse = test_set.semantic[:, stride // 2::stride, stride // 2::stride]
    upsampled = F.interpolate(coarse[:, None].float(), scale_factor=stride, mode="nearest")[:, 0].long()
    coarse_miou[stride] = iou_per_class(upsampled, test_set.semantic).mean().item()
    print(f"{stride:>6} {coarse.shape[-1]:>4}x{coarse.shape[-2]:<2} {coarse_miou[stride]:>42.3f}")
assert coarse_miou[1] == 1 and coarse_miou[8] < 0.8

# %% [markdown]
# Even a perfect 8×8 map, upsampled to 64×64, loses a large part of the IoU: the outlines are gone. Decoders
# therefore upsample gradually and with learned layers, and UNet (section 6) hands the encoder's fine maps to the
# decoder.
#
# ## 4. Upsampling
#
# All examples below are the notes' (*seed examples*); every one is reproduced numerically.
#
# ### Nearest neighbour
# Every value is copied into an $s\times s$ block.

# %%
x = torch.tensor([[10.0, 20.0], [30.0, 40.0]])[None, None]  # (batch, channel, 2, 2)
nearest = F.interpolate(x, scale_factor=2, mode="nearest")
notes_nearest = torch.tensor([[10.0, 10, 20, 20], [10, 10, 20, 20], [30, 30, 40, 40], [30, 30, 40, 40]])
assert torch.equal(nearest[0, 0], notes_nearest)
show_matrices([x, nearest], ["input", "nearest, ×2"]);

# %% [markdown]
# ### Bed of nails
# Each value goes to the top-left corner of its block, the rest is zero. No weights, and nothing is smoothed.

# %%
def bed_of_nails(x, s=2):
    out = torch.zeros(*x.shape[:-2], x.shape[-2] * s, x.shape[-1] * s)
    out[..., ::s, ::s] = x
    return out

notes_nails = torch.tensor([[10.0, 0, 20, 0], [0, 0, 0, 0], [30, 0, 40, 0], [0, 0, 0, 0]])
assert torch.equal(bed_of_nails(x)[0, 0], notes_nails)
show_matrices([x, bed_of_nails(x)], ["input", "bed of nails, ×2"]);

# %% [markdown]
# ### Bilinear
# Each output pixel is placed at a position between the input pixels, and its value is interpolated linearly
# from the four nearest input pixels (first along one axis, then the other). *Where* the output pixels sit is a
# convention, and PyTorch has two (`align_corners`):
#
# - `align_corners=False` (the default; also OpenCV's and TensorFlow 2's): pixels are squares, and the output
#   squares subdivide the input squares. Output pixel $i$ samples input position $(i + 0.5)/s - 0.5$, clamped at
#   the border: here $0, 0.25, 0.75, 1$.
# - `align_corners=True`: the corner pixels' *centres* coincide, and the rest are evenly spaced between:
#   positions $0, 1/3, 2/3, 1$.

# %%
notes_bilinear = torch.tensor([[10.0, 12, 17, 20], [15, 17, 22, 25], [25, 27, 32, 35], [30, 32, 37, 40]])
half_pixel = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)[0, 0]
corners = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)[0, 0]
show_matrices([notes_bilinear, half_pixel, corners.round(decimals=2)],
              ["the notes", "align_corners=False", "align_corners=True"]);
print("notes == align_corners=False rounded down:", torch.equal(half_pixel.floor(), notes_bilinear))
print("notes == align_corners=True rounded:      ", torch.equal(corners.round(), notes_bilinear))
assert torch.equal(half_pixel.floor(), notes_bilinear) and not torch.equal(corners.round(), notes_bilinear)

# %% [markdown]
# The notes' matrix is PyTorch's default, `align_corners=False`, with the halves dropped: $12.5$ is written
# $12$, $17.5$ is written $17$ (probably integer arithmetic). Neither convention gives it exactly; the correct
# values are the middle matrix. With `align_corners=True` the first row would be $10, 13.3, 16.7, 20$.
#
# ### Max-unpooling
# Max-pooling forgets *where* each maximum was; max-unpooling puts values back in exactly those places, the
# rest is zero. So the encoder's pooling layer must save its indices (`return_indices=True`) and hand them to the
# decoder's matching unpooling layer. The notes pool a 4×4 matrix to 2×2, then unpool a different 2×2 matrix
# with the same indices:

# %%
pooled_input = torch.tensor([[1.0, 2, 6, 3], [3, 5, 2, 1], [1, 2, 2, 1], [7, 3, 4, 8]])[None, None]
pooled, indices = F.max_pool2d(pooled_input, 2, return_indices=True)
to_unpool = torch.tensor([[1.0, 2], [3, 4]])[None, None]
unpooled = F.max_unpool2d(to_unpool, indices, 2)
notes_unpooled = torch.tensor([[0.0, 0, 2, 0], [0, 1, 0, 0], [0, 0, 0, 0], [3, 0, 0, 4]])
assert torch.equal(pooled[0, 0], torch.tensor([[5.0, 6], [7, 8]])) and torch.equal(unpooled[0, 0], notes_unpooled)
show_matrices([pooled_input, pooled, indices, to_unpool, unpooled],
              ["pooled 4×4", "max-pool 2×2", "saved indices (flat)", "to unpool", "max-unpooled"]);

# %% [markdown]
# The indices are positions in the flattened 4×4 input: 5 is at index 5 (row 1, column 1), 6 at index 2,
# 7 at index 12 and 8 at index 15, and that is where 1, 2, 3, 4 land.
#
# ### Transposed convolution = zero insertion + convolution
#
# The upsampling layers so far have no weights. A **transposed convolution** (also, misleadingly, called
# "deconvolution") learns its kernel. With stride $s$ it works like this: insert $s-1$ zeros between the input
# values (a bed of nails), pad the border with $k-1-p$ zeros (kernel size $k$, padding $p$), and run an ordinary
# convolution with stride 1. The notes' example, stride 2, a 3×3 kernel, padding 1:

# %%
def transposed_conv_by_zero_insertion(x, kernel, stride, padding):
    """One-channel transposed convolution, written as zero insertion, zero padding and a stride-1 convolution.

    PyTorch's weight `kernel` is applied flipped (rotated by 180 degrees); the next cell explains why."""
    k = kernel.shape[-1]
    spread = torch.zeros(*x.shape[:-2], (x.shape[-2] - 1) * stride + 1, (x.shape[-1] - 1) * stride + 1)
    spread[..., ::stride, ::stride] = x
    border = k - 1 - padding
    return F.conv2d(F.pad(spread, [border] * 4), kernel.flip(-1, -2)[None, None])

small = torch.tensor([[2.0, 5], [4, 13]])[None, None]
notes_kernel = torch.tensor([[3.0, 1, 2], [2, 0, 0], [5, 4, 7]])
notes_result = torch.tensor([[0.0, 4, 0], [18, 127, 57], [0, 8, 0]])
pytorch_weight = notes_kernel.flip(-1, -2)  # the notes slide their kernel over the zero-inserted map unflipped
ours = transposed_conv_by_zero_insertion(small, pytorch_weight, stride=2, padding=1)
layer = nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1, bias=False)
with torch.no_grad():
    layer.weight.copy_(pytorch_weight[None, None])
    pytorch_result = layer(small)
spread = F.pad(bed_of_nails(small)[..., :3, :3], [1, 1, 1, 1])
show_matrices([small, spread, notes_kernel, ours], ["input", "zeros inserted + padding", "kernel (as in the notes)",
                                                  "result"]);
assert torch.equal(ours[0, 0], notes_result) and torch.equal(pytorch_result[0, 0], notes_result)
print("nn.ConvTranspose2d(1, 1, 3, stride=2, padding=1) with the flipped kernel:\n", pytorch_result[0, 0])

# %% [markdown]
# The numbers match the notes ($127 = 2\cdot3 + 5\cdot2 + 4\cdot5 + 13\cdot7$) and `nn.ConvTranspose2d`. Two
# details the notes skip: PyTorch stores the kernel rotated by 180°, and with padding 1 the 2×2 input becomes
# 3×3, not 4×4. The output side is $(n-1)s - 2p + k + \text{output\_padding}$, so doubling needs `output_padding=1`
# (or $k=4$, $p=1$).
#
# Why *transposed*? A convolution is a linear map, $y = Mx$ for some matrix $M$. The transposed convolution
# multiplies by $M^\top$: it maps the small output shape back to the large input shape (the shapes, not the
# values: $M^\top$ is not the inverse). That is also why autograd computes the gradient of a convolution with a
# transposed convolution. Checked on a 4×4 input and a 3×3 kernel:

# %%
def convolution_matrix(kernel, size, stride, padding):
    """The matrix M of a convolution on size x size images: column j is the output for the j-th one-hot image."""
    one_hot_images = torch.eye(size * size).view(-1, 1, size, size)
    return F.conv2d(one_hot_images, kernel, stride=stride, padding=padding).flatten(1).T


kernel = torch.randn(1, 1, 3, 3, generator=torch.Generator().manual_seed(0))
for stride, padding in [(1, 0), (1, 1), (2, 1), (2, 0)]:
    M = convolution_matrix(kernel, 5, stride, padding)
    side = int(M.shape[0] ** 0.5)
    y = torch.randn(1, 1, side, side, generator=torch.Generator().manual_seed(stride + padding))
    by_matrix = (M.T @ y.flatten()).view(1, 1, 5, 5)
    by_layer = F.conv_transpose2d(y, kernel, stride=stride, padding=padding)
    by_zero_insertion = transposed_conv_by_zero_insertion(y, kernel[0, 0], stride, padding)
    print(f"stride {stride}, padding {padding}: M is {M.shape[0]}x{M.shape[1]}, {side}x{side} -> "
          f"{by_layer.shape[-2]}x{by_layer.shape[-1]}; |M^T y - ConvTranspose| = "
          f"{(by_matrix - by_layer).abs().max():.1e}, |zero insertion - ConvTranspose| = "
          f"{(by_zero_insertion - by_layer).abs().max():.1e}")
    assert torch.allclose(by_matrix, by_layer, atol=1e-5) and torch.allclose(by_zero_insertion, by_layer, atol=1e-5)

# %% [markdown]
# ### Checkerboard artefacts
#
# Read the transposed convolution the other way round: every input value *stamps* a copy of the kernel, scaled by
# the value, into the output, and the stamps are placed $s$ pixels apart. When the kernel size is not a multiple
# of the stride, neighbouring stamps overlap unevenly: some output pixels receive one stamp, some two, some four.
# Even with a constant input and a constant kernel the output is a checkerboard (Odena et al., 2016):

# %%
flat_input = torch.ones(1, 1, 8, 8)
fig, axes = plt.subplots(1, 4, figsize=(11, 2.8))
overlaps = {}
for ax, (k, s) in zip(axes[:3], [(3, 2), (4, 2), (2, 2)]):
    stamps = F.conv_transpose2d(flat_input, torch.ones(1, 1, k, k), stride=s)[0, 0, 2:-2, 2:-2]  # the interior
    overlaps[k] = sorted(stamps.unique().int().tolist())
    ax.imshow(stamps, cmap="magma", vmin=0)
    ax.set_title(f"kernel {k}, stride {s}: values {overlaps[k]}", fontsize=9)
assert overlaps == {3: [1, 2, 4], 4: [4], 2: [1]}
torch.manual_seed(1)
generator = nn.Sequential(*[nn.ConvTranspose2d(4 if i else 1, 4, 3, stride=2) for i in range(3)], nn.Conv2d(4, 1, 1))
with torch.no_grad():
    out = generator(torch.ones(1, 1, 6, 6))[0, 0]
axes[3].imshow(out[4:-4, 4:-4], cmap="magma")
axes[3].set_title("3 random layers (k=3, s=2)\non a constant input", fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# With kernel 3 and stride 2 the pixels get 1, 2 or 4 contributions in a regular pattern; kernel 4 with stride 2
# (a multiple) covers the interior evenly, and kernel 2 with stride 2 does not overlap at all. Stacked random
# layers make the grid pattern worse. Learning can cancel it, but often does not quite, which is why many
# decoders upsample with nearest or bilinear interpolation followed by an ordinary convolution instead.
#
# ### Pixel shuffle (sub-pixel convolution)
# The last trick of the notes: compute the extra pixels as extra *channels* at low resolution, then rearrange
# them. A tensor of $C\cdot r^2$ channels of size $h\times w$ becomes $C$ channels of size $rh\times rw$: channel
# group $k$ fills position $k$ of every $r\times r$ block. For example, an $x\times y\times 12$ map becomes a
# $2x\times 2y\times 3$ colour image (Shi et al., 2016).

# %%
four_channels = torch.tensor([1.0, 2, 3, 4]).view(1, 4, 1, 1).expand(1, 4, 2, 2)
shuffled = F.pixel_shuffle(four_channels, 2)
show_matrices([four_channels[0, k] for k in range(4)] + [shuffled],
              [f"channel {k}" for k in range(4)] + ["pixel shuffle, r=2"]);
assert torch.equal(shuffled[0, 0, :2, :2], torch.tensor([[1.0, 2], [3, 4]]))
print("(1, 12, 5, 7) ->", tuple(nn.PixelShuffle(2)(torch.zeros(1, 12, 5, 7)).shape))

# %% [markdown]
# Pixel shuffle has no overlapping stamps, hence no checkerboard from uneven overlap, and the convolution before
# it works at low resolution, which is cheap.
#
# ## 5. Dilated convolutions, receptive field, pyramid pooling
#
# ### The receptive field
# An output pixel's **receptive field** is the input region it depends on. For a chain of layers with kernel
# $k_l$, stride $s_l$ and dilation $d_l$ it grows by $(k_l - 1)\,d_l$ times the product of all earlier strides:
#
# $$ r = 1 + \sum_{l} (k_l - 1)\, d_l \prod_{m<l} s_m . $$
#
# A **dilated** (atrous) convolution spreads its kernel out: with dilation $r$ the 3×3 weights touch pixels $r$
# apart, $y_i = \sum_k x_{i + rk}\, w_k$. Same number of weights, larger field, no loss of resolution. We compute
# the field by the formula and check it by backpropagating from one output pixel: with all weights equal to one
# and no non-linearity, the gradient on the input counts the paths from each input pixel to that output.

# %%
def receptive_field(layers):
    """`layers`: (kernel, stride, dilation) per layer, first to last."""
    size, jump = 1, 1
    for kernel, stride, dilation in layers:
        size += (kernel - 1) * dilation * jump
        jump *= stride
    return size


def path_counts(layers, size=41):
    """Gradient of the centre output of a linear all-ones stack w.r.t. its input: paths per input pixel."""
    stack = nn.Sequential(*[nn.Conv2d(1, 1, k, stride=s, dilation=d, padding=d * (k - 1) // 2, bias=False)
                            for k, s, d in layers])
    for conv in stack:
        nn.init.ones_(conv.weight)
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    out = stack(x)
    out[0, 0, out.shape[-2] // 2, out.shape[-1] // 2].backward()
    return x.grad[0, 0]


stacks = {"3 layers 3x3": [(3, 1, 1)] * 3,
          "dilations 1, 2, 4": [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
          "dilations 2, 2, 2": [(3, 1, 2)] * 3,
          "3x3, stride 2, 3x3, 3x3": [(3, 1, 1), (3, 2, 1), (3, 1, 1), (3, 1, 1)]}
fig, axes = plt.subplots(1, len(stacks), figsize=(12, 3.2))
holes = {}
for ax, (name, layers) in zip(axes, stacks.items()):
    counts = path_counts(layers)
    reached = (counts != 0).any(1).nonzero().flatten()
    measured_side = int(reached.max() - reached.min() + 1)
    assert measured_side == receptive_field(layers)
    field = counts[reached.min():reached.max() + 1, reached.min():reached.max() + 1]
    holes[name] = int((field == 0).sum())
    ax.imshow(counts[10:-10, 10:-10], cmap="viridis")
    ax.set_title(f"{name}\nformula {receptive_field(layers)}, measured {measured_side}", fontsize=9)
    ax.axis("off")
plt.show()
print("input pixels inside the field that the centre output never sees:", holes)
assert holes["dilations 1, 2, 4"] == 0 and holes["dilations 2, 2, 2"] > 0

# %% [markdown]
# Dilations 1, 2, 4 give a 15×15 field with three 3×3 layers, against 7×7 without dilation, and every pixel of it
# is reached. Dilations 2, 2, 2 leave holes (**gridding**): only every other pixel is seen. A stride early in the
# stack multiplies everything after it, which is how pooling grows the field cheaply. The counts also show that
# the centre of the field matters far more than its edge (the *effective* receptive field is smaller).
#
# Stacking exponentially growing dilations aggregates **multi-scale context** without pooling (Yu and Koltun,
# 2016): a large object and a small one are both seen at some layer. DeepLab's atrous spatial pyramid pooling
# runs several dilations in parallel for the same reason.
#
# ### Pyramid pooling
# PSPNet (Zhao et al., 2017) adds global context differently: pool the final feature map into 1×1, 2×2, 3×3 and
# 6×6 bins in parallel (adaptive average pooling), reduce each with a 1×1 convolution, upsample all to the map's
# size and concatenate them with the map. The 1×1 bin says what is in the whole scene, the 6×6 bins roughly where.
# Applied to a scene itself (one channel, no convolution) the four levels look like this:

# %%
class PyramidPooling(nn.Module):
    def __init__(self, channels, bins=(1, 2, 3, 6)):
        super().__init__()
        self.bins = bins
        self.reduce = nn.ModuleList(nn.Conv2d(channels, channels // len(bins), 1) for _ in bins)

    def forward(self, x):
        levels = [F.interpolate(conv(F.adaptive_avg_pool2d(x, b)), size=x.shape[-2:], mode="bilinear",
                                align_corners=False) for b, conv in zip(self.bins, self.reduce)]
        return torch.cat([x, *levels], dim=1)

features = torch.randn(2, 64, 16, 16)
print("feature map", tuple(features.shape), "-> with the pyramid", tuple(PyramidPooling(64)(features).shape))
busy = int(torch.diff(test_set.offsets).argmax())  # the first test scene with the most objects
scene = test_set.images[busy:busy + 1]
fig, axes = plt.subplots(1, 5, figsize=(11, 2.4))
axes[0].imshow(scene[0, 0], cmap="gray")
axes[0].set_title("scene", fontsize=9)
for ax, b in zip(axes[1:], (1, 2, 3, 6)):
    pooled = F.adaptive_avg_pool2d(scene, b)
    ax.imshow(F.interpolate(pooled, size=(H, W), mode="nearest")[0, 0], cmap="gray")
    ax.set_title(f"{b}x{b} bins", fontsize=9)
for ax in axes:
    ax.axis("off")
plt.show()

# %% [markdown]
# ## 6. UNet
#
# UNet (Ronneberger, Fischer and Brox, 2015) was designed for biomedical images: cells under a microscope, few
# training images, small structures that must be outlined precisely, usually a binary answer. It is an
# encoder–decoder with one change that matters: **skip connections**. Each decoder level concatenates the
# upsampled coarse map with the encoder's map of the same resolution. The encoder finds *what* is in the image,
# the skips tell the decoder *where*, at the resolution that pooling had thrown away. Unlike a generic
# deconvolution network, the decoder therefore mirrors the encoder level by level. Our `UNet` class from section
# 2 has two poolings; the paper's has four and 64 to 1024 channels.

# %%
unet = UNet(C, width=8)
plain = UNet(C, width=8, skips=False)
print(f"UNet: {sum(p.numel() for p in unet.parameters()):,} parameters, receptive field "
      f"{measured_receptive_field(unet)} px; without skips {sum(p.numel() for p in plain.parameters()):,}")
print("input", tuple(test_set.images[:2].shape), "-> output", tuple(unet(test_set.images[:2]).shape))

# %% [markdown]
# ### Overlap-tile with mirror padding
#
# The paper's convolutions have no padding: every 3×3 convolution trims a pixel on each side, so the output is
# smaller than the input and only the centre of an input tile gets a prediction.
# In the paper a 572×572 input tile gives a 388×388 output. <!-- quoted -->
# Large images are therefore predicted tile by tile, each input tile larger than its output tile by the
# trimmed margin, and the tiles overlap. At the image border the missing context is filled by **mirroring** the
# image. The result is seamless: exactly what one pass over the whole mirrored image would give, with no seams at
# tile borders and no zero-padding artefacts. A miniature version of the paper's layout on one of our scenes:

# %%
def valid_block(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3), nn.ReLU(), nn.Conv2d(c_out, c_out, 3), nn.ReLU())


def center_crop(t, like):
    top, left = (t.shape[-2] - like.shape[-2]) // 2, (t.shape[-1] - like.shape[-1]) // 2
    return t[..., top:top + like.shape[-2], left:left + like.shape[-1]]


class ValidUNet(nn.Module):
    """The 2015 layout in miniature: unpadded convolutions; encoder maps are cropped to the decoder's size."""

    def __init__(self, classes, w=8):
        super().__init__()
        self.down1, self.down2, self.bottom = valid_block(1, w), valid_block(w, 2 * w), valid_block(2 * w, 4 * w)
        self.up2, self.dec2 = nn.ConvTranspose2d(4 * w, 2 * w, 2, stride=2), valid_block(4 * w, 2 * w)
        self.up1, self.dec1 = nn.ConvTranspose2d(2 * w, w, 2, stride=2), valid_block(2 * w, w)
        self.head = nn.Conv2d(w, classes, 1)

    def forward(self, x):
        full = self.down1(x)
        half = self.down2(F.max_pool2d(full, 2))
        up = self.up2(self.bottom(F.max_pool2d(half, 2)))
        up = self.up1(self.dec2(torch.cat([center_crop(half, up), up], dim=1)))
        return self.head(self.dec1(torch.cat([center_crop(full, up), up], dim=1)))


valid_unet = ValidUNet(C).eval()
TILE_IN = 72
TILE_OUT = valid_unet(torch.zeros(1, 1, TILE_IN, TILE_IN)).shape[-1]
MARGIN = (TILE_IN - TILE_OUT) // 2
scene = test_set.images[busy:busy + 1]
mirrored = F.pad(scene, [MARGIN] * 4, mode="reflect")
with torch.no_grad():
    whole = valid_unet(mirrored)
    tiles = torch.zeros(1, C, H, W)
    for top in range(0, H, TILE_OUT):
        for left in range(0, W, TILE_OUT):
            tiles[..., top:top + TILE_OUT, left:left + TILE_OUT] = valid_unet(
                mirrored[..., top:top + TILE_IN, left:left + TILE_IN])
print(f"input tile {TILE_IN}x{TILE_IN} -> output tile {TILE_OUT}x{TILE_OUT}: margin {MARGIN} px per side; "
      f"scene {H}x{W} mirror-padded to {tuple(mirrored.shape[-2:])}, {(H // TILE_OUT) ** 2} tiles")
print(f"tiles stitched vs one pass over the mirrored scene: largest difference {(tiles - whole).abs().max():.1e}")
assert whole.shape[-2:] == (H, W) and torch.allclose(tiles, whole, atol=1e-5)

fig, ax = plt.subplots(figsize=(4.2, 4.2))
ax.imshow(mirrored[0, 0], cmap="gray")
ax.add_patch(Rectangle((MARGIN - 0.5, MARGIN - 0.5), W, H, fill=False, ec="red", lw=2, label="the scene"))
ax.add_patch(Rectangle((TILE_OUT - 0.5, -0.5), TILE_IN, TILE_IN, fill=False, ec="yellow", lw=2, ls="--",
                       label="input of the top-right tile"))
ax.add_patch(Rectangle((MARGIN + TILE_OUT - 0.5, MARGIN - 0.5), TILE_OUT, TILE_OUT, fill=True, alpha=0.3,
                       color="lime", label="its output"))
ax.legend(loc="lower center", bbox_to_anchor=(0.5, -0.25), ncol=1, fontsize=8)
ax.set_title("mirror padding and one tile", fontsize=9)
ax.axis("off")
plt.show()

# %% [markdown]
# Outside the red square the scene is mirrored. The top-right tile's input (yellow) reaches into the mirrored
# border, and only its centre (green) is predicted. Our `UNet` above pads with zeros instead and keeps the size,
# which is simpler and fine for small images.
#
# ### Weights for thin borders
#
# Touching cells are separated by borders a few pixels thin. They are a tiny fraction of all pixels, so an
# unweighted loss hardly notices whether the network separates the cells. UNet weights each pixel's loss by
#
# $$ w(x) = w_c(x) + w_0 \exp\!\left(-\frac{(d_1(x) + d_2(x))^2}{2\sigma^2}\right), $$
#
# where $w_c$ balances the class frequencies, $d_1$ and $d_2$ are the distances to the nearest and the second
# nearest object, and the paper uses $w_0 = 10$ and $\sigma \approx 5$ pixels. The extra weight is large only
# where two objects are close, in the gap between them. We use $\sigma = 2$ for our much smaller scenes, add the
# term on background pixels (the gaps) only, and pick the test scene with the most narrow gaps.

# %%
def unet_weight_map(instances, class_weight, semantic, w0=10.0, sigma=2.0):
    """The 2015 paper's per-pixel loss weights for one scene's (H, W) instance map."""
    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    pixels = torch.stack([rows, cols], dim=-1).reshape(-1, 2).float()
    ids = [k for k in instances.unique().tolist() if k > 0]
    distance = torch.stack([torch.cdist(pixels, pixels[instances.flatten() == k]).amin(1) for k in ids])
    nearest, second = distance.sort(dim=0).values[:2]
    border = w0 * torch.exp(-(nearest + second) ** 2 / (2 * sigma**2)) * (instances.flatten() == 0)
    return class_weight[semantic] + border.view(H, W)

def gap_pixels(instances):
    """Per scene: background pixels within 2 px of two different objects, where the border term is large."""
    objects_near = torch.zeros(instances.shape)
    for k in range(1, int(instances.max()) + 1):
        grown = F.max_pool2d((instances == k).float()[:, None], 5, stride=1, padding=2)[:, 0]  # grown by 2 px
        objects_near += grown
    return ((objects_near >= 2) & (instances == 0)).sum(dim=(1, 2))


frequency_weight = 1 / (C * pixel_share.float())  # w_c: every class weighs the same in total; mean weight 1
touching = int(gap_pixels(test_set.instances).argmax())  # the test scene with the most narrow gaps
weights = unet_weight_map(test_set.instances[touching].long(), frequency_weight, test_set.semantic[touching])
border_term = weights - frequency_weight[test_set.semantic[touching]]
panels = {"scene": (test_set.images[touching, 0], "gray"), "instances": (test_set.instances[touching], "tab10"),
          "border term": (border_term, "inferno"), "w(x) = w_c(x) + border term": (weights, "inferno")}
fig, axes = plt.subplots(1, 4, figsize=(12, 3))
for ax, (title, (picture, cmap)) in zip(axes, panels.items()):
    shown = ax.imshow(picture, cmap=cmap, interpolation="nearest")
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    if cmap == "inferno":
        fig.colorbar(shown, ax=ax, fraction=0.046)
plt.show()
print(f"w_c: background {frequency_weight[0]:.2f}, objects {frequency_weight[1:].min():.2f} to "
      f"{frequency_weight[1:].max():.2f}; border term up to {border_term.max():.2f} in the gaps")
assert border_term.max() > frequency_weight.max() / 2

# %% [markdown]
# ## 7. Losses and metrics
#
# **Cross-entropy per pixel** (section 2) is the standard loss. For a binary problem (cell or not) the network
# outputs one score per pixel and the loss is the **binary cross-entropy** of its sigmoid,
# $-\frac{1}{HW}\sum [\,g\log p + (1-g)\log(1-p)\,]$ with the truth $g\in\{0,1\}$, `F.binary_cross_entropy_with_logits`.
# Both can take per-pixel weights, as UNet's.
#
# The usual metrics compare a predicted set of pixels $A$ with the true set $B$, class by class:
#
# $$ \mathrm{IoU}(A, B) = \frac{|A\cap B|}{|A\cup B|} = \frac{TP}{TP + FP + FN}, \qquad
#    \mathrm{Dice}(A, B) = \frac{2|A\cap B|}{|A| + |B|} = \frac{2\,TP}{2\,TP + FP + FN}. $$
#
# Both are 1 for a perfect prediction and 0 when nothing overlaps, and
# $\mathrm{Dice} = 2\,\mathrm{IoU}/(1 + \mathrm{IoU})$, so they rank predictions of one class identically. The
# **mean IoU** (mIoU) averages over the classes, the background included; Pascal VOC and Cityscapes rank methods
# by it. Unlike pixel accuracy, the IoU of a class
# does not care how many background pixels there are:

# %%
def dice_per_class(predicted, truth, classes=C):
    m = confusion_matrix(predicted, truth, classes).double()
    hits = m.diagonal()
    return 2 * hits / (m.sum(0) + m.sum(1))


all_background = torch.zeros_like(test_set.semantic)
lazy_iou = iou_per_class(all_background, test_set.semantic)
lazy_dice = dice_per_class(all_background, test_set.semantic)
print(f"'everything is background': pixel accuracy {(all_background == test_set.semantic).double().mean():.1%}, "
      f"IoU per class {[round(v, 3) for v in lazy_iou.tolist()]}, mean IoU {lazy_iou.mean():.3f}")
assert torch.allclose(lazy_dice, 2 * lazy_iou / (1 + lazy_iou)) and (lazy_iou[1:] == 0).all()

# %% [markdown]
# The lazy answer scores a high pixel accuracy, because the background is most of the pixels, and yet it
# finds nothing: every object class has IoU 0, and the mean IoU is only the background's share of it. That is
# class imbalance in the metric. In the *loss*, the background's many easy pixels dominate the average, and
# the rare classes pull little. Common remedies: weight the cross-entropy by inverse class frequency (as $w_c$
# above), or train on a **soft Dice loss** that uses probabilities instead of hard sets and, like the metric,
# normalises each class by its own size:
#
# $$ L_{\text{Dice}} = 1 - \frac{1}{C}\sum_c
#    \frac{2\sum_x p_c(x)\, g_c(x) + \varepsilon}{\sum_x p_c(x) + \sum_x g_c(x) + \varepsilon}. $$
#
# The small $\varepsilon$ keeps the loss defined when a class is absent from both prediction and truth (then the
# class counts as perfect). We train with cross-entropy plus soft Dice:

# %%
def soft_dice_loss(scores, truth, eps=1.0):
    probabilities = scores.softmax(dim=1)
    one_hot = F.one_hot(truth, scores.shape[1]).permute(0, 3, 1, 2).float()
    overlap = (probabilities * one_hot).sum(dim=(0, 2, 3))
    sizes = probabilities.sum(dim=(0, 2, 3)) + one_hot.sum(dim=(0, 2, 3))
    return 1 - ((2 * overlap + eps) / (sizes + eps)).mean()


def segmentation_loss(scores, truth):
    return F.cross_entropy(scores, truth) + soft_dice_loss(scores, truth)


def confident_scores(labels):
    """Scores that put (almost) all probability on `labels`."""
    return 20 * F.one_hot(labels, C).permute(0, 3, 1, 2).float()


truth = test_set.semantic[:4]
print(f"soft Dice loss: perfect prediction {soft_dice_loss(confident_scores(truth), truth):.4f}, "
      f"'everything is background' {soft_dice_loss(confident_scores(all_background[:4]), truth):.3f}")

# %% [markdown]
# ### The effect of imbalance on training
#
# An extreme case: find only the sneakers, drawn small, so they cover about one pixel in a hundred. A tiny
# network (three convolutions with dilations 1, 2, 4) gets the same few dozen Adam steps with each of three
# losses: plain BCE, BCE with the positive pixels weighted by the inverse frequency (`pos_weight`), and soft Dice.
# We count the sneaker pixels on held-out scenes: precision (of the pixels called sneaker, how many are) and
# recall (of the sneaker pixels, how many were found).

# %%
rare = make_scenes(800, object_size=(12, 20), objects=(1, 3), seed=5, **{k: SCENES[k] for k in ("source", "classes")})
is_sneaker = (rare.semantic == NAMES.index("Sneaker")).float()[:, None]
sneaker_share = is_sneaker.mean().item()
assert 0.003 < sneaker_share < 0.03


def tiny_fcn():
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=2, dilation=2), nn.ReLU(),
                         nn.Conv2d(8, 8, 3, padding=4, dilation=4), nn.ReLU(), nn.Conv2d(8, 1, 1))


def binary_soft_dice(scores, truth, eps=1.0):
    p = scores.sigmoid()
    return 1 - (2 * (p * truth).sum() + eps) / (p.sum() + truth.sum() + eps)


rare_losses = {
    "BCE": F.binary_cross_entropy_with_logits,
    "BCE, pos_weight": lambda s, g: F.binary_cross_entropy_with_logits(
        s, g, pos_weight=torch.tensor((1 - sneaker_share) / sneaker_share)),
    "soft Dice": binary_soft_dice,
}
rare_results = {}
print(f"sneaker pixels: {sneaker_share:.2%} of all")
print(f"{'loss':<16} {'precision':>9} {'recall':>7} {'IoU':>6}")
for name, loss_fn in rare_losses.items():
    seed_everything(0)
    net = tiny_fcn()
    adam = torch.optim.Adam(net.parameters(), lr=1e-2)
    for scenes_batch, truth_batch in TensorLoader(rare.images[:600], is_sneaker[:600], batch_size=16, shuffle=True,
                                                  seed=0):
        loss = loss_fn(net(scenes_batch), truth_batch)
        adam.zero_grad()
        loss.backward()
        adam.step()
    with torch.no_grad():
        found = net(rare.images[600:]) > 0
    truth = is_sneaker[600:] > 0
    tp, fp, fn = (found & truth).sum().item(), (found & ~truth).sum().item(), (~found & truth).sum().item()
    rare_results[name] = {"precision": tp / max(tp + fp, 1), "recall": tp / (tp + fn), "iou": tp / (tp + fp + fn)}
    print(f"{name:<16} {rare_results[name]['precision']:>9.3f} {rare_results[name]['recall']:>7.3f} "
          f"{rare_results[name]['iou']:>6.3f}")
del rare, is_sneaker  # free their memory before the main training

# %% [markdown]
# Plain BCE learns the lazy answer: almost every pixel is background, so predicting "no sneaker" everywhere
# already gives a small loss, and its recall stays near zero. Weighting the rare pixels by the inverse
# frequency swings to the other extreme: it finds almost all of them but calls many background pixels sneaker
# too (low precision). Soft Dice, which scores the overlap itself, has the best IoU of the three. Imbalance
# decides above all what a network learns *first*; exercise 2 asks what remains of it after longer training.

# %%
assert rare_results["BCE"]["recall"] < 0.05
assert rare_results["BCE, pos_weight"]["recall"] > 0.8 and rare_results["BCE, pos_weight"]["precision"] < 0.3
assert rare_results["soft Dice"]["iou"] > max(rare_results["BCE"]["iou"], rare_results["BCE, pos_weight"]["iou"])

# %% [markdown]
# ## 8. Training a small UNet
#
# The `UNet` of section 2 (width 8: 8, 16 and 32 channels) on the 1500 training scenes for 3 epochs with Adam
# and a one-cycle learning rate, measured on the 500 held-out test scenes. `fit` reports the pixel accuracy.

# %%
seed_everything(0)
model = UNet(C, width=8).to(memory_format=torch.channels_last)  # (N, H, W, C) layout: faster convolutions
EPOCHS = 3
train_loader = TensorLoader(train_set.images, train_set.semantic, batch_size=32, shuffle=True, seed=0, device=device)
test_loader = TensorLoader(test_set.images, test_set.semantic, batch_size=100, device=device)
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=1e-2, total_steps=EPOCHS * len(train_loader))
start = time.perf_counter()
history = fit(model, train_loader, optimizer, EPOCHS, val_loader=test_loader, loss_fn=segmentation_loss,
              scheduler=scheduler, device=device)
training_seconds = time.perf_counter() - start

model.eval()
with torch.no_grad():
    test_probabilities = torch.cat([model(x).float().softmax(dim=1).cpu() for x, _ in test_loader])
predicted = test_probabilities.argmax(dim=1)
test_iou = iou_per_class(predicted, test_set.semantic)
print(f"trained in {training_seconds:.0f} s on {device}; test pixel accuracy {history['val_acc'][-1]:.1%}")
for name, value in zip(NAMES, test_iou):
    print(f"  IoU {name:>12}: {value:.3f}")
print(f"mean IoU {test_iou.mean():.3f} (everything-is-background: {lazy_iou.mean():.3f})")

# %% [markdown]
# The mean IoU on the held-out scenes lands between 0.5 and 0.95, far above the lazy answer. <!-- asserted -->
# (The next cell checks it; other seeds give other values inside that range.)
# The background is almost perfect (any bright pixel is an object); the hard part is *which* object, where two
# overlap or a shape is ambiguous. Predictions next to the truth:

# %%
assert 0.5 <= test_iou.mean() <= 0.95, test_iou
assert test_iou[0] > 0.95 and test_iou[0] > test_iou[1:].max()
show_scenes(test_set.images[:6], semantic=test_set.semantic[:6], class_names=NAMES, ncols=6, size=1.9,
            titles=["truth"] * 6)
plt.show()
show_scenes(test_set.images[:6], semantic=predicted[:6], class_names=NAMES, ncols=6, size=1.9,
            titles=[f"predicted, {(predicted[i] == test_set.semantic[i]).float().mean():.1%} right" for i in range(6)])
plt.show()

# %% [markdown]
# ### Explore the predictions
#
# Pick a test scene and a class. The widget shows the network's probability for that class at every pixel, the
# pixels above the threshold compared with the truth (green: right, red: false positive, blue: missed), and how
# the IoU and Dice of that class over all test scenes change with the threshold. Executed without a live Jupyter
# server, the notebook shows the defaults.

# %%
THRESHOLDS = torch.linspace(0.05, 0.95, 19)


def class_metrics_by_threshold(c):
    truth = test_set.semantic == c
    rows = []
    for t in THRESHOLDS:
        chosen = test_probabilities[:, c] >= t
        tp, fp, fn = (chosen & truth).sum(), (chosen & ~truth).sum(), (~chosen & truth).sum()
        rows.append((tp / (tp + fp + fn), 2 * tp / (2 * tp + fp + fn)))
    return torch.tensor(rows)


def show_class(scene, class_name, threshold):
    c = NAMES.index(class_name)
    probability = test_probabilities[scene, c]
    chosen, truth = probability >= threshold, test_set.semantic[scene] == c
    overlay = torch.stack([chosen & ~truth, chosen & truth, ~chosen & truth], dim=-1).float()
    curves = class_metrics_by_threshold(c)
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.1))
    axes[0].imshow(test_set.images[scene, 0], cmap="gray")
    axes[0].set_title(f"test scene {scene}", fontsize=9)
    axes[1].imshow(probability, cmap="viridis", vmin=0, vmax=1)
    axes[1].set_title(f"P({class_name})", fontsize=9)
    axes[2].imshow(overlay)
    axes[2].set_title(f"threshold {threshold:.2f}: green right, red false, blue missed", fontsize=8)
    for ax in axes[:3]:
        ax.axis("off")
    axes[3].plot(THRESHOLDS, curves[:, 0], marker=".", label="IoU")
    axes[3].plot(THRESHOLDS, curves[:, 1], marker=".", label="Dice")
    axes[3].axvline(threshold, color="gray", ls="--")
    axes[3].set(xlabel="threshold", ylim=(0, 1), title=f"{class_name}, all test scenes")
    axes[3].legend(fontsize=8)
    axes[3].grid(alpha=0.3)
    plt.tight_layout()
    plt.show()


explore(show_class,
        scene=widgets.IntSlider(value=1, min=0, max=len(test_set) - 1, description="scene"),
        class_name=widgets.Dropdown(options=list(NAMES[1:]), value="Bag", description="class"),
        threshold=widgets.FloatSlider(value=0.5, min=0.05, max=0.95, step=0.05, description="threshold"))

# %% [markdown]
# ## Summary
#
# - Semantic segmentation is classification of every pixel: $C$ scores per pixel, cross-entropy averaged over
#   the pixels. Instance segmentation also separates objects of one class.
# - A sliding window computes the same thing as a fully convolutional network, but repeats the shared work for
#   every pixel; measured above, it is many times slower. A full-resolution FCN with a receptive field large
#   enough to see an object does all its work at every pixel; an encoder–decoder does most of it at low
#   resolution and upsamples.
# - Upsampling: nearest and bed of nails copy, bilinear interpolates (PyTorch's default `align_corners=False`
#   gives the notes' matrix, which drops the halves), max-unpooling reuses the pooling's indices, a transposed
#   convolution is zero insertion plus a convolution (the transpose of the convolution's matrix) and can make
#   checkerboard artefacts, pixel shuffle rearranges channels into pixels.
# - Dilated convolutions grow the receptive field without losing resolution; the field follows
#   $r = 1 + \sum_l (k_l - 1) d_l \prod_{m<l} s_m$. Pyramid pooling adds context at 1, 2, 3 and 6 bins.
# - UNet: encoder–decoder with concatenated skip connections; its unpadded version predicts large images tile by
#   tile with mirror padding, seamlessly; its loss weights emphasise the thin gaps between touching objects.
# - IoU and Dice measure the overlap per class and ignore the number of background pixels; pixel accuracy
#   rewards predicting the majority class. Class imbalance is fought with class weights or a Dice loss.
#
# ## Try it yourself
#
# 1. Train `UNet(C, skips=False)` with the same settings. Which classes lose most IoU without the skips, and
#    where in the images are the errors?
# 2. Train with `loss_fn=F.cross_entropy` only, then with class weights (`weight=frequency_weight`). Compare the
#    per-class IoU and what the widget's threshold curves look like.
# 3. Replace the transposed convolutions in `UNet` by `nn.Upsample(scale_factor=2)` followed by a 3×3 convolution.
#    Any difference in mIoU or in the look of the predictions?
# 4. Generate harder scenes: `make_scenes(..., clutter=4, noise=0.1)` puts fragments of other clothes and noise in
#    the background. How much does the mean IoU drop?
