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
# # Lecture 10 — Object detection
#
# Segmentation (Lecture 09) labels every pixel. **Detection** answers a question closer to what a driver or a
# robot needs: *which objects are in the picture, and where?* The answer is a list of boxes, each with six
# numbers: the top-left corner $(x_{tl}, y_{tl})$, the bottom-right corner $(x_{br}, y_{br})$, a class and a
# confidence. Boxes are cruder than masks, but they are much cheaper to annotate, and for many uses (count the
# cars, crop the traffic sign and read it, track a pedestrian) a box is all one needs.
#
# **Plan**
# 1. Data and box formats; IoU, written by hand and checked against `torchvision.ops.box_iou`.
# 2. Evaluation: TP/FP/FN at an IoU threshold, precision–recall curves, AP and mAP (VOC's all-points and
#    COCO's 101-point interpolation), checked against the reference algorithms; the confusion matrix.
# 3. Sliding windows, and why they are slow (measured).
# 4. Two-stage detectors: R-CNN → Fast R-CNN (RoI pooling and RoIAlign) → Faster R-CNN (anchors, a region
#    proposal network) → Mask R-CNN, with measured costs and torchvision's real models.
# 5. One-stage detectors (YOLO, SSD) and point-based ones (CenterNet, CornerNet). A grid head, the YOLO loss of
#    the notes, target encoding and decoding, non-maximum suppression.
# 6. A small one-stage detector trained here, measured by mAP, its detections drawn; a widget for the score
#    and NMS thresholds.
#
# In the assignment you will write IoU, NMS, AP and the YOLO target encoding and loss yourself.

# %%
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from torch import nn
from torch.nn import functional as F
from torchvision import ops
from torchvision.models import detection
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from tqdm.auto import tqdm

from course_utils import LivePlot, choose_device, explore, make_scenes, seed_everything, show_scenes

# Our networks are small: on a CPU one thread beats splitting each operation across busy cores.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown]
# ## 1. Data, boxes and IoU
#
# Detection benchmarks are large: MS COCO 2017 has 80 classes and about 118 thousand training images (18 GB),
# Google's Open Images 600 classes and 1.7 million training images with 14.6 million boxes. <!-- quoted -->
# Neither fits a laptop lecture, so we use the scenes of Lecture 09: real Fashion-MNIST pictures pasted at random
# sizes and positions on a 64×64 canvas, possibly overlapping, four classes. `course_utils.make_scenes` returns the
# boxes in the format torchvision's detection models take: per scene a dict with `boxes` (XYXY, in pixel-edge
# coordinates: `x_br - x_tl` is the width in pixels) and `labels` (1 … C; 0 is reserved for the background).
# Training scenes use Fashion-MNIST's training pictures, test scenes its test pictures.

# %%
SCENES = {"source": "fashion", "classes": [0, 1, 7, 8], "size": 64}  # T-shirt/top, Trouser, Sneaker, Bag
N_TRAIN = 2500 if device.type == "cpu" else 12000
start = time.perf_counter()
train_set = make_scenes(N_TRAIN, seed=0, **SCENES)
test_set = make_scenes(500, seed=1, train=False, **SCENES)
print(f"{len(train_set) + len(test_set)} scenes generated in {time.perf_counter() - start:.2f} s")
print(train_set)
NAMES = train_set.class_names
C = train_set.num_classes - 1  # object classes, without the background
H, W = train_set.canvas_size
test_targets = test_set.targets()
fig = show_scenes(test_set.images[:8], test_targets[:8], class_names=NAMES, masks=False)

# %% [markdown]
# Three box formats are common: corners `xyxy` (Pascal VOC, torchvision), corner and size `xywh` (COCO's
# annotation files) and centre and size `cxcywh` (YOLO). `torchvision.ops.box_convert` converts between them:

# %%
boxes = test_targets[0]["boxes"].as_subclass(torch.Tensor)
for fmt in ("xyxy", "xywh", "cxcywh"):
    print(f"{fmt:7s}", ops.box_convert(boxes, "xyxy", fmt).tolist())
assert torch.equal(ops.box_convert(ops.box_convert(boxes, "xyxy", "cxcywh"), "cxcywh", "xyxy"), boxes)

# %% [markdown]
# ### Intersection over union
#
# How well does a predicted box $p$ cover a true box $y$? The **IoU** (Jaccard index) is the area they share
# divided by the area they cover together:
#
# $$ \mathrm{IoU}(y, p) = \frac{|y \cap p|}{|y \cup p|} = \frac{|y \cap p|}{|y| + |p| - |y \cap p|}. $$
#
# The intersection of two axis-aligned boxes is a box: its top-left corner is the larger of the two top-left
# corners, its bottom-right corner the smaller of the two bottom-right ones, and it is empty when these cross.
# Broadcasting gives the IoU of every pair of $N$ and $M$ boxes at once, an $N\times M$ matrix:

# %%
def box_area(boxes):
    return (boxes[:, 2] - boxes[:, 0]).clamp(min=0) * (boxes[:, 3] - boxes[:, 1]).clamp(min=0)


def box_iou(a, b):
    """IoU of every box of a (N, 4) with every box of b (M, 4), XYXY: (N, M)."""
    top_left = torch.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    intersection = (bottom_right - top_left).clamp(min=0).prod(dim=-1)
    return intersection / (box_area(a)[:, None] + box_area(b)[None, :] - intersection)


square = torch.tensor([[0.0, 0.0, 10.0, 10.0]])
shifted = torch.tensor([[5.0, 0.0, 15.0, 10.0], [5.0, 5.0, 15.0, 15.0], [20.0, 20.0, 30.0, 30.0]])
print("IoU of a 10x10 square with itself shifted by (5, 0), (5, 5), far away:", box_iou(square, shifted).tolist())
assert torch.allclose(box_iou(square, shifted), torch.tensor([[1 / 3, 25 / 175, 0.0]]))

all_boxes = test_set.boxes
jittered = all_boxes + 4 * torch.randn_like(all_boxes)
ours, theirs = box_iou(all_boxes, jittered), ops.box_iou(all_boxes, jittered)
print(f"{len(all_boxes)}x{len(jittered)} pairs: largest difference from torchvision.ops.box_iou "
      f"{(ours - theirs).abs().max():.1e}")
