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
# # Assignment 10 — Object detection
#
# Lecture 10 computed IoU on corner boxes, suppressed duplicates with NMS, scored detections with VOC's and COCO's
# AP from a list of TP/FP flags, and encoded targets for a grid with anchors. A detection library needs the other
# halves of these tools: boxes given as centre and size, the *generalized* IoU that modern detectors train with,
# NMS with a defined order when scores tie and per class, AP computed from the boxes themselves with COCO's
# matching rule, and a grid without anchors whose targets and loss follow YOLO v1. In this assignment you write
# them:
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `box_iou_cxcywh`: IoU and generalized IoU of every pair of boxes given as (centre, size) | 2 |
# | 2 | `nms` and `batched_nms`: non-maximum suppression with a stated order for ties, and per class | 2 |
# | 3 | `coco_average_precision`: one class's AP from boxes and scores, COCO's matching and 101 recall points | 2 |
# | 4 | `encode_grid` and `decode_grid`: the targets of an anchor-free grid detector, and back | 2 |
# | 5 | `grid_loss`: the YOLO v1 loss with its weights, on raw network outputs | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. The tests you see there are small
# examples you can check by hand: run them as often as you like. When your notebook is graded, a grader
# outside your notebook calls your functions on many random cases of its own (hundreds of boxes, float32 and
# float64, zero-area boxes, empty inputs, tied scores, exact threshold values, collisions in a grid cell, huge
# logits) and compares the results with its own reference. A part scores its points only if all of its checks
# pass: make your code correct for every input the instructions allow, not just for the examples.
#
# Some more rules:
#
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the functions or change their arguments, and do not edit the test cells.
# - Your functions must not modify their inputs.
# - Code that interferes with grading (rebinding library functions, reading other files) sends the
#   submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook runs in a few seconds.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
from torch.nn import functional as F
from torchvision import ops

from course_utils import choose_device, make_scenes

# Everything here works on a few hundred boxes: one thread is fastest on a busy CPU.
choice = choose_device(cpu_threads=1)
print(choice.summary())

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — IoU and generalized IoU of boxes given as centre and size (2 points)
#
# YOLO and DETR describe a box by its centre and size, $(c_x, c_y, w, h)$, not by its corners. The lecture's IoU
# also has two gaps. It divides $0$ by $0$ for two boxes without area (a point, or a line), which gives `nan`.
# And it is $0$ for *every* pair of boxes that do not overlap, whether they nearly touch or lie far apart, so a
# loss built on it has no gradient that pulls a prediction towards an object it misses. The **generalized IoU**
# (Rezatofighi et al., 2019) subtracts the share of the smallest box $C$ enclosing both that neither of them
# covers:
#
# $$ \mathrm{IoU} = \frac{|A \cap B|}{|A \cup B|}, \qquad
#    \mathrm{GIoU} = \mathrm{IoU} - \frac{|C| - |A \cup B|}{|C|}, \qquad |A \cup B| = |A| + |B| - |A \cap B|. $$
#
# GIoU lies in $(-1, 1]$; it equals the IoU when $C$ is the union, and tends to $-1$ for tiny boxes far apart.
#
# **`box_iou_cxcywh(a, b, generalized=False)`**
# - `a` is an `(N, 4)` and `b` an `(M, 4)` tensor of boxes $(c_x, c_y, w, h)$ with $w, h \ge 0$; both have the
#   same floating dtype (float32 or float64). The box covers $[c_x - w/2,\ c_x + w/2] \times [c_y - h/2,\ c_y +
#   h/2]$: coordinates are continuous, so a box's area is exactly $w h$ (no "+1 pixel").
# - Return the `(N, M)` tensor of the IoU of every box of `a` with every box of `b` (the GIoU when `generalized`
#   is true), in the dtype of the inputs. `N` or `M` may be 0.
# - **Zero denominators.** When $|A \cup B| = 0$ (both boxes have zero area) the IoU is $0$; when $|C| = 0$ the
#   GIoU's second term is $0$. No `nan` anywhere.
# - Write it with tensor operations: `torchvision.ops.box_iou`, `generalized_box_iou` and torchvision's other IoU
#   functions are not allowed (the grader checks which operations run); `torchvision.ops.box_convert` is fine.
#   Broadcast instead of looping over boxes: the grader compares hundreds of boxes with hundreds.