assert torch.allclose(ours, theirs, atol=1e-6)

# %% [markdown]
# A trap from older code: the Pascal VOC devkit stored the *last* pixel of a box as `x_br` and therefore added 1 to
# every width and height. Our boxes store one past the last pixel (as COCO and torchvision do), so that +1 would
# be wrong here, and it is not small for small objects:

# %%
def box_iou_plus_one(a, b):
    """The VOC devkit's formula, widths x_br - x_tl + 1: right for last-pixel corners, wrong for ours."""
    one = torch.tensor([0.0, 0.0, 1.0, 1.0])
    return box_iou(a + one, b + one)


print(f"IoU of the square with its (5, 0) shift: {box_iou(square, shifted[:1]).item():.4f}, "
      f"with the +1: {box_iou_plus_one(square, shifted[:1]).item():.4f}")
assert box_iou_plus_one(square, shifted[:1]) > box_iou(square, shifted[:1])


# %% [markdown]
# ## 2. Evaluating a detector
#
# A detector returns, per image, a list of boxes with a class and a score. To compare it with the truth:
#
# 1. Sort all detections of one class by score, highest first.
# 2. Walk down the list. A detection is a **true positive** (TP) if its IoU with a true box of the same class in
#    the same image is at least $0.5$ and that true box has not been claimed by a higher-scoring detection; it is
#    a **false positive** (FP) otherwise: a wrong place, a wrong class, or a duplicate of an object already found.
# 3. Every true box left unclaimed is a **false negative** (FN): a missed object. (The notes call a missed object
#    a false positive; it is a false negative, and it is what lowers the recall.)
#
# There are no true negatives (every empty region of every image would be one), and neither precision
# $P = TP/(TP + FP)$ nor recall $R = TP/(TP + FN)$ needs them.
#
# Before we train a detector, let us make one up: it finds most objects with a shaky box, sometimes confuses the
# class, sometimes reports an object twice, and adds a few boxes on empty background. Its scores are higher for
# the better boxes, as a real detector's would be.

# %%
def simulated_detections(scenes, seed=0):
    """Noisy detections of `scenes`: per scene a dict of boxes, scores and labels."""
    g = torch.Generator().manual_seed(seed)
    detections = []
    for target in scenes.targets():
        truth, labels = target["boxes"].as_subclass(torch.Tensor), target["labels"]
        found = torch.rand(len(truth), generator=g) < 0.85
        repeats = 1 + (torch.rand(len(truth), generator=g) < 0.2).long()  # some objects reported twice
        found_truth = truth[found].repeat_interleave(repeats[found], dim=0)
        size = (found_truth[:, 2:] - found_truth[:, :2]).repeat(1, 2)
        boxes = found_truth + 0.15 * size * torch.randn(found_truth.shape, generator=g)
        quality = ops.box_iou(boxes, found_truth).diagonal()
        found_labels = labels[found].repeat_interleave(repeats[found])
        confused = torch.rand(len(found_labels), generator=g) < 0.1
        found_labels = torch.where(confused, torch.randint(1, C + 1, found_labels.shape, generator=g), found_labels)
        scores = (quality + 0.3 * torch.rand(len(boxes), generator=g)).clamp(0, 1)
        corner = torch.rand(2, 2, generator=g) * 40
        background = torch.cat([corner, corner + 10 + 14 * torch.rand(2, 2, generator=g)], dim=1)
        detections.append({"boxes": torch.cat([boxes, background]),
                           "scores": torch.cat([scores, 0.5 * torch.rand(2, generator=g)]),
                           "labels": torch.cat([found_labels, torch.randint(1, C + 1, (2,), generator=g)])})
    return detections


made_up = simulated_detections(test_set)
print(f"{sum(len(d['boxes']) for d in made_up)} made-up detections of {len(test_set.boxes)} objects")

# %% [markdown]
# Matching is greedy by score, class by class and image by image. The loop below follows Pascal VOC's rule: a
# detection looks at the true box it overlaps most; if that overlap is large enough and the box is still free,
# the detection is a TP.

# %%
def match_detections(detections, targets, iou_threshold=0.5):
    """Mark every detection TP or FP. Returns scores, labels, is_tp (over all images) and the true count per class."""
    scores, labels, is_tp = [], [], []
    for found, target in zip(detections, targets):
        truth = target["boxes"].as_subclass(torch.Tensor)
        overlap = box_iou(found["boxes"], truth)
        overlap[found["labels"][:, None] != target["labels"][None, :]] = 0  # only the same class counts
        claimed = torch.zeros(len(truth), dtype=torch.bool)
        hit = torch.zeros(len(found["boxes"]), dtype=torch.bool)
        for d in found["scores"].argsort(descending=True).tolist():
            if len(truth):
                best_iou, best = overlap[d].max(0)
                if best_iou >= iou_threshold and not claimed[best]:
                    hit[d] = claimed[best] = True
        scores.append(found["scores"])
        labels.append(found["labels"])
        is_tp.append(hit)
    truth_labels = torch.cat([t["labels"] for t in targets])
    return torch.cat(scores), torch.cat(labels), torch.cat(is_tp), torch.bincount(truth_labels, minlength=C + 1)


scores, labels, is_tp, true_counts = match_detections(made_up, test_targets)
print(f"TP {is_tp.sum()}, FP {(~is_tp).sum()}, FN {true_counts.sum() - is_tp.sum()} "
      f"(true objects per class: {dict(zip(NAMES[1:], true_counts[1:].tolist()))})")

# %% [markdown]
# ### Precision–recall curve and average precision
#
# Lowering the score threshold admits more detections: recall can only grow, precision goes up and down. Each
# prefix of the sorted list is one point $(R_k, P_k)$ of the **precision–recall curve**. The **average precision**
# (AP) is the area under it, computed in one of two standard ways after replacing the zig-zag precision by its
# **envelope** $\hat P(r) = \max_{r' \ge r} P(r')$ (the best precision reachable at recall $r$ or more):
#
# - Pascal VOC (2010 and later), "all points": $\mathrm{AP} = \sum_k (R_k - R_{k-1})\, \hat P(R_k)$, the exact
#   area under the envelope;
# - COCO, "101 points": $\mathrm{AP} = \frac{1}{101}\sum_{r \in \{0, 0.01, \dots, 1\}} \hat P(r)$, with
#   $\hat P(r) = 0$ beyond the largest recall reached.
#
# The **mAP** is the mean of the per-class APs. COCO's headline number averages it further over the IoU
# thresholds $0.5, 0.55, \dots, 0.95$; `mAP@0.5` means one threshold, $0.5$.

# %%
def precision_recall(scores, is_tp, true_count):
    order = scores.argsort(descending=True, stable=True)
    tp = is_tp[order].double().cumsum(0)
    fp = (~is_tp[order]).double().cumsum(0)
    return tp / (tp + fp), tp / max(true_count, 1)


def average_precision(scores, is_tp, true_count, interpolation="all"):
    """AP of one class: 'all' (Pascal VOC, exact area under the envelope) or 'coco' (101 recall points)."""
    if len(scores) == 0 or true_count == 0:
        return 0.0
    precision, recall = precision_recall(scores, is_tp, true_count)
    envelope = precision.flip(0).cummax(0).values.flip(0)
    if interpolation == "all":
        steps = torch.diff(recall, prepend=recall.new_zeros(1))
        return float((steps * envelope).sum())
    points = torch.linspace(0, 1, 101, dtype=torch.float64)
    first_reaching = torch.searchsorted(recall, points)  # the first k with R_k >= r
    reached = first_reaching < len(recall)
    return float(torch.where(reached, envelope[first_reaching.clamp(max=len(recall) - 1)], 0.0).mean())


def mean_average_precision(scores, labels, is_tp, true_counts, interpolation="all"):
    per_class = [average_precision(scores[labels == c], is_tp[labels == c], int(true_counts[c]), interpolation)
                 for c in range(1, C + 1)]
    return sum(per_class) / len(per_class), per_class


for interpolation in ("all", "coco"):
    value, per_class = mean_average_precision(scores, labels, is_tp, true_counts, interpolation)
    print(f"mAP@0.5 ({interpolation}): {value:.4f}; per class "
          + ", ".join(f"{name} {ap:.3f}" for name, ap in zip(NAMES[1:], per_class)))

# %% [markdown]
# Are these numbers right? We check them against the two reference algorithms, transcribed loop for loop in NumPy:
# `voc_ap` of the Pascal VOC devkit (as ported to Python in Faster R-CNN's code) and the accumulation step of
# COCO's `COCOeval`. Neither shares code with ours. (They are not dependencies of the course; the test extras
# could add `pycocotools` for a check on COCO's own code.)