# %% nbgrader={"grade": false, "grade_id": "iou", "locked": false, "schema_version": 3, "solution": true, "task": false}
def box_iou_cxcywh(a: torch.Tensor, b: torch.Tensor, generalized: bool = False) -> torch.Tensor:
    """(N, M) IoU (or GIoU) of boxes (cx, cy, w, h); 0 where a denominator is 0."""
    ### BEGIN SOLUTION
    def corners(boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        centre, half = boxes[:, :2], boxes[:, 2:] / 2
        return centre - half, centre + half

    (low_a, high_a), (low_b, high_b) = corners(a), corners(b)
    sides = (torch.minimum(high_a[:, None], high_b[None]) - torch.maximum(low_a[:, None], low_b[None])).clamp(min=0)
    shared = sides[..., 0] * sides[..., 1]
    covered = (a[:, 2] * a[:, 3])[:, None] + (b[:, 2] * b[:, 3])[None] - shared
    iou = torch.where(covered > 0, shared / covered, 0.0)
    if not generalized:
        return iou
    hull = (torch.maximum(high_a[:, None], high_b[None]) - torch.minimum(low_a[:, None], low_b[None])).prod(dim=-1)
    return iou - torch.where(hull > 0, (hull - covered) / hull, 0.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_iou", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand: a 10x10 square centred at (5, 5), i.e. corners (0, 0)-(10, 10), against
#   the square shifted right by 5:     intersection 50, union 150 -> IoU 1/3; C = (0,0)-(15,10) = union -> GIoU 1/3
#   the square shifted by (5, 5):      intersection 25, union 175 -> IoU 1/7; C = (0,0)-(15,15) = 225 -> GIoU 1/7 - 50/225
#   a square 10 px to its right:       IoU 0; C = (0,0)-(30,10) = 300, union 200 -> GIoU -100/300
square = torch.tensor([[5.0, 5.0, 10.0, 10.0]])
others = torch.tensor([[10.0, 5.0, 10.0, 10.0], [10.0, 10.0, 10.0, 10.0], [25.0, 5.0, 10.0, 10.0]])
iou = box_iou_cxcywh(square, others)
T.assert_type(iou, torch.Tensor, "box_iou_cxcywh(...)")
assert iou.shape == (1, 3), f"1 box against 3 boxes gives a (1, 3) matrix, got shape {tuple(iou.shape)}"
T.assert_close(iou, [[1 / 3, 1 / 7, 0.0]], name="IoU of the square with its shifts (a box covers w*h, no +1 pixel)")
T.assert_close(box_iou_cxcywh(square, others, generalized=True), [[1 / 3, 1 / 7 - 50 / 225, -1 / 3]],
               name="GIoU of the square with its shifts")
T.assert_close(box_iou_cxcywh(others, square), iou.T, name="box_iou_cxcywh(b, a) is the transpose")

# Zero area: a point inside the square has IoU 0 and, since C is the square itself, GIoU 0; two points have a
# union of 0 (IoU 0) and, when they coincide, C = 0 too (GIoU 0)
point, line = torch.tensor([[3.0, 3.0, 0.0, 0.0]]), torch.tensor([[3.0, 8.0, 4.0, 0.0]])
T.assert_close(box_iou_cxcywh(point, square, generalized=True), [[0.0]], name="GIoU of a point inside the square")
for name, value in [("IoU", box_iou_cxcywh(point, point)), ("GIoU", box_iou_cxcywh(point, point, True))]:
    assert not value.isnan().any(), f"{name} of a point with itself is nan: a zero denominator must give 0"
    T.assert_close(value, [[0.0]], name=f"{name} of a point with itself")
T.assert_close(box_iou_cxcywh(point, line, generalized=True), [[-1.0]],
               name="GIoU of a point and a line (union 0 -> IoU 0; C = (1,3)-(5,8) has area 20 -> 0 - 20/20)")

# Shapes and dtypes: empty inputs, float64 stays float64
assert box_iou_cxcywh(torch.zeros(0, 4), others).shape == (0, 3), "no boxes in a: the result is (0, M)"
assert box_iou_cxcywh(others, torch.zeros(0, 4), True).shape == (3, 0), "no boxes in b: the result is (N, 0)"
assert box_iou_cxcywh(square.double(), others.double()).dtype == torch.float64, "float64 boxes give a float64 IoU"

# Against torchvision on random boxes (the grader does this, and much more, with its own reference)
g = torch.Generator().manual_seed(0)
a, b = torch.rand(20, 4, generator=g) * 50 + 1, torch.rand(30, 4, generator=g) * 50 + 1
a_corners, b_corners = ops.box_convert(a, "cxcywh", "xyxy"), ops.box_convert(b, "cxcywh", "xyxy")
with T.forbidden("box operations"):
    ours, ours_g = box_iou_cxcywh(a, b), box_iou_cxcywh(a, b, generalized=True)
T.assert_close(ours, ops.box_iou(a_corners, b_corners), atol=1e-5, name="IoU of 20 x 30 random boxes")
T.assert_close(ours_g, ops.generalized_box_iou(a_corners, b_corners), atol=1e-5, name="GIoU of 20 x 30 random boxes")

print("✓ Part 1: box_iou_cxcywh passes the visible tests")

# %% [markdown]
# Why detectors train with GIoU (ungraded): slide a box away from a fixed one. The IoU drops to zero and stays
# there; the GIoU keeps falling, so its gradient still says which way to move.

# %%
try:
    fixed = torch.tensor([[0.0, 0.0, 10.0, 10.0]], dtype=torch.float64)
    for shift in (0, 5, 10, 20, 40):
        moved = torch.tensor([[shift, 0.0, 10.0, 10.0]], dtype=torch.float64)
        print(f"shift {shift:2d}: IoU {box_iou_cxcywh(fixed, moved).item():6.3f}, "
              f"GIoU {box_iou_cxcywh(fixed, moved, generalized=True).item():6.3f}")
except NotImplementedError:
    print("Implement Part 1 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — NMS with a stated order, and per class (2 points)
#
# The lecture's NMS matched `torchvision.ops.nms` on random scores. With **equal scores** the order in which boxes
# are visited is left to the sorting algorithm, and two runs, two libraries or a CPU and a GPU can keep different
# boxes. Here the order is part of the specification.
#
# **`nms(boxes, scores, iou_threshold)`**
# - `boxes` `(N, 4)` corners $(x_{tl}, y_{tl}, x_{br}, y_{br})$ as in torchvision, `scores` `(N,)`, both float32
#   or float64; `iou_threshold` a float in $[0, 1]$. `N` may be 0.
# - Visit the boxes by **decreasing score; equal scores in increasing index order**. Keep the first box not yet
#   suppressed; it suppresses every remaining box whose IoU with it is **strictly greater** than
#   `iou_threshold`; repeat.
# - IoU as in Part 1, in corner format: area $(x_{br} - x_{tl})(y_{br} - y_{tl})$, and $0$ when the union has
#   zero area (so a zero-area box suppresses nothing and is suppressed by nothing).
# - Return the indices of the kept boxes as an int64 tensor of shape `(K,)`, in the order they were kept.
#
# **`batched_nms(boxes, scores, labels, iou_threshold)`**: the same with an int64 tensor `labels` `(N,)`: a box
# suppresses only boxes of **its own label**. Return the kept indices in the same order as above (decreasing score,
# ties by increasing index), over all labels together.
#
# You may call your `nms` in `batched_nms`; both must run without torchvision's `nms`, `batched_nms` and IoU
# functions (the grader checks which operations run). A loop over the kept boxes is fine.

# %% nbgrader={"grade": false, "grade_id": "nms", "locked": false, "schema_version": 3, "solution": true, "task": false}
def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices (int64) of the boxes kept, by decreasing score, ties in index order."""
    ### BEGIN SOLUTION
    x_tl, y_tl, x_br, y_br = boxes.unbind(dim=1)
    areas = (x_br - x_tl) * (y_br - y_tl)
    waiting = torch.sort(scores, descending=True, stable=True).indices
    kept = []
    while len(waiting):
        best, others = waiting[0], waiting[1:]
        kept.append(int(best))
        width = (torch.minimum(x_br[others], x_br[best]) - torch.maximum(x_tl[others], x_tl[best])).clamp(min=0)
        height = (torch.minimum(y_br[others], y_br[best]) - torch.maximum(y_tl[others], y_tl[best])).clamp(min=0)
        overlap = width * height
        union = areas[others] + areas[best] - overlap
        waiting = others[torch.where(union > 0, overlap / union, 0.0) <= iou_threshold]
    return torch.tensor(kept, dtype=torch.int64)
    ### END SOLUTION


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS within each label; the kept indices by decreasing score, ties in index order."""
    ### BEGIN SOLUTION
    kept = [torch.zeros(0, dtype=torch.int64)]
    for label in labels.unique():
        members = torch.nonzero(labels == label).flatten()
        kept.append(members[nms(boxes[members], scores[members], iou_threshold)])
    survivors = torch.cat(kept).sort().values  # index order first, so that the stable sort breaks ties by index
    return survivors[torch.sort(scores[survivors], descending=True, stable=True).indices]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_nms", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand: box 1 overlaps box 0 with IoU 81/119 = 0.68; box 2 is far away. The best box (index 1) comes first.
boxes = torch.tensor([[1.0, 1.0, 11.0, 11.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
scores = torch.tensor([0.8, 0.9, 0.7])
kept = nms(boxes, scores, 0.5)
T.assert_type(kept, torch.Tensor, "nms(...)")
assert kept.dtype == torch.int64, f"nms returns int64 indices, got {kept.dtype}"
assert kept.tolist() == [1, 2], f"threshold 0.5: box 1 (score 0.9) suppresses box 0 (IoU 0.68); expected [1, 2], got {kept.tolist()}"
assert nms(boxes, scores, 0.7).tolist() == [1, 0, 2], "threshold 0.7: nothing is suppressed; the order is by decreasing score"

# Ties: identical boxes with equal scores keep the lowest index; an IoU exactly at the threshold does not suppress
assert nms(torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 3), torch.tensor([0.5, 0.5, 0.5]), 0.5).tolist() == [0], (
    "three identical boxes with equal scores: the first one (index 0) is kept")
tied = nms(torch.tensor([[9.0, 9.0, 12.0, 12.0], [0.0, 0.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0]]), torch.ones(3), 0.5)
assert tied.tolist() == [0, 1, 2], f"equal scores are visited in index order, got {tied.tolist()}"
half = torch.tensor([[0.0, 0.0, 4.0, 2.0], [0.0, 0.0, 4.0, 1.0]])  # IoU exactly 4 / 8 = 0.5
assert nms(half, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1], "IoU = threshold: only an IoU > threshold suppresses"
points = torch.tensor([[3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]])
assert nms(points, torch.tensor([0.9, 0.8]), 0.5).tolist() == [0, 1], "zero-area boxes have IoU 0: both are kept"
empty = nms(torch.zeros(0, 4), torch.zeros(0), 0.5)
assert empty.shape == (0,) and empty.dtype == torch.int64, "no boxes: an empty int64 tensor of shape (0,)"

# Per class: the same two overlapping boxes survive when their labels differ
labels = torch.tensor([1, 2, 1])
assert batched_nms(boxes, scores, labels, 0.5).tolist() == [1, 0, 2], "boxes 0 and 1 have different labels: both kept"
assert batched_nms(boxes, scores, torch.tensor([3, 3, 1]), 0.5).tolist() == [1, 2], "same label: box 0 is suppressed"
assert batched_nms(torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, dtype=torch.int64), 0.5).shape == (0,)

# Against torchvision on random boxes with distinct scores
g = torch.Generator().manual_seed(0)
corners = torch.rand(200, 2, generator=g) * 50
random_boxes = torch.cat([corners, corners + 2 + 15 * torch.rand(200, 2, generator=g)], dim=1)
random_scores, random_labels = torch.rand(200, generator=g), torch.randint(0, 3, (200,), generator=g)
with T.forbidden("box operations"):
    ours, ours_batched = nms(random_boxes, random_scores, 0.4), batched_nms(random_boxes, random_scores, random_labels, 0.4)
assert torch.equal(ours, ops.nms(random_boxes, random_scores, 0.4)), "200 random boxes: not the boxes torchvision.ops.nms keeps"
assert torch.equal(ours_batched, ops.batched_nms(random_boxes, random_scores, random_labels, 0.4)), (
    "200 random boxes in 3 classes: not the boxes torchvision.ops.batched_nms keeps")

print("✓ Part 2: nms and batched_nms pass the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — COCO's average precision from boxes (2 points)
#
# The lecture matched detections to objects with Pascal VOC's rule and then computed AP from the TP/FP flags. COCO
# (`pycocotools`' `COCOeval`) matches differently: a detection whose best object is already taken by a
# higher-scoring detection may still match **another free object** that it overlaps enough. Write the whole
# computation for one class, from boxes to AP.
#
# **`coco_average_precision(detections, truths, iou_threshold=0.5)`**
# - `detections` is a list with one entry per image: a tuple `(boxes, scores)`, `boxes` `(K, 4)` in corner format,
#   `scores` `(K,)`. `truths` is a list, as long, of `(G_i, 4)` tensors: the true boxes of each image. `K` and
#   `G_i` may be 0. All boxes have positive area.
# - **Matching.** Take all detections of all images by decreasing score; equal scores keep their order (image by
#   image, and by index within an image). Each detection looks at the true boxes *of its image* that no earlier
#   detection has matched, and takes the one with the highest IoU (the lowest index among equal IoUs). If that IoU
#   is at least `iou_threshold`, the detection is a true positive and the true box is matched; otherwise it is a
#   false positive.
# - **Precision and recall.** After the first $j$ detections, $P_j = TP_j / j$ and $R_j = TP_j / G$, where $G$ is the
#   number of true boxes in all images.
# - **101 recall levels.** For $r_k = k/100$, $k = 0, \dots, 100$, the interpolated precision is the best precision
#   reached at that recall or beyond, $p(r_k) = \max\{P_j : R_j \ge r_k\}$, or $0$ if no $R_j$ reaches $r_k$.
#   $\mathrm{AP} = \frac{1}{101}\sum_k p(r_k)$. Decide $R_j \ge r_k$ exactly, in integers: $100\,TP_j \ge k\,G$.
# - **Edge cases.** No true boxes at all ($G = 0$): AP is undefined; return `float("nan")`. True boxes but no
#   detections: `0.0`.
# - Return a Python `float`. You may use `torchvision.ops.box_iou` here.

# %% nbgrader={"grade": false, "grade_id": "ap", "locked": false, "schema_version": 3, "solution": true, "task": false}
def coco_average_precision(detections: list[tuple[torch.Tensor, torch.Tensor]], truths: list[torch.Tensor],
                           iou_threshold: float = 0.5) -> float:
    """AP of one class over all images: COCO's greedy matching, 101 recall levels."""
    ### BEGIN SOLUTION
    total = sum(len(t) for t in truths)
    if total == 0:
        return float("nan")
    image = torch.cat([torch.full((len(s),), i) for i, (_, s) in enumerate(detections)] + [torch.zeros(0).long()])
    rank = torch.cat([torch.arange(len(s)) for _, s in detections] + [torch.zeros(0).long()])
    if len(image) == 0:
        return 0.0
    all_scores = torch.cat([s.double() for _, s in detections])
    overlaps = [ops.box_iou(b.double(), t.double()) for (b, _), t in zip(detections, truths)]
    matched = [torch.zeros(len(t), dtype=torch.bool) for t in truths]
    hits = []
    for d in torch.sort(all_scores, descending=True, stable=True).indices.tolist():
        i = int(image[d])
        free = overlaps[i][int(rank[d])].masked_fill(matched[i], -1.0)
        hit = len(free) > 0 and bool(free.max() >= iou_threshold)
        if hit:
            matched[i][free.argmax()] = True
        hits.append(hit)
    tp = torch.tensor(hits).long().cumsum(0)
    precision = tp.double() / torch.arange(1, len(tp) + 1)
    levels = torch.arange(101)
    reaches = 100 * tp[None, :] >= levels[:, None] * total  # (101 levels, detections)
    return float(torch.where(reaches, precision, 0.0).amax(dim=1).mean())
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_ap", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand. Image 0 has two overlapping objects T0, T1; image 1 one object T2 (G = 3). Four detections:
#   0.9  D1 = T0 exactly                        -> TP, matches T0
#   0.85 D3 far from everything (image 1)       -> FP
#   0.8  D2: IoU 0.905 with T0 (taken), 0.739 with T1 (free) -> TP, matches T1  (VOC's rule would say FP)
#   0.6  D4 = T2 exactly                        -> TP
# TP: 1, 1, 2, 3; precision 1, 1/2, 2/3, 3/4; recall 1/3, 1/3, 2/3, 1.
# Recall levels 0.00 .. 0.33 (34 of them): best precision at recall >= r is 1; levels 0.34 .. 1.00 (67): 3/4.
# AP = (34 * 1 + 67 * 0.75) / 101 = 0.83416
truths = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 2.0, 10.0, 12.0]]), torch.tensor([[20.0, 20.0, 30.0, 30.0]])]
detections = [(torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.5, 10.0, 10.5]]), torch.tensor([0.9, 0.8])),
              (torch.tensor([[40.0, 40.0, 50.0, 50.0], [20.0, 20.0, 30.0, 30.0]]), torch.tensor([0.85, 0.6]))]
ap = coco_average_precision(detections, truths)
assert type(ap) is float, f"coco_average_precision must return a Python float, got {type(ap).__name__}"
T.assert_close(ap, (34 + 67 * 0.75) / 101, name="AP of the example (COCO's matching, 101 levels, best precision at recall >= r)")

# The threshold: an IoU exactly 0.5 is enough at iou_threshold=0.5, not at 0.6; G = 4 gives levels hit exactly
exact = [(torch.tensor([[0.0, 0.0, 4.0, 1.0]]), torch.tensor([0.7]))]
T.assert_close(coco_average_precision(exact, [torch.tensor([[0.0, 0.0, 4.0, 2.0]])]), 1.0, name="IoU = 0.5 counts as a match")
T.assert_close(coco_average_precision(exact, [torch.tensor([[0.0, 0.0, 4.0, 2.0]])], iou_threshold=0.6), 0.0,
               name="IoU 0.5 at iou_threshold=0.6")
four = [torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0], [4.0, 0.0, 5.0, 1.0], [6.0, 0.0, 7.0, 1.0]])]
T.assert_close(coco_average_precision([(four[0][:1], torch.tensor([1.0]))], four), 26 / 101,
               name="one of four objects found: recall 1/4 reaches the levels 0.00 .. 0.25 (26 of them)")