# %%
def reference_voc_ap(recall, precision):
    """The VOC devkit's voc_ap (all points), a plain transcription."""
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = max(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def reference_coco_ap(recall, precision):
    """COCOeval.accumulate's 101-point interpolation, a plain transcription."""
    precision = list(precision)
    for i in range(len(precision) - 1, 0, -1):
        precision[i - 1] = max(precision[i - 1], precision[i])
    q = np.zeros(101)
    for ri, pi in enumerate(np.searchsorted(recall, np.linspace(0, 1, 101), side="left")):
        if pi < len(precision):
            q[ri] = precision[pi]
    return float(q.mean())


def reference_map(scores, labels, is_tp, true_counts, reference):
    aps = []
    for c in range(1, C + 1):
        mine = labels == c
        order = np.argsort(-scores[mine].numpy(), kind="mergesort")  # COCO's sort
        tp = np.cumsum(is_tp[mine].numpy()[order])
        fp = np.cumsum(~is_tp[mine].numpy()[order])
        aps.append(reference(tp / int(true_counts[c]), tp / np.maximum(tp + fp, np.finfo(np.float64).eps)))
    return sum(aps) / len(aps)


def check_against_references(scores, labels, is_tp, true_counts):
    for interpolation, reference in (("all", reference_voc_ap), ("coco", reference_coco_ap)):
        ours = mean_average_precision(scores, labels, is_tp, true_counts, interpolation)[0]
        theirs = reference_map(scores, labels, is_tp, true_counts, reference)
        print(f"{interpolation:4s}: ours {ours:.6f}, reference {theirs:.6f}")
        assert abs(ours - theirs) < 1e-9


check_against_references(scores, labels, is_tp, true_counts)

# %% [markdown]
# The curves show why the envelope is taken: without it the area would reward the zig-zags.

# %%
fig, axes = plt.subplots(1, C, figsize=(3.2 * C, 3), sharey=True)
for c, ax in zip(range(1, C + 1), axes):
    mine = labels == c
    precision, recall = precision_recall(scores[mine], is_tp[mine], int(true_counts[c]))
    envelope = precision.flip(0).cummax(0).values.flip(0)
    ax.plot(recall, precision, lw=1, label="precision")
    ax.step(recall, envelope, where="post", lw=2, alpha=0.7, label="envelope")
    ax.set(title=f"{NAMES[c]}: AP {average_precision(scores[mine], is_tp[mine], int(true_counts[c])):.2f}",
           xlabel="recall", xlim=(0, 1.02), ylim=(0, 1.02))
axes[0].set_ylabel("precision")
axes[0].legend(loc="lower left")
fig.tight_layout()

# %% [markdown]
# ## 3. Sliding windows
#
# The oldest way to detect: slide a window over the image at several sizes and shapes, run a classifier on every
# window, keep the windows with high scores. It works, and it is hopelessly slow: the number of windows grows
# with the image area times the number of window sizes and aspect ratios, and each window costs a full
# classifier. We count the windows needed on our small scenes (sides of 12 to 36 pixels, three aspect ratios,
# stride 2) and time a small CNN that classifies each window resized to 32×32:

# %%
class Backbone(nn.Sequential):
    """A small CNN: 1 channel in, 4 * width channels out at 1/8 of the resolution (three stride-2 convolutions)."""

    def __init__(self, width=16):
        layers = []
        for c_in, c_out, stride in [(1, width, 2), (width, 2 * width, 2), (2 * width, 4 * width, 2),
                                    (4 * width, 4 * width, 1), (4 * width, 4 * width, 1)]:
            layers += [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        super().__init__(*layers)


CROP = 32  # windows are resized to CROP x CROP pixels: CROP / 8 = 4 feature cells


def window_classifier():
    """The backbone with a classification head: one CROP x CROP window -> C + 1 scores (background too)."""
    return nn.Sequential(Backbone(), nn.Flatten(), nn.Linear(64 * (CROP // 8) ** 2, C + 1)).eval()


def all_windows(sides=range(12, 37, 4), ratios=(0.5, 1.0, 2.0), stride=2, size=H):
    boxes = []
    for side in sides:
        for ratio in ratios:
            w, h = round(side * ratio ** -0.5), round(side * ratio ** 0.5)
            if max(w, h) > size:
                continue
            xs, ys = torch.meshgrid(torch.arange(0, size - w + 1, stride), torch.arange(0, size - h + 1, stride),
                                    indexing="xy")
            corners = torch.stack([xs.flatten(), ys.flatten()], dim=1).float()
            boxes.append(torch.cat([corners, corners + torch.tensor([w, h])], dim=1))
    return torch.cat(boxes)


def classify_windows(classifier, image, boxes):
    """Crop every box out of `image` (1, 1, H, W), resize it to CROP x CROP and classify it: (K, C + 1)."""
    crops = ops.roi_align(image, [boxes], output_size=CROP, aligned=True)
    return classifier(crops)


def seconds(run, repeat=3):
    run()  # warm-up
    start = time.perf_counter()
    for _ in range(repeat):
        run()
    return (time.perf_counter() - start) / repeat


classifier = window_classifier()
windows = all_windows()
image = test_set.images[:1]
sample = windows[torch.randperm(len(windows))[:500]]
with torch.no_grad():
    per_window = seconds(lambda: classify_windows(classifier, image, sample)) / len(sample)
photo_windows = len(all_windows(sides=range(24, 480, 8), stride=8, size=640))
print(f"{len(windows):,} windows on one 64x64 scene; {1e3 * per_window:.3f} ms per window (timed on 500) "
      f"-> {per_window * len(windows):.1f} s per scene")
print(f"a 640x640 photo, window sides 24..472 px at stride 8: {photo_windows:,} windows "
      f"-> {per_window * photo_windows / 60:.0f} min per photo with this tiny CNN")

# %% [markdown]
# ## 4. Two-stage detectors: the R-CNN family
#
# Detectors are usually sorted into three families: **two-stage** (proposal-based: R-CNN, Fast R-CNN,
# Faster R-CNN, Mask R-CNN), **one-stage** (SSD, YOLO, RetinaNet) and **point-based** (CornerNet, CenterNet).
#
# A two-stage detector first proposes a few regions that probably contain *some* object, then classifies each
# proposal and refines its box, and finally merges the boxes that describe the same object.
#
# - **R-CNN** (2014) took about 2000 proposals per image from *selective search*, a classical algorithm that
#   merges similar superpixels; warped each to 227×227, ran a whole CNN on every warped crop, classified the
#   features with SVMs and regressed a box correction. With a VGG-16 backbone it took 47 s per test image on a
#   GPU, as measured in the Fast R-CNN paper. <!-- quoted -->
# - **Fast R-CNN** (2015) runs the CNN *once* on the whole image and cuts each proposal out of the *feature map*
#   with **RoI pooling**: the proposal, scaled to the feature map, is divided into a fixed grid (7×7) and each cell
#   max-pooled. The expensive layers are shared by all proposals. <!-- quoted -->
# - **Faster R-CNN** (2015) replaces selective search by a **region proposal network** (RPN) on the same feature
#   map: at every position it scores $k$ **anchors** (reference boxes of several sizes and shapes) as object or
#   not and regresses their corrections. Proposals now cost almost nothing. <!-- quoted -->
# - **Mask R-CNN** (2017) adds a small FCN that predicts a mask inside each box, and replaces RoI pooling by
#   **RoIAlign**, which samples the feature map bilinearly at exact positions instead of rounding the box to
#   whole feature cells. The rounding shifts masks by up to half a feature cell: pixels, in the image.
#   <!-- quoted -->
#
# Measured on our scenes with the small CNN above, R-CNN's way (a CNN per proposal) against Fast R-CNN's (the
# CNN once, then `roi_align` on its features and only the last layer per proposal), for the same proposals:

# %%
def rcnn_style(backbone, head, image, proposals):
    """Every proposal cropped from the image and sent through the whole network."""
    return head(backbone(ops.roi_align(image, [proposals], output_size=CROP, aligned=True)).flatten(1))


def fast_rcnn_style(backbone, head, image, proposals):
    """The network once on the image; every proposal cropped from its features (stride 8) with RoIAlign."""
    features = backbone(image)
    crops = ops.roi_align(features, [proposals], output_size=CROP // 8, spatial_scale=1 / 8, aligned=True)
    return head(crops.flatten(1))


backbone, head = classifier[0], classifier[2]
proposals = windows[torch.randperm(len(windows))[:300]]
with torch.no_grad():
    costs = {"R-CNN": seconds(lambda: rcnn_style(backbone, head, image, proposals)),
             "Fast R-CNN": seconds(lambda: fast_rcnn_style(backbone, head, image, proposals))}
print(f"300 proposals on one scene: R-CNN style {1000 * costs['R-CNN']:.1f} ms, "
      f"Fast R-CNN style {1000 * costs['Fast R-CNN']:.1f} ms ({costs['R-CNN'] / costs['Fast R-CNN']:.0f}x faster)")
assert costs["R-CNN"] > 3 * costs["Fast R-CNN"]

# %% [markdown]
# ### RoI pooling against RoIAlign
#
# On a 6×6 feature map holding the numbers 0 … 35, the box from $(0.7, 0.7)$ to $(4.3, 4.3)$ pooled to 2×2.
# RoI pooling first rounds the box to whole cells (here to cells 1 … 4), then takes the maximum of each bin;
# RoIAlign keeps the box where it is and averages bilinear samples inside each bin (here $2\times 2$ samples):

# %%
feature = torch.arange(36.0).reshape(1, 1, 6, 6)
box = [torch.tensor([[0.7, 0.7, 4.3, 4.3]])]
print("features:\n", feature[0, 0].int())
print("roi_pool:\n", ops.roi_pool(feature, box, output_size=2)[0, 0])
print("roi_align:\n", ops.roi_align(feature, box, output_size=2, sampling_ratio=2, aligned=True)[0, 0])

# %% [markdown]
# ### Anchors
#
# An anchor is a fixed reference box; the network predicts how to shift and stretch it. Faster R-CNN puts
# $k$ anchors (sizes × aspect ratios) at every position of a feature map of stride $s$. Written by hand and
# compared with the `AnchorGenerator` that torchvision's Faster R-CNN uses: torchvision rounds the base anchors
# to whole pixels and centres them at the *corner* $(i s, j s)$ of each feature cell, not at its centre.

# %%
def anchors_by_hand(sizes, ratios, grid, stride):
    """All anchors (grid*grid*len(sizes)*len(ratios), 4) XYXY, in torchvision's order and conventions."""
    ratios = torch.as_tensor(ratios, dtype=torch.float32)
    sizes = torch.as_tensor(sizes, dtype=torch.float32)
    h_ratios = ratios.sqrt()
    widths = (sizes[None, :] / h_ratios[:, None]).flatten()  # aspect ratio = height / width
    heights = (sizes[None, :] * h_ratios[:, None]).flatten()
    base = (torch.stack([-widths, -heights, widths, heights], dim=1) / 2).round()
    ys, xs = torch.meshgrid(torch.arange(grid) * stride, torch.arange(grid) * stride, indexing="ij")
    shifts = torch.stack([xs.flatten(), ys.flatten()] * 2, dim=1).float()
    return (shifts[:, None, :] + base[None, :, :]).reshape(-1, 4)


sizes, ratios, stride = (16, 32), (0.5, 1.0, 2.0), 8
generator = AnchorGenerator(sizes=(sizes,), aspect_ratios=(ratios,))
feature_map = torch.zeros(1, 64, H // stride, W // stride)
theirs = generator(ImageList(torch.zeros(1, 1, H, W), [(H, W)]), [feature_map])[0]
ours = anchors_by_hand(sizes, ratios, H // stride, stride)
print(f"{len(ours)} anchors = {H // stride}x{W // stride} positions x {len(sizes) * len(ratios)} shapes; "
      f"the first position's: {ours[:6].int().tolist()}")
assert torch.equal(ours, theirs)

# %% [markdown]
# ### torchvision's detectors
#
# torchvision ships the families above as ready models. Built with `weights=None` (random weights, nothing
# downloaded), their parameter counts; and one of them, run on two of our scenes. In training mode a torchvision
# detector takes the images and the targets and returns its losses; in evaluation mode it returns, per image, a
# dict with `boxes`, `labels` and `scores`, the format our evaluation above takes.

# %%
BUILDERS = {
    "Faster R-CNN, ResNet-50 FPN": detection.fasterrcnn_resnet50_fpn,
    "Mask R-CNN, ResNet-50 FPN": detection.maskrcnn_resnet50_fpn,
    "RetinaNet, ResNet-50 FPN": detection.retinanet_resnet50_fpn,
    "FCOS, ResNet-50 FPN": detection.fcos_resnet50_fpn,
    "SSD300, VGG-16": detection.ssd300_vgg16,
    "SSDlite, MobileNetV3": detection.ssdlite320_mobilenet_v3_large,
    "Faster R-CNN, MobileNetV3 320": detection.fasterrcnn_mobilenet_v3_large_320_fpn,
}
with torch.device("meta"):  # shapes only: no memory, no time spent initialising weights
    counts = {name: sum(p.numel() for p in build(weights=None, weights_backbone=None).parameters())
              for name, build in BUILDERS.items()}
for name, count in counts.items():
    print(f"{name:32s} {count / 1e6:6.1f} M parameters")

# Its transform resizes every image to 320 px; our 64 px scenes need less (and less memory): 128 px.
small = detection.fasterrcnn_mobilenet_v3_large_320_fpn(weights=None, weights_backbone=None, num_classes=C + 1,
                                                        min_size=128, max_size=128)
rgb = [test_set.images[i].expand(3, -1, -1) for i in range(2)]
small.train()
losses = small(rgb, [{"boxes": t["boxes"], "labels": t["labels"]} for t in test_targets[:2]])
print("training mode ->", {name: round(value.item(), 3) for name, value in losses.items()})
small.eval()
with torch.no_grad():
    outputs = small(rgb)
print("eval mode ->", [{key: tuple(value.shape) for key, value in out.items()} for out in outputs])
del small

# %% [markdown]
# ## 5. One-stage and point-based detectors
#
# A one-stage detector drops the proposals: one network predicts, at every position of a coarse grid, whether an
# object is centred there, its box and its class, all at once. **YOLO** ("you only look once") cuts the image
# into an $S\times S$ grid; each cell predicts, for each of its $A$ anchors, $5 + C$ numbers: an objectness score,
# four box numbers and $C$ class scores. The head is just a convolution with $A(5 + C)$ output channels, so the
# output is an $S \times S \times A(5 + C)$ tensor. **SSD** does the same on several feature maps of different
# strides, so that small objects are found on fine maps and large ones on coarse maps. **RetinaNet** added the
# focal loss, which down-weights the many easy background positions.
#
# **Point-based** detectors do without anchors: **CornerNet** predicts heatmaps of top-left and bottom-right
# corners and pairs them; **CenterNet** predicts a heatmap of object centres and, at each centre, the width and
# height. Our grid detector below is close to CenterNet at a coarse resolution: an object belongs to the cell
# that contains its centre.
#
# ### The YOLO-style head and loss of the notes
#
# For the object whose centre $(x_c, y_c)$ lies in cell $(i, j)$ and whose shape best matches anchor $a$ (of size
# $w_a \times h_a$), the targets, in units of the cell size $s$, are
#
# $$ t_x = x_c / s - i, \quad t_y = y_c / s - j, \quad t_w = \log(w / w_a), \quad t_h = \log(h / h_a), $$
#
# and the network's outputs $z_0, \dots, z_{4+C}$ at that cell and anchor are trained with the loss of the notes:
#
# $$ L = \mathrm{BCE}(\sigma(z_0), \mathbb 1_{obj})
#      + \mathbb 1_{obj}\big[(\sigma(z_1) - t_x)^2 + (\sigma(z_2) - t_y)^2\big]
#      + \mathbb 1_{obj}\big[(z_3 - t_w)^2 + (z_4 - t_h)^2\big]
#      + \mathbb 1_{obj}\,\mathrm{CE}\big(\mathrm{softmax}(z_{5:}), c\big). $$
#
# The sigmoid keeps the centre inside its cell; the logarithm makes the size error relative (a box twice too
# large costs as much as one half as large) and lets $w = w_a e^{z_3}$ be any positive number. (The notes write
# the size target as $\log(w/2)$; it is the log of the size relative to a reference box, the anchor.) Every cell
# and anchor pays the objectness term; only the one responsible for an object pays the others.
#
# Anchor shapes are chosen from the data, as YOLOv2 did: k-means on the training boxes' widths and heights with
# $1 - \mathrm{IoU}$ as the distance (boxes compared as if they shared their centre). We take the median of each
# cluster as its centre, which a few odd boxes cannot drag away.

# %%
STRIDE, A = 8, 3
S = H // STRIDE


def shape_iou(sizes, anchors):
    """IoU of (N, 2) box sizes with (K, 2) anchor sizes, all centred at the same point."""
    intersection = torch.minimum(sizes[:, None], anchors[None]).prod(-1)
    return intersection / (sizes.prod(-1)[:, None] + anchors.prod(-1)[None] - intersection)


def kmeans_anchors(sizes, k, iterations=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    anchors = sizes[torch.randperm(len(sizes), generator=g)[:k]]
    for _ in range(iterations):
        nearest = shape_iou(sizes, anchors).argmax(1)
        anchors = torch.stack([sizes[nearest == j].median(0).values for j in range(k)])
    return anchors[anchors.prod(1).argsort()]


box_sizes = train_set.boxes[:, 2:] - train_set.boxes[:, :2]
ANCHORS = kmeans_anchors(box_sizes, A)
print("anchors (w, h):", ANCHORS.tolist())
print(f"mean IoU of a box with its best anchor: {shape_iou(box_sizes, ANCHORS).max(1).values.mean():.3f}")

# %% [markdown]
# Target encoding writes each object into its cell and anchor; decoding inverts it. The round trip must give back
# every box exactly, unless two objects claim the same cell and anchor (then only one of them is kept; we count
# how often that happens).

# %%
def encode(scenes):
    """Targets (N, A, S, S, 6): objectness, t_x, t_y, t_w, t_h, class index (0 .. C-1)."""
    targets = torch.zeros(len(scenes), A, S, S, 6)
    centre = ops.box_convert(scenes.boxes, "xyxy", "cxcywh")
    cell = (centre[:, :2] / STRIDE).floor().long().clamp(0, S - 1)
    anchor = shape_iou(centre[:, 2:], ANCHORS).argmax(1)
    offsets = centre[:, :2] / STRIDE - cell
    log_sizes = (centre[:, 2:] / ANCHORS[anchor]).log()
    values = torch.cat([torch.ones(len(centre), 1), offsets, log_sizes, (scenes.labels - 1)[:, None].float()], 1)
    targets[scenes.scene_index, anchor, cell[:, 1], cell[:, 0]] = values
    return targets


def cell_corners():
    """(S, S, 2): x and y of each cell's top-left corner, in pixels."""
    ys, xs = torch.meshgrid(torch.arange(S), torch.arange(S), indexing="ij")
    return torch.stack([xs, ys], dim=-1).float() * STRIDE


def decode_boxes(offsets, log_sizes):
    """Offsets in [0, 1) and log sizes (..., A, S, S, 2) -> XYXY boxes (..., A, S, S, 4) in pixels."""
    centres = cell_corners().to(offsets.device) + offsets * STRIDE
    sizes = ANCHORS.to(offsets.device)[:, None, None, :] * log_sizes.exp()
    return ops.box_convert(torch.cat([centres, sizes], dim=-1), "cxcywh", "xyxy")


encoded = encode(test_set)
present = encoded[..., 0] == 1
round_trip = decode_boxes(encoded[..., 1:3], encoded[..., 3:5])[present]
lost = len(test_set.boxes) - int(present.sum())
error = (round_trip - test_set.boxes[:, None]).abs().amax(-1).min(0).values.max()
print(f"{int(present.sum())} of {len(test_set.boxes)} test objects encoded ({lost} lost to a shared cell and "
      f"anchor); decoded boxes differ from the truth by at most {error:.1e} px")
assert lost <= 0.02 * len(test_set.boxes) and error < 1e-3

# %% [markdown]
# ### Non-maximum suppression
#
# A grid detector fires in several neighbouring cells and anchors for one object. **NMS** merges them: take the
# highest-scoring box, drop every other box that overlaps it by more than a threshold, repeat with what is left.
# Done per class, so that two overlapping objects of different classes both survive. torchvision's
# `batched_nms` does the per-class version in one call with a trick: it shifts each class's boxes far apart, so
# boxes of different classes never overlap. Written by hand and compared with `torchvision.ops.nms`:

# %%
def nms(boxes, scores, iou_threshold):
    """Indices of the boxes kept, highest score first (same result as torchvision.ops.nms)."""
    order = scores.argsort(descending=True)
    keep = []
    while len(order):
        best, order = order[0], order[1:]
        keep.append(best)
        order = order[box_iou(boxes[best, None], boxes[order])[0] <= iou_threshold]
    return torch.stack(keep) if keep else torch.zeros(0, dtype=torch.long)


random_corners = torch.rand(500, 2) * 50
random_boxes = torch.cat([random_corners, random_corners + 5 + 20 * torch.rand(500, 2)], dim=1)
random_scores = torch.rand(500)
for threshold in (0.3, 0.5, 0.7):
    kept = nms(random_boxes, random_scores, threshold)
    assert torch.equal(kept, ops.nms(random_boxes, random_scores, threshold))
    print(f"IoU threshold {threshold}: {len(kept)} of 500 random boxes kept, the same as torchvision.ops.nms")
assert len(nms(torch.zeros(0, 4), torch.zeros(0), 0.5)) == 0

# %% [markdown]
# ## 6. A small one-stage detector
#
# The backbone of the sliding-window classifier (stride 8, receptive field larger than our biggest objects)
# with a 1×1 convolution as head: $A(5 + C)$ numbers per cell of the $8 \times 8$ grid. Almost all of the
# $A \cdot 8 \cdot 8$ anchor positions of a scene are empty, so a fresh network that says "object" with
# probability one half everywhere would start with a huge objectness loss and spend its first steps learning
# only that objects are rare. As RetinaNet does, we initialise the objectness bias so that the first prediction
# is the prior $\pi$: $b = \log\frac{\pi}{1 - \pi}$, with $\pi$ about the share of anchor positions that hold
# an object.

# %%
class GridDetector(nn.Module):
    def __init__(self, width=16, object_prior=0.01):
        super().__init__()
        self.backbone = Backbone(width)
        self.head = nn.Conv2d(4 * width, A * (5 + C), 1)
        with torch.no_grad():  # start by predicting "object" with the prior probability (RetinaNet's trick)
            self.head.bias.view(A, 5 + C)[:, 0] = np.log(object_prior / (1 - object_prior))

    def forward(self, images):
        """(N, 1, H, W) -> (N, A, S, S, 5 + C) raw outputs z."""
        out = self.head(self.backbone(images))
        return out.unflatten(1, (A, 5 + C)).permute(0, 1, 3, 4, 2)


def yolo_loss(z, targets):
    """The loss of the notes, summed over the batch and divided by the number of objects."""
    obj = targets[..., 0]
    responsible = obj == 1
    objectness = F.binary_cross_entropy_with_logits(z[..., 0], obj, reduction="sum")
    zr, tr = z[responsible], targets[responsible]
    centre = ((zr[:, 1:3].sigmoid() - tr[:, 1:3]) ** 2).sum()
    size = ((zr[:, 3:5] - tr[:, 3:5]) ** 2).sum()
    classes = F.cross_entropy(zr[:, 5:], tr[:, 5].long(), reduction="sum")
    return (objectness + centre + size + classes) / responsible.sum().clamp(min=1)


def detect(model, images, score_threshold=0.05, iou_threshold=0.5, batch=256):
    """Per image a dict of boxes, scores and labels (1 .. C), after per-class NMS."""
    model.eval()
    results = []
    with torch.no_grad():
        for start in range(0, len(images), batch):
            z = model(images[start:start + batch].to(device)).float().cpu()
            boxes = ops.clip_boxes_to_image(decode_boxes(z[..., 1:3].sigmoid(), z[..., 3:5]), (H, W))
            class_probability, label = z[..., 5:].softmax(-1).max(-1)
            scores = z[..., 0].sigmoid() * class_probability
            for b, s, lab in zip(boxes.flatten(1, 3), scores.flatten(1), label.flatten(1)):
                keep = s >= score_threshold
                b, s, lab = b[keep], s[keep], lab[keep] + 1
                kept = ops.batched_nms(b, s, lab, iou_threshold)
                results.append({"boxes": b[kept], "scores": s[kept], "labels": lab[kept]})
    return results


def detection_map(model, scenes, targets, **options):
    scores, labels, is_tp, true_counts = match_detections(detect(model, scenes.images, **options), targets)
    return mean_average_precision(scores, labels, is_tp, true_counts)[0]


# %% [markdown]
# Training: Adam with a one-cycle schedule, the loss on the test scenes after every epoch, `mAP@0.5` at the
# end. (`course_utils.fit` is not used here: it reports a classifier's accuracy, which a detector does not have.)

# %%
def train_detector(model, images, targets, epochs, batch_size=64, lr=3e-3):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    steps = epochs * (len(images) // batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    plot, history = LivePlot(metrics=("loss",)), {"train_loss": [], "val_loss": []}
    test_images, test_encoded = test_set.images.to(device), encoded.to(device)
    for _ in tqdm(range(epochs), desc="epochs"):
        model.train()
        order, total = torch.randperm(len(images)), 0.0
        for start in range(0, len(images) - batch_size + 1, batch_size):
            rows = order[start:start + batch_size]
            loss = yolo_loss(model(images[rows].to(device)), targets[rows].to(device))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            scheduler.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            history["val_loss"].append(yolo_loss(model(test_images), test_encoded).item())
        history["train_loss"].append(total / (len(images) // batch_size))
        plot.update(history)
    plot.update(history, final=True)
    return history


_ = seed_everything(0)
EPOCHS = 10 if device.type == "cpu" else 30
detector = GridDetector(object_prior=len(train_set.boxes) / (len(train_set) * A * S * S)).to(device)
train_encoded = encode(train_set)
start = time.perf_counter()
history = train_detector(detector, train_set.images, train_encoded, EPOCHS)
training_seconds = time.perf_counter() - start
test_map = detection_map(detector, test_set, test_targets)
print(f"{EPOCHS} epochs on {len(train_set)} scenes in {training_seconds:.1f} s; "
      f"test mAP@0.5 (all points) = {test_map:.3f}")

# %% [markdown]
# The detector reaches a test `mAP@0.5` between 0.6 and 0.99 (the run above printed its value). <!-- asserted -->

# %%
assert 0.6 <= test_map <= 0.99, test_map

# %% [markdown]
# AP summarises all score thresholds; a deployed detector uses one. A common choice is the threshold with the
# best $F_1 = 2PR/(P + R)$ (we pick it on the test scenes for brevity; in practice one picks it on a validation
# set). The detections of the first test scenes above it, after NMS:

# %%
detections = detect(detector, test_set.images)
scores, labels, is_tp, true_counts = match_detections(detections, test_targets)
precision, recall = precision_recall(scores, is_tp, int(true_counts.sum()))
f1 = 2 * precision * recall / (precision + recall).clamp(min=1e-12)
best = int(f1.argmax())
THRESHOLD = float(scores.sort(descending=True, stable=True).values[best])
print(f"best F1 {f1[best]:.3f} at score threshold {THRESHOLD:.2f}: precision {precision[best]:.3f}, "
      f"recall {recall[best]:.3f}")
confident = [{key: value[d["scores"] >= THRESHOLD] for key, value in d.items()} for d in detections]
fig = show_scenes(test_set.images[:8], confident[:8], class_names=NAMES, masks=False)

# %% [markdown]
# ### Checks on the trained detector
#
# The mAP of its detections computed by the reference algorithms; the COCO-style mAP averaged over the IoU
# thresholds $0.5 \dots 0.95$ (stricter: boxes must also be *precise*); and our NMS against torchvision's on its raw,
# overlapping boxes.

# %%
check_against_references(scores, labels, is_tp, true_counts)
coco_map = np.mean([mean_average_precision(*match_detections(detections, test_targets, t), "coco")[0]
                    for t in np.arange(0.5, 0.96, 0.05)])
print(f"COCO-style mAP@[0.5:0.95] = {coco_map:.3f} (mAP@0.5 = {test_map:.3f})")

raw = detect(detector, test_set.images[:20], score_threshold=0.01, iou_threshold=1.0)
for d in raw:
    assert torch.equal(nms(d["boxes"], d["scores"], 0.5), ops.nms(d["boxes"], d["scores"], 0.5))
print(f"on 20 scenes, {sum(len(d['boxes']) for d in raw)} raw boxes: our NMS keeps exactly torchvision's")

# %% [markdown]
# ### The confusion matrix of a detector
#
# For a classifier every example lands in one cell of the matrix. A detector has two more ways to be wrong: a
# detection that matches no object (row "background": a false alarm) and an object that no detection matches
# (column "missed"). Detections above the threshold chosen above are matched to objects of *any* class by IoU
# $\ge 0.5$, greedily by score; then the matrix counts (true class, predicted class) pairs:

# %%
def detection_confusion(detections, targets, score_threshold, iou_threshold=0.5):
    """(C + 1) x (C + 1) counts: rows true class (0 = no object), columns predicted class (0 = missed)."""
    matrix = torch.zeros(C + 1, C + 1, dtype=torch.long)
    for found, target in zip(detections, targets):
        confident = found["scores"] >= score_threshold
        boxes, labels = found["boxes"][confident], found["labels"][confident]
        overlap = box_iou(boxes, target["boxes"].as_subclass(torch.Tensor))
        claimed = torch.zeros(len(target["labels"]), dtype=torch.bool)
        for d in found["scores"][confident].argsort(descending=True).tolist():
            free = torch.where(claimed, 0.0, overlap[d])
            if len(free) and free.max() >= iou_threshold:
                best = int(free.argmax())
                claimed[best] = True
                matrix[target["labels"][best], labels[d]] += 1
            else:
                matrix[0, labels[d]] += 1
        for label in target["labels"][~claimed]:
            matrix[label, 0] += 1
    return matrix


confusion = detection_confusion(detections, test_targets, THRESHOLD)
fig, ax = plt.subplots(figsize=(5, 4.2))
ax.imshow(confusion.log1p(), cmap="Blues")
names = ["background"] + list(NAMES[1:])
ax.set(xticks=range(C + 1), yticks=range(C + 1), xlabel="predicted", ylabel="true",
       xticklabels=["missed"] + list(NAMES[1:]), yticklabels=names)
plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
for (i, j), count in np.ndenumerate(confusion.numpy()):
    if i or j:
        ax.text(j, i, count, ha="center", va="center")
fig.tight_layout()
hits = confusion[1:, 1:].diagonal().sum()
display(Markdown(f"Of {int(confusion[1:].sum())} objects, {int(hits)} were found with the right class, "
                 f"{int(confusion[1:, 1:].sum() - hits)} with a wrong class and {int(confusion[1:, 0].sum())} "
                 f"were missed; {int(confusion[0].sum())} detections were false alarms."))
assert confusion[1:].sum() == len(test_set.boxes) and hits > confusion[1:, 1:].sum() - hits

# %% [markdown]
# ### Explore: score threshold and NMS threshold
#
# A lower score threshold finds more objects and admits more false alarms; a higher NMS threshold keeps more
# overlapping boxes (duplicates of one object, but also genuinely overlapping objects). The title gives the
# precision and recall over all test scenes at these settings.

# %%
raw_test = detect(detector, test_set.images, score_threshold=0.01, iou_threshold=1.0)


def show_detections(scene=1, score_threshold=0.5, nms_threshold=0.5):
    kept = []
    for d in raw_test:
        keep = d["scores"] >= score_threshold
        d = {key: value[keep] for key, value in d.items()}
        survivors = ops.batched_nms(d["boxes"], d["scores"], d["labels"], nms_threshold)
        kept.append({key: value[survivors] for key, value in d.items()})
    _, _, hit, true = match_detections(kept, test_targets)
    precision, recall = hit.float().mean().item() if len(hit) else 0.0, hit.sum().item() / true.sum().item()
    show_scenes(test_set.images[scene:scene + 1], kept[scene:scene + 1], class_names=NAMES, masks=False, ncols=1,
                size=4, titles=[f"precision {precision:.2f}, recall {recall:.2f}"])
    plt.show()


explore(show_detections,
        scene=widgets.IntSlider(value=1, min=0, max=len(test_set) - 1, description="scene"),
        score_threshold=widgets.FloatSlider(value=round(THRESHOLD, 2), min=0.05, max=0.95, step=0.01,
                                            description="score ≥"),
        nms_threshold=widgets.FloatSlider(value=0.5, min=0.1, max=1.0, step=0.05, description="NMS IoU"))

# %% [markdown]
# ## Summary
#
# - A detection is a box, a class and a score. IoU measures how well two boxes agree; with pixel-edge coordinates
#   it needs no $+1$.
# - Detections are matched to objects greedily by score at an IoU threshold: TP, FP (wrong place, wrong class,
#   duplicate) and FN (missed). AP is the area under the envelope of the precision–recall curve (VOC: all
#   points; COCO: 101 points, and averaged over IoU thresholds); mAP averages it over the classes.
# - Sliding windows classify every window: far too many. R-CNN classifies a couple of thousand proposals, each
#   with a whole CNN; Fast R-CNN shares the CNN and cuts proposals from its features (RoI pooling, later
#   RoIAlign); Faster R-CNN proposes regions with a network over anchors; Mask R-CNN adds masks.
# - One-stage detectors (YOLO, SSD, RetinaNet) predict boxes on a grid directly: $A(5 + C)$ numbers per cell,
#   trained with objectness BCE, squared errors on sigmoid offsets and log sizes, and class cross-entropy; NMS
#   removes the duplicates. Point-based detectors (CornerNet, CenterNet) predict heatmaps of corners or centres.