# Edge cases
T.assert_close(coco_average_precision([(torch.zeros(0, 4), torch.zeros(0))], truths[:1]), 0.0, name="no detections")
nothing = coco_average_precision(detections, [torch.zeros(0, 4), torch.zeros(0, 4)])
assert type(nothing) is float and math.isnan(nothing), f"no true boxes: AP is undefined, return nan; got {nothing}"
T.assert_close(coco_average_precision([(truths[0], torch.tensor([0.5, 0.5])), (truths[1], torch.tensor([0.5]))], truths),
               1.0, name="every object found, nothing else (tied scores)")

print("✓ Part 3: coco_average_precision passes the visible tests")

# %% [markdown]
# COCO's headline number averages the AP over the IoU thresholds $0.5, 0.55, \dots, 0.95$. On jittered copies of
# the boxes of generated scenes (ungraded), loose thresholds forgive the jitter and strict ones do not:

# %%
try:
    scenes = make_scenes(200, seed=1, source="fashion", classes=[0, 1, 7, 8], train=False)
    g = torch.Generator().manual_seed(1)
    truths = [scenes.boxes[scenes.objects(i)] for i in range(len(scenes))]
    detections = []
    for boxes in truths:
        sizes = (boxes[:, 2:] - boxes[:, :2]).repeat(1, 2)
        jittered = boxes + 0.1 * sizes * torch.randn(boxes.shape, generator=g)
        detections.append((jittered, torch.rand(len(boxes), generator=g)))
    aps = [coco_average_precision(detections, truths, t / 100) for t in range(50, 100, 5)]
    print("AP at IoU 0.50 .. 0.95:", " ".join(f"{ap:.2f}" for ap in aps), f"-> AP@[.5:.95] = {sum(aps) / len(aps):.3f}")
except NotImplementedError:
    print("Implement Part 3 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — Targets of an anchor-free grid, and back (2 points)
#
# YOLO v1 has no anchors: the image is cut into a grid of `rows` × `cols` cells, and the cell that contains an
# object's centre predicts it. Our network's output is channel-first, like every convolution's: `(N, 5 + C, rows,
# cols)`, so the targets are too. For one image of `H` × `W` pixels, cells are $s_x = W / \text{cols}$ wide and
# $s_y = H / \text{rows}$ high, and an object with centre $(c_x, c_y)$ and size $(w, h)$ belongs to the cell in
# column $j = \lfloor c_x / s_x \rfloor$ and row $i = \lfloor c_y / s_y \rfloor$ (a centre exactly on a border
# between cells belongs to the cell right of it or below it). Its four targets are
#
# $$ t_x = c_x / s_x - j, \qquad t_y = c_y / s_y - i, \qquad t_w = \log(w / W), \qquad t_h = \log(h / H): $$
#
# the centre's offset inside its cell, and the logarithm of the size relative to the **image** (not to a cell or an
# anchor as in the lecture).
#
# **`encode_grid(boxes, labels, image_size, grid)`**
# - `boxes` `(K, 4)` corners in pixels (float32 or float64), inside the image, all with positive width and
#   height; `labels` `(K,)` int64 in $1, \dots, C$; `image_size = (H, W)` and `grid = (rows, cols)` tuples of ints. `K` may be 0.
# - Return a tuple `(box_targets, cell_labels)`: `box_targets` of shape `(4, rows, cols)` and the dtype of `boxes`,
#   holding $(t_x, t_y, t_w, t_h)$ at each object's cell and zeros elsewhere; `cell_labels` int64 `(rows, cols)`,
#   the object's label at its cell and 0 (background) elsewhere.
# - **Collisions**: when several objects fall into one cell, the one with the **largest area** $w h$ owns it; among
#   equal areas, the one that comes **first** in `boxes`. The others are lost (the demo below counts how often).
#
# **`decode_grid(box_targets, cell_labels, image_size)`** inverts it: return `(boxes, labels)`, the corner boxes
# (dtype of `box_targets`) and labels of the cells whose label is not 0, **row by row, left to right**. So
# `decode_grid(*encode_grid(boxes, labels, size, grid), size)` gives back every object that owns its cell.

# %% nbgrader={"grade": false, "grade_id": "grid", "locked": false, "schema_version": 3, "solution": true, "task": false}
def encode_grid(boxes: torch.Tensor, labels: torch.Tensor, image_size: tuple[int, int],
                grid: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(box_targets (4, rows, cols), cell_labels (rows, cols)) of one image; the largest object owns a cell."""
    ### BEGIN SOLUTION
    (height, width), (rows, cols) = image_size, grid
    cell_w, cell_h = width / cols, height / rows
    x_centre, y_centre = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    box_w, box_h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    column = (x_centre / cell_w).floor().long().clamp(0, cols - 1)
    row = (y_centre / cell_h).floor().long().clamp(0, rows - 1)
    values = torch.stack([x_centre / cell_w - column, y_centre / cell_h - row, (box_w / width).log(),
                          (box_h / height).log()])
    box_targets = torch.zeros(4, rows, cols, dtype=boxes.dtype)
    cell_labels = torch.zeros(rows, cols, dtype=torch.int64)
    areas = (box_w * box_h).tolist()
    for k in sorted(range(len(boxes)), key=lambda k: (areas[k], -k)):  # the owner of a cell is written last
        box_targets[:, row[k], column[k]] = values[:, k]
        cell_labels[row[k], column[k]] = labels[k]
    return box_targets, cell_labels
    ### END SOLUTION


def decode_grid(box_targets: torch.Tensor, cell_labels: torch.Tensor,
                image_size: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(boxes (K, 4) corners, labels (K,)) of the cells with an object, row by row."""
    ### BEGIN SOLUTION
    height, width = image_size
    rows, cols = cell_labels.shape
    row, column = torch.nonzero(cell_labels, as_tuple=True)  # row-major order
    t_x, t_y, t_w, t_h = box_targets[:, row, column]
    x_centre, y_centre = (column + t_x) * (width / cols), (row + t_y) * (height / rows)
    half_w, half_h = width * t_w.exp() / 2, height * t_h.exp() / 2
    boxes = torch.stack([x_centre - half_w, y_centre - half_h, x_centre + half_w, y_centre + half_h], dim=1)
    return boxes, cell_labels[row, column]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_grid", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand: a 48 x 64 image (H x W) with a 3 x 4 grid has 16 x 16 cells.
#   [4, 20, 28, 36]: centre (16, 28), size 24 x 16 -> column 1 (16 / 16 = 1.0: on the border, the right cell), row 1;
#                    t = (0.0, 0.75, log(24/64), log(16/48)), label 2
#   [40, 0, 64, 8]:  centre (52, 4), size 24 x 8   -> column 3, row 0; t = (0.25, 0.25, log(24/64), log(8/48)), label 1
boxes = torch.tensor([[4.0, 20.0, 28.0, 36.0], [40.0, 0.0, 64.0, 8.0]])
box_targets, cell_labels = encode_grid(boxes, torch.tensor([2, 1]), (48, 64), (3, 4))
T.assert_type(box_targets, torch.Tensor, "box_targets")
assert box_targets.shape == (4, 3, 4) and box_targets.dtype == torch.float32, (
    f"box_targets: shape (4, rows, cols) = (4, 3, 4) and float32 like the boxes, got {tuple(box_targets.shape)} {box_targets.dtype}")
assert cell_labels.dtype == torch.int64 and cell_labels.shape == (3, 4), "cell_labels: int64 of shape (rows, cols)"
assert cell_labels.tolist() == [[0, 0, 0, 1], [0, 2, 0, 0], [0, 0, 0, 0]], (
    f"cell_labels should be [[0, 0, 0, 1], [0, 2, 0, 0], [0, 0, 0, 0]] (row i = y, column j = x), got {cell_labels.tolist()}")
T.assert_close(box_targets[:, 1, 1], [0.0, 0.75, math.log(24 / 64), math.log(16 / 48)],
               name="targets of the first box (sizes relative to the image)")
T.assert_close(box_targets[:, 0, 3], [0.25, 0.25, math.log(24 / 64), math.log(8 / 48)], name="targets of the second box")
assert box_targets[:, 2].abs().sum() == 0, "cells without an object hold zeros"

# Collisions: three objects centred in cell (0, 0); the largest wins, and the first among equal areas
crowd = torch.tensor([[6.0, 6.0, 10.0, 10.0], [0.0, 0.0, 16.0, 16.0], [4.0, 4.0, 12.0, 12.0], [2.0, 4.0, 14.0, 12.0]])
_, crowd_labels = encode_grid(crowd, torch.tensor([1, 2, 3, 4]), (48, 64), (3, 4))
assert crowd_labels[0, 0] == 2, f"the largest object (label 2, 16 x 16) owns the cell, got label {int(crowd_labels[0, 0])}"
_, crowd_labels = encode_grid(crowd[[0, 2, 3]], torch.tensor([1, 3, 4]), (48, 64), (3, 4))
assert crowd_labels[0, 0] == 4, "label 4 (12 x 8 = 96) beats label 3 (8 x 8 = 64)"
_, crowd_labels = encode_grid(torch.tensor([[4.0, 4.0, 12.0, 12.0], [6.0, 4.0, 14.0, 12.0]]), torch.tensor([3, 5]), (48, 64), (3, 4))
assert crowd_labels[0, 0] == 3, "equal areas: the object that comes first in `boxes` owns the cell"
edge_targets, edge_labels = encode_grid(torch.tensor([[60.0, 40.0, 64.0, 48.0]]), torch.tensor([1]), (48, 64), (3, 4))
assert edge_labels[2, 3] == 1, "a centre near the bottom-right corner belongs to the last row and column"
empty_targets, empty_labels = encode_grid(torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), (48, 64), (3, 4))
assert empty_targets.shape == (4, 3, 4) and not empty_labels.any(), "no objects: all zeros"

# Decoding, and the round trip (the second box comes first: row 0 before row 1)
decoded, decoded_labels = decode_grid(box_targets, cell_labels, (48, 64))
T.assert_type(decoded, torch.Tensor, "decoded boxes")
assert decoded_labels.tolist() == [1, 2], f"labels row by row, left to right: expected [1, 2], got {decoded_labels.tolist()}"
T.assert_close(decoded, boxes[[1, 0]], atol=1e-4, name="decode_grid(encode_grid(boxes)) gives the boxes back")
g = torch.Generator().manual_seed(0)
corners = torch.rand(6, 2, generator=g) * torch.tensor([90.0, 50.0])
random_boxes = torch.cat([corners, corners + 1 + 20 * torch.rand(6, 2, generator=g)], dim=1).double()
targets = encode_grid(random_boxes, torch.arange(1, 7), (80, 120), (5, 6))
assert targets[0].dtype == torch.float64, "float64 boxes give float64 targets"
back, back_labels = decode_grid(*targets, (80, 120))
T.assert_close(back, random_boxes[back_labels - 1], atol=1e-9, name="round trip of random boxes (float64, 80 x 120, 5 x 6 grid)")

print("✓ Part 4: encode_grid and decode_grid pass the visible tests")

# %% [markdown]
# How many objects does one box per cell lose (ungraded)? The generated scenes of the lecture, 64×64 pixels, with
# grids of several sizes:

# %%
try:
    scenes = make_scenes(300, seed=0, source="fashion", classes=[0, 1, 7, 8])
    for side in (4, 8, 16):
        kept = sum(int((encode_grid(scenes.boxes[scenes.objects(i)], scenes.labels[scenes.objects(i)], (64, 64),
                                    (side, side))[1] > 0).sum()) for i in range(len(scenes)))
        print(f"{side:2d} x {side:<2d} grid: {kept} of {len(scenes.boxes)} objects own a cell "
              f"({1 - kept / len(scenes.boxes):.1%} lost to a shared cell)")
except NotImplementedError:
    print("Implement Part 4 first.")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — The YOLO v1 loss (2 points)
#
# The network outputs, per image and cell, $5 + C$ raw numbers $z$: an objectness logit $z_0$, two offset logits
# $z_1, z_2$ (the predicted offset is $\sigma(z)$, which stays inside the cell), two log sizes $z_3, z_4$ and $C$
# class logits $z_5, \dots, z_{4+C}$ for the labels $1, \dots, C$. Almost every cell is empty, so YOLO v1 weights
# the empty cells' objectness down by $\lambda_\text{noobj}$ and the box terms up by $\lambda_\text{coord}$:
#
# $$ L = \frac{1}{N}\Big[\sum_{\text{obj}} \mathrm{BCE}(z_0, 1) + \lambda_\text{noobj}\sum_{\text{empty}}
#        \mathrm{BCE}(z_0, 0) + \lambda_\text{coord}\sum_{\text{obj}} \big((\sigma(z_1) - t_x)^2 + (\sigma(z_2) - t_y)^2
#        + (z_3 - t_w)^2 + (z_4 - t_h)^2\big) + \sum_{\text{obj}} \mathrm{CE}(z_{5:}, \text{label})\Big], $$
#
# where the sums run over all cells of all $N$ images that hold an object ("obj") or not ("empty"),
# $\mathrm{BCE}(z, y) = -y \log\sigma(z) - (1 - y)\log(1 - \sigma(z))$, and $\mathrm{CE}$ is the cross-entropy of
# the softmax of the $C$ class logits with the cell's label (label $c$ is logit $z_{4+c}$). Unlike the lecture's
# loss, it is divided by the number of **images**, not of objects.
#
# **`grid_loss(z, box_targets, cell_labels, lambda_coord=5.0, lambda_noobj=0.5)`**
# - `z` `(N, 5 + C, rows, cols)` float32 or float64; `box_targets` `(N, 4, rows, cols)` and `cell_labels` `(N, rows,
#   cols)` int64 as `encode_grid` makes them for each image (0 = empty).
# - Return $L$ as a 0-dimensional tensor of `z`'s dtype that autograd can differentiate with respect to `z`.
# - Batches without any object give the objectness term alone (no `nan`), and logits of any size give a finite loss
#   (use the log-sum-exp forms: `F.binary_cross_entropy_with_logits`, `F.cross_entropy`).

# %% nbgrader={"grade": false, "grade_id": "loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def grid_loss(z: torch.Tensor, box_targets: torch.Tensor, cell_labels: torch.Tensor, lambda_coord: float = 5.0,
              lambda_noobj: float = 0.5) -> torch.Tensor:
    """YOLO v1's loss on raw outputs z (N, 5 + C, rows, cols), summed and divided by the number of images."""
    ### BEGIN SOLUTION
    has_object = cell_labels > 0
    bce = F.binary_cross_entropy_with_logits(z[:, 0], has_object.to(z.dtype), reduction="none")
    objectness = bce[has_object].sum() + lambda_noobj * bce[~has_object].sum()
    predicted = z.permute(0, 2, 3, 1)[has_object]  # (objects, 5 + C)
    wanted = box_targets.permute(0, 2, 3, 1)[has_object]  # (objects, 4)
    box_error = ((predicted[:, 1:3].sigmoid() - wanted[:, :2]) ** 2).sum() + ((predicted[:, 3:5] - wanted[:, 2:]) ** 2).sum()
    class_error = F.cross_entropy(predicted[:, 5:], cell_labels[has_object] - 1, reduction="sum")
    return (objectness + lambda_coord * box_error + class_error) / len(z)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand: one image, a 1 x 2 grid, C = 2, z = 0 everywhere. Cell 0 holds label 2 with t = (0.5, 0.25, 0.5, 0.0).
#   objectness: BCE(0, 1) = log 2 in cell 0, lambda_noobj * BCE(0, 0) = 0.5 log 2 in cell 1
#   box: sigmoid(0) = 0.5: 5 * ((0.5 - 0.5)^2 + (0.5 - 0.25)^2 + (0 - 0.5)^2 + 0^2) = 5 * 0.3125 = 1.5625
#   class: cross-entropy of two equal logits = log 2
# L = 2.5 log 2 + 1.5625
z = torch.zeros(1, 7, 1, 2, requires_grad=True)
box_targets = torch.tensor([[[[0.5, 0.0]], [[0.25, 0.0]], [[0.5, 0.0]], [[0.0, 0.0]]]])  # (1, 4, 1, 2)
cell_labels = torch.tensor([[[2, 0]]])
loss = grid_loss(z, box_targets, cell_labels)
T.assert_type(loss, torch.Tensor, "grid_loss(...)")
assert loss.shape == () and loss.dtype == torch.float32, f"a 0-dimensional float32 tensor, got shape {tuple(loss.shape)}, {loss.dtype}"
T.assert_close(loss, 2.5 * math.log(2) + 1.5625, name="the loss of the example")
T.assert_close(grid_loss(z, box_targets, cell_labels, lambda_coord=1.0, lambda_noobj=1.0), 3 * math.log(2) + 0.3125,
               name="the loss with lambda_coord = lambda_noobj = 1")

# The gradient, by hand: dBCE/dz0 = sigmoid(z0) - y: -0.5 in cell 0 and 0.5 * 0.5 in cell 1; the offsets get
# 5 * 2 * (0.5 - t) * sigmoid'(0) = 5 * 2 * (0.5 - t) / 4; the log sizes 5 * 2 * (0 - t); the classes softmax - one-hot
loss.backward()
T.assert_close(z.grad[0, 0, 0], [-0.5, 0.25], name="d loss / d z0 (objectness)")
T.assert_close(z.grad[0, 1:5, 0, 0], [0.0, 0.625, -5.0, 0.0], name="d loss / d (z1, z2, z3, z4) in the object's cell")
T.assert_close(z.grad[0, 1:5, 0, 1], [0.0] * 4, name="the box outputs of an empty cell (no gradient)")
T.assert_close(z.grad[0, 5:, 0, 0], [0.5, -0.5], name="d loss / d class logits")

# Divided by the number of images: the same image twice gives the same loss
twice = grid_loss(z.detach().repeat(2, 1, 1, 1), box_targets.repeat(2, 1, 1, 1), cell_labels.repeat(2, 1, 1))
T.assert_close(twice, 2.5 * math.log(2) + 1.5625, name="two copies of the image (the sum is divided by N = 2)")

# No object at all, and huge logits: finite values
no_object = grid_loss(torch.zeros(2, 7, 3, 3), torch.zeros(2, 4, 3, 3), torch.zeros(2, 3, 3, dtype=torch.int64))
T.assert_close(no_object, 9 * 0.5 * math.log(2), name="no object: the objectness term alone (18 cells * 0.5 log 2 / 2 images)")
huge = torch.zeros(1, 7, 1, 2, dtype=torch.float64)
huge[0, 0, 0, 1], huge[0, 5, 0, 0] = 200.0, 300.0  # an empty cell that is sure it holds an object; a wrong sure class
value = grid_loss(huge, box_targets.double(), cell_labels)
assert value.dtype == torch.float64, "float64 outputs give a float64 loss"
T.assert_close(value, math.log(2) + 0.5 * 200 + 1.5625 + 300, atol=1e-6,
               name="logits of 200 and 300 (use the log-sum-exp forms, or log(sigmoid) gives inf)")

print("✓ Part 5: grid_loss passes the visible tests")

# %% [markdown]
# The loss of a network that knows nothing yet, on the generated scenes (ungraded). With all outputs at zero,
# every empty cell pays $\lambda_\text{noobj}\log 2$; RetinaNet's prior initialisation of the lecture (objectness
# bias $\log\frac{\pi}{1 - \pi}$) makes that term small from the first step:

# %%
try:
    encoded = [encode_grid(scenes.boxes[scenes.objects(i)], scenes.labels[scenes.objects(i)], (64, 64), (8, 8))
               for i in range(len(scenes))]
    targets, labels = torch.stack([t for t, _ in encoded]), torch.stack([c for _, c in encoded])
    prior = float((labels > 0).float().mean())
    zeros = torch.zeros(len(scenes), 5 + scenes.num_classes - 1, 8, 8)
    with_prior = zeros.clone()
    with_prior[:, 0] = math.log(prior / (1 - prior))
    print(f"{prior:.1%} of the cells hold an object; loss per image with z = 0: {grid_loss(zeros, targets, labels):.2f}, "
          f"with the prior objectness bias: {grid_loss(with_prior, targets, labels):.2f}")
except NotImplementedError:
    print("Implement Parts 4 and 5 first.")
