"""Hidden tests of Assignment 10, judged in the grader's process (instructor only, never released).

Each part first re-checks a fixed case built from the visible examples (so that a catalogued mistake is named
whatever the random draw), then random cases: IoU/GIoU on hundreds of boxes with zero-area boxes, empty inputs
and both float dtypes; NMS with tied scores, exact-threshold IoUs and labels; AP from boxes over several images;
grid encoding with collisions, decoding and the round trip; the loss's value and gradient with huge logits and
batches without objects. The references below are plain loops or float64 formulas written for this file only.
"""
from __future__ import annotations

import math

import torch
from torch.nn import functional as F

from course_grading.gradients import kernel_leaves, value_and_gradients
from course_grading.judge import (Judge, case, expect, expect_close, expect_equal, expect_no_ops, expect_tensor,
                                  fail)
from course_utils.testing import implementations

judge = Judge()
judge.advise_against("iou", "box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou")
BOX_OPS = implementations("box operations")
DTYPES = (torch.float32, torch.float64)


def tolerance(dtype: torch.dtype, loose: float = 1e-4) -> dict[str, float]:
    return {"atol": loose, "rtol": loose} if dtype == torch.float32 else {"atol": 1e-9, "rtol": 1e-9}


def corner_iou(p: torch.Tensor, q: torch.Tensor, plus_one: bool = False) -> torch.Tensor:
    """IoU of corner boxes in float64, every pair; 0 where the union has no area."""
    p, q = p.double(), q.double()
    extra = 1.0 if plus_one else 0.0
    inter_w = (torch.min(p[:, None, 2], q[None, :, 2]) - torch.max(p[:, None, 0], q[None, :, 0]) + extra).clamp(min=0)
    inter_h = (torch.min(p[:, None, 3], q[None, :, 3]) - torch.max(p[:, None, 1], q[None, :, 1]) + extra).clamp(min=0)
    size_p = (p[:, 2] - p[:, 0] + extra) * (p[:, 3] - p[:, 1] + extra)
    size_q = (q[:, 2] - q[:, 0] + extra) * (q[:, 3] - q[:, 1] + extra)
    joint = size_p[:, None] + size_q[None, :] - inter_w * inter_h
    safe = torch.where(joint > 0, joint, torch.ones_like(joint))
    return torch.where(joint > 0, inter_w * inter_h / safe, torch.zeros_like(joint))


# ---------------------------------------------------------------- Part 1

PLUS_ONE = "the widths and heights get the +1 of the old Pascal VOC devkit (for corners stored as pixel indices)"
NO_CLAMP = "the intersection's width and height are not clamped at 0 (two negative sides multiply to a positive area)"
AS_CORNERS = "the boxes are read as corners (x_tl, y_tl, x_br, y_br) instead of (c_x, c_y, w, h)"
PENALTY_INTERSECTION = "the GIoU's penalty uses the intersection instead of the union: (|C| - |A ∩ B|) / |C|"
NAN_LEFT = "0 / 0 is left as nan where the union (or the enclosing box) has zero area"


def to_corners(boxes: torch.Tensor) -> torch.Tensor:
    b = boxes.double()
    return torch.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], 1)


def ref_iou(a: torch.Tensor, b: torch.Tensor, generalized: bool, mistake: str | None = None) -> torch.Tensor:
    """IoU or GIoU of (cx, cy, w, h) boxes in float64, the stated rules; `mistake` gives a catalogued wrong value."""
    p, q = (a.double(), b.double()) if mistake == AS_CORNERS else (to_corners(a), to_corners(b))
    extra = 1.0 if mistake == PLUS_ONE else 0.0
    sides = [torch.min(p[:, None, k + 2], q[None, :, k + 2]) - torch.max(p[:, None, k], q[None, :, k]) + extra
             for k in (0, 1)]
    if mistake != NO_CLAMP:
        sides = [s.clamp(min=0) for s in sides]
    inter = sides[0] * sides[1]
    area_p = (p[:, 2] - p[:, 0] + extra) * (p[:, 3] - p[:, 1] + extra)
    area_q = (q[:, 2] - q[:, 0] + extra) * (q[:, 3] - q[:, 1] + extra)
    joint = area_p[:, None] + area_q[None, :] - inter
    nan = torch.full_like(joint, math.nan)
    fallback = nan if mistake == NAN_LEFT else torch.zeros_like(joint)
    iou = torch.where(joint > 0, inter / torch.where(joint > 0, joint, 1.0), fallback)
    if not generalized:
        return iou
    enclosing = ((torch.max(p[:, None, 2], q[None, :, 2]) - torch.min(p[:, None, 0], q[None, :, 0]))
                 * (torch.max(p[:, None, 3], q[None, :, 3]) - torch.min(p[:, None, 1], q[None, :, 1])))
    uncovered = enclosing - (inter if mistake == PENALTY_INTERSECTION else joint)
    penalty = torch.where(enclosing > 0, uncovered / torch.where(enclosing > 0, enclosing, 1.0), fallback)
    return iou - penalty


IOU_MISTAKES = (PLUS_ONE, NO_CLAMP, AS_CORNERS, NAN_LEFT)


def check_iou_pair(student, a: torch.Tensor, b: torch.Tensor, modified_check: bool = False) -> None:
    """Both IoU and GIoU of one pair of inputs, in one round trip, operations recorded."""
    batch = student.batch()
    plain = batch.call(student.box_iou_cxcywh, a, b, record_ops=True, return_args=modified_check,
                       what="box_iou_cxcywh(a, b)")
    general = batch.call(student.box_iou_cxcywh, a, b, generalized=True, record_ops=True,
                         what="box_iou_cxcywh(a, b, generalized=True)")
    answers = batch.send()
    for index, generalized in ((plain, False), (general, True)):
        name = "the GIoU" if generalized else "the IoU"
        got = answers.value(index)
        expect_no_ops(answers.ops(index), BOX_OPS, "box_iou_cxcywh")
        expect_tensor(got, name, dtype=a.dtype, shape=(len(a), len(b)))
        want = ref_iou(a, b, generalized)
        labels = IOU_MISTAKES + ((PENALTY_INTERSECTION,) if generalized else ())
        mistakes = {label: ref_iou(a, b, generalized, label) for label in labels}
        expect_close(got, want, name, mistakes=mistakes, **tolerance(a.dtype))
    if modified_check:
        after = answers.args(plain)
        expect(torch.equal(after[0], a) and torch.equal(after[1], b), "box_iou_cxcywh modified its input boxes")


def random_cxcywh(draw, n: int, dtype: torch.dtype) -> torch.Tensor:
    """Centres in [0, 100], sizes in [1, 60]; about one box in six has a zero width or height (or both)."""
    boxes = torch.cat([draw.rand(n, 2) * 100, 1 + draw.rand(n, 2) * 59], dim=1)
    flat = draw.rand(n, 2) < 1 / 8
    boxes[:, 2:][flat] = 0.0
    return boxes.to(dtype)


@judge.part("test_iou")
def iou(student, draw):
    square = torch.tensor([[5.0, 5.0, 10.0, 10.0]])
    others = torch.tensor([[10.0, 5.0, 10.0, 10.0], [10.0, 10.0, 10.0, 10.0], [25.0, 5.0, 10.0, 10.0]])
    with case("the visible example: a 10x10 square and three shifted copies"):
        check_iou_pair(student, square, others, modified_check=True)
    degenerate = torch.tensor([[3.0, 3.0, 0.0, 0.0], [3.0, 8.0, 4.0, 0.0], [5.0, 5.0, 10.0, 10.0], [3.0, 3.0, 0.0, 0.0],
                               [7.0, 1.0, 0.0, 6.0]])
    with case("zero-area boxes: points and lines, coincident and not"):
        check_iou_pair(student, degenerate, degenerate)
    with case("empty inputs", shapes="(0, 4) and (3, 4)"):
        check_iou_pair(student, torch.zeros(0, 4, dtype=torch.float64), others.double())
        check_iou_pair(student, others, torch.zeros(0, 4))
    for _ in range(6):
        n, m, dtype = draw.int(1, 60), draw.int(1, 60), draw.choice(DTYPES)
        a, b = random_cxcywh(draw, n, dtype), random_cxcywh(draw, m, dtype)
        b[: min(n, m) // 3] = a[: min(n, m) // 3]  # some identical pairs (IoU 1, or 0 for zero-area copies)
        with case("random boxes", N=n, M=m, dtype=dtype):
            check_iou_pair(student, a, b, modified_check=True)
    with case("many boxes", N=300, M=200, dtype=torch.float32):
        check_iou_pair(student, random_cxcywh(draw, 300, torch.float32), random_cxcywh(draw, 200, torch.float32))


# ---------------------------------------------------------------- Part 2

INDEX_ORDER = "the boxes are visited in index order instead of by decreasing score"
AT_THRESHOLD = "a box is suppressed at IoU >= threshold instead of IoU > threshold"
SORTED_INDICES = "the kept indices are returned sorted by index instead of in the order they were kept"
IGNORES_LABELS = "batched_nms ignores the labels (plain NMS over all boxes)"
CLASS_BY_CLASS = "batched_nms returns the kept boxes class by class instead of by decreasing score over all classes"


def ref_suppress(boxes: torch.Tensor, scores: torch.Tensor, threshold: float, labels: torch.Tensor | None = None,
                 mistake: str | None = None) -> list[int]:
    """Greedy NMS, visiting by (-score, index); within each label when labels are given."""
    overlaps = corner_iou(boxes, boxes).tolist()
    values = scores.tolist()
    groups = labels.tolist() if labels is not None and mistake != IGNORES_LABELS else [0] * len(values)
    visit = list(range(len(values))) if mistake == INDEX_ORDER else sorted(range(len(values)),
                                                                           key=lambda i: (-values[i], i))
    dropped, survivors = set(), []
    for i in visit:
        if i in dropped:
            continue
        survivors.append(i)
        for j in range(len(values)):
            if j == i or groups[j] != groups[i]:
                continue
            over = overlaps[i][j] >= threshold if mistake == AT_THRESHOLD else overlaps[i][j] > threshold
            if over:
                dropped.add(j)
    if mistake == SORTED_INDICES:
        return sorted(survivors)
    if mistake == CLASS_BY_CLASS:
        return sorted(survivors, key=lambda i: (groups[i], -values[i], i))
    return survivors


def check_nms(student, boxes, scores, threshold, labels=None, modified_check=False) -> None:
    name = "nms" if labels is None else "batched_nms"
    args = (boxes, scores, threshold) if labels is None else (boxes, scores, labels, threshold)
    call = getattr(student, name).invoke(args, record_ops=True, return_args=modified_check)
    expect_no_ops(call.ops, BOX_OPS, name)
    got = call.value
    expect_tensor(got, f"{name}(...)", dtype=torch.int64)
    expect(got.dim() == 1, f"{name}(...) should be a 1-dimensional tensor of indices, got shape {tuple(got.shape)}")
    want = ref_suppress(boxes, scores, threshold, labels)
    labels_tried = [INDEX_ORDER, AT_THRESHOLD, SORTED_INDICES]
    if labels is not None:
        labels_tried += [IGNORES_LABELS, CLASS_BY_CLASS]
    mistakes = {label: ref_suppress(boxes, scores, threshold, labels, label) for label in labels_tried}
    expect_equal(got.tolist(), want, f"the indices {name} keeps", mistakes={k: v for k, v in mistakes.items()
                                                                           if v != want})
    if modified_check:
        expect(all(torch.equal(x, y) for x, y in zip(call.args, args[:-1])), f"{name} modified its inputs")


def random_corner_boxes(draw, n: int, dtype: torch.dtype, integer: bool = False) -> torch.Tensor:
    if integer:  # small integer corners: exact IoUs such as 0.5, identical boxes, zero-area boxes
        low = draw.randint(0, 12, (n, 2)).double()
        return torch.cat([low, low + draw.randint(0, 6, (n, 2)).double()], dim=1).to(dtype)
    low = draw.rand(n, 2) * 80
    return torch.cat([low, low + 1 + draw.rand(n, 2) * 30], dim=1).to(dtype)


def unambiguous(boxes: torch.Tensor, threshold: float, dtype: torch.dtype) -> bool:
    """No pair's IoU so close to the threshold that float32 rounding could decide it."""
    overlaps = corner_iou(boxes, boxes)
    return dtype == torch.float64 or not bool(((overlaps - threshold).abs() < 1e-5).any())


@judge.part("test_nms")
def suppression(student, draw):
    boxes = torch.tensor([[1.0, 1.0, 11.0, 11.0], [0.0, 0.0, 10.0, 10.0], [20.0, 20.0, 30.0, 30.0]])
    scores = torch.tensor([0.8, 0.9, 0.7])
    with case("the visible examples"):
        check_nms(student, boxes, scores, 0.5, modified_check=True)
        check_nms(student, boxes, scores, 0.7)
        check_nms(student, torch.tensor([[0.0, 0.0, 4.0, 2.0], [0.0, 0.0, 4.0, 1.0]]), torch.tensor([0.9, 0.8]), 0.5)
        check_nms(student, torch.tensor([[0.0, 0.0, 4.0, 4.0]] * 3), torch.tensor([0.5, 0.5, 0.5]), 0.5)
        check_nms(student, torch.zeros(0, 4), torch.zeros(0), 0.5)
        check_nms(student, boxes, scores, 0.5, torch.tensor([1, 2, 1]), modified_check=True)
        check_nms(student, boxes, scores, 0.5, torch.tensor([3, 3, 1]))
    for round_ in range(8):
        dtype = draw.choice(DTYPES)
        integer = round_ % 2 == 0
        n = draw.int(0, 3) if round_ == 1 else draw.int(2, 250)
        threshold = draw.choice((0.0, 0.5, 1.0, 0.25)) if integer else round(draw.uniform(0.1, 0.9), 3)
        for _ in range(20):
            candidate = random_corner_boxes(draw, n, dtype, integer)
            if integer or unambiguous(candidate, threshold, dtype):
                break
        scores = (draw.randint(0, 8, (n,)).double() / 8).to(dtype) if draw.int(0, 1) else draw.rand(n).to(dtype)
        labels = draw.randint(1, draw.int(2, 5), (n,)) if round_ >= 4 else None
        with case("random boxes" + (" with labels" if labels is not None else ""), N=n, dtype=dtype,
                  iou_threshold=threshold, ties="tied scores" if len(set(scores.tolist())) < n else "no ties",
                  integer_corners=integer):
            check_nms(student, candidate, scores, threshold, labels)


# ---------------------------------------------------------------- Part 3

NO_ENVELOPE = ("the precision at a recall level is the one of the first detection that reaches it, not the best "
               "precision at that recall or beyond (no envelope)")
VOC_MATCHING = ("a detection whose best true box is already matched is a false positive (VOC's rule), instead of "
                "matching the best free true box (COCO's rule)")
ALL_POINTS = "the area under the envelope at every recall step (VOC's all points) is used instead of 101 levels"


def ref_average_precision(detections, truths, threshold, mistake: str | None = None) -> float:
    total = sum(map(len, truths))
    if total == 0:
        return math.nan
    flat = [(score, image, k) for image, (_, s) in enumerate(detections) for k, score in enumerate(s.tolist())]
    flat.sort(key=lambda item: -item[0])  # Python's sort is stable: image by image, index by index
    overlaps = [corner_iou(b, t).tolist() for (b, _), t in zip(detections, truths)]
    matched = [set() for _ in truths]
    counts, found = [], 0
    for _, image, k in flat:
        row = overlaps[image][k]
        if mistake == VOC_MATCHING:
            best = max(range(len(row)), key=lambda g: (row[g], -g)) if row else None
            hit = best is not None and row[best] >= threshold and best not in matched[image]
        else:
            free = [g for g in range(len(row)) if g not in matched[image]]
            best = max(free, key=lambda g: (row[g], -g)) if free else None
            hit = best is not None and row[best] >= threshold
        if hit:
            matched[image].add(best)
            found += 1
        counts.append(found)
    precisions = [c / (j + 1) for j, c in enumerate(counts)]
    if mistake == ALL_POINTS:
        area, previous = 0.0, 0
        for j, c in enumerate(counts):
            if c > previous:
                area += (c - previous) / total * max(precisions[j:])
                previous = c
        return area
    levels = []
    for k in range(101):
        reaching = [j for j, c in enumerate(counts) if 100 * c >= k * total]
        if not reaching:
            levels.append(0.0)
        elif mistake == NO_ENVELOPE:
            levels.append(precisions[reaching[0]])
        else:
            levels.append(max(precisions[j] for j in reaching))
    return sum(levels) / 101


def check_ap(student, detections, truths, threshold: float | None = None) -> None:
    args = (detections, truths) if threshold is None else (detections, truths, threshold)
    call = student.coco_average_precision.invoke(args, return_args=True)
    got = call.value
    expect(type(got) is float, f"coco_average_precision must return a Python float, got {got!r}"[:200])
    used = 0.5 if threshold is None else threshold
    want = ref_average_precision(detections, truths, used)
    mistakes = {label: ref_average_precision(detections, truths, used, label)
                for label in (NO_ENVELOPE, VOC_MATCHING, ALL_POINTS)}
    if math.isnan(want):
        expect(math.isnan(got), f"there are no true boxes: the AP is undefined and must be nan, got {got}")
        return
    expect_close(got, want, "the AP", atol=1e-6, rtol=0,
                 mistakes={k: v for k, v in mistakes.items() if abs(v - want) > 1e-6})
    after_detections, after_truths = call.args[0], call.args[1]
    unchanged = all(torch.equal(x[0], y[0]) and torch.equal(x[1], y[1]) for x, y in zip(after_detections, detections))
    expect(unchanged and all(torch.equal(x, y) for x, y in zip(after_truths, truths)),
           "coco_average_precision modified its inputs")


GOOD_TOTALS = (1, 3, 7, 9, 11, 13, 17, 19, 21, 23)  # coprime with 100: no recall lands exactly on a level


def random_scene_detections(draw, dtype: torch.dtype, threshold: float):
    """A few images with true boxes, jittered detections, duplicates, misses and false alarms."""
    for _ in range(50):
        images = draw.int(1, 6)
        total = draw.choice(GOOD_TOTALS)
        per_image = [0] * images
        for _ in range(total):
            per_image[draw.int(0, images - 1)] += 1
        truths, detections = [], []
        for count in per_image:
            low = draw.rand(count, 2) * 70
            truth = torch.cat([low, low + 4 + draw.rand(count, 2) * 26], dim=1)
            found = [g for g in range(count) if draw.rand(1).item() < 0.8]
            copies = [g for g in found for _ in range(1 + (draw.rand(1).item() < 0.3))]
            sizes = (truth[copies, 2:] - truth[copies, :2]).repeat(1, 2) if copies else torch.zeros(0, 4)
            boxes = truth[copies] + 0.15 * sizes * draw.randn(len(copies), 4)
            boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 0.5)
            extra = draw.int(0, 2)
            low = draw.rand(extra, 2) * 80
            boxes = torch.cat([boxes, torch.cat([low, low + 3 + draw.rand(extra, 2) * 20], dim=1)])
            scores = (draw.randint(0, 6, (len(boxes),)).double() / 5 if draw.int(0, 1) else draw.rand(len(boxes)))
            truths.append(truth.to(dtype))
            detections.append((boxes.to(dtype), scores.to(dtype)))
        overlaps = [corner_iou(b, t) for (b, _), t in zip(detections, truths)]
        if all(not ((o - threshold).abs() < 1e-5).any() for o in overlaps):
            return detections, truths
    raise RuntimeError("no unambiguous draw")


@judge.part("test_ap")
def average_precision(student, draw):
    truths = [torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 2.0, 10.0, 12.0]]), torch.tensor([[20.0, 20.0, 30.0, 30.0]])]
    detections = [(torch.tensor([[0.0, 0.0, 10.0, 10.0], [0.0, 0.5, 10.0, 10.5]]), torch.tensor([0.9, 0.8])),
                  (torch.tensor([[40.0, 40.0, 50.0, 50.0], [20.0, 20.0, 30.0, 30.0]]), torch.tensor([0.85, 0.6]))]
    with case("the visible example (two images, three objects, four detections)"):
        check_ap(student, detections, truths)
    with case("the visible edge cases"):
        exact = [(torch.tensor([[0.0, 0.0, 4.0, 1.0]]), torch.tensor([0.7]))]
        check_ap(student, exact, [torch.tensor([[0.0, 0.0, 4.0, 2.0]])])
        check_ap(student, exact, [torch.tensor([[0.0, 0.0, 4.0, 2.0]])], 0.6)
        four = torch.tensor([[0.0, 0.0, 1.0, 1.0], [2.0, 0.0, 3.0, 1.0], [4.0, 0.0, 5.0, 1.0], [6.0, 0.0, 7.0, 1.0]])
        check_ap(student, [(four[:1], torch.tensor([1.0]))], [four])
        check_ap(student, [(torch.zeros(0, 4), torch.zeros(0))], truths[:1])
        check_ap(student, detections, [torch.zeros(0, 4), torch.zeros(0, 4)])
    with case("duplicate true boxes, an image without objects, equal scores across images"):
        twin = torch.tensor([[0.0, 0.0, 8.0, 8.0], [0.0, 0.0, 8.0, 8.0], [1.0, 0.0, 9.0, 8.0]])
        check_ap(student, [(twin, torch.tensor([0.5, 0.5, 0.5])), (twin[:1] + 20, torch.tensor([0.5]))],
                 [twin[:2], torch.zeros(0, 4)])
    for round_ in range(8):
        dtype = draw.choice(DTYPES)
        threshold = draw.choice((0.5, 0.75, round(draw.uniform(0.3, 0.9), 2)))
        detections, truths = random_scene_detections(draw, dtype, threshold)
        with case("random images", images=len(truths), true_boxes=sum(len(t) for t in truths),
                  detections=sum(len(s) for _, s in detections), dtype=dtype, iou_threshold=threshold):
            check_ap(student, detections, truths, None if threshold == 0.5 and round_ % 2 else threshold)


# ---------------------------------------------------------------- Part 4

CELL_RELATIVE = "the log sizes are taken relative to the cell (log(w / s_x)) instead of the image (log(w / W))"
LAST_WINS = "the collision rule is ignored: the object written last owns a shared cell"
COLUMN_ORDER = "the cells are read column by column instead of row by row"
RAW_SIZES = "the log sizes are not exponentiated back (w = W · t_w instead of W · exp(t_w))"


def ref_encode(boxes: torch.Tensor, labels: torch.Tensor, image_size, grid, mistake: str | None = None):
    height, width, rows, cols = *image_size, *grid
    b = boxes.double()
    targets = torch.zeros(4, rows, cols, dtype=torch.float64)
    owners = torch.zeros(rows, cols, dtype=torch.int64)
    best: dict[tuple[int, int], float] = {}
    for k in range(len(b)):
        x0, y0, x1, y1 = b[k].tolist()
        w, h = x1 - x0, y1 - y0
        fx, fy = (x0 + x1) / 2 * cols / width, (y0 + y1) / 2 * rows / height
        i, j = min(int(math.floor(fy)), rows - 1), min(int(math.floor(fx)), cols - 1)
        if mistake != LAST_WINS and (i, j) in best and best[(i, j)] >= w * h:
            continue
        best[(i, j)] = w * h
        scale_w, scale_h = (width / cols, height / rows) if mistake == CELL_RELATIVE else (width, height)
        targets[:, i, j] = torch.tensor([fx - j, fy - i, math.log(w / scale_w), math.log(h / scale_h)],
                                        dtype=torch.float64)
        owners[i, j] = int(labels[k])
    return targets, owners


def ref_decode(targets: torch.Tensor, owners: torch.Tensor, image_size, mistake: str | None = None):
    height, width = map(float, image_size)
    rows, cols = owners.shape
    cells = [(i, j) for i in range(rows) for j in range(cols) if owners[i, j] != 0]
    if mistake == COLUMN_ORDER:
        cells.sort(key=lambda cell: (cell[1], cell[0]))
    t = targets.double()
    out = []
    for i, j in cells:
        tx, ty, tw, th = t[:, i, j].tolist()
        w, h = (width * tw, height * th) if mistake == RAW_SIZES else (width * math.exp(tw), height * math.exp(th))
        cx, cy = (j + tx) * width / cols, (i + ty) * height / rows
        out.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
    labels = [int(owners[i, j]) for i, j in cells]
    return torch.tensor(out, dtype=torch.float64).reshape(-1, 4), labels


def check_encode(student, boxes, labels, image_size, grid) -> tuple:
    call = student.encode_grid.invoke((boxes, labels, image_size, grid), return_args=True)
    expect(type(call.value) is tuple and len(call.value) == 2, "encode_grid must return a tuple (box_targets, "
                                                               "cell_labels)")
    targets, owners = call.value
    rows, cols = grid
    expect_tensor(targets, "box_targets", dtype=boxes.dtype, shape=(4, rows, cols))
    expect_tensor(owners, "cell_labels", dtype=torch.int64, shape=(rows, cols))
    want_targets, want_owners = ref_encode(boxes, labels, image_size, grid)
    expect_equal(owners.tolist(), want_owners.tolist(), "cell_labels (row i from y, column j from x)",
                 mistakes={LAST_WINS: ref_encode(boxes, labels, image_size, grid, LAST_WINS)[1].tolist()})
    expect_close(targets, want_targets, "box_targets (t_x, t_y, t_w, t_h)", **tolerance(boxes.dtype),
                 mistakes={label: ref_encode(boxes, labels, image_size, grid, label)[0]
                           for label in (CELL_RELATIVE, LAST_WINS)})
    expect(torch.equal(call.args[0], boxes) and torch.equal(call.args[1], labels), "encode_grid modified its inputs")
    return targets, owners


def check_decode(student, targets, owners, image_size) -> None:
    answer = student.decode_grid(targets, owners, image_size)
    expect(type(answer) is tuple and len(answer) == 2, "decode_grid must return a tuple (boxes, labels)")
    boxes, labels = answer
    want_boxes, want_labels = ref_decode(targets, owners, image_size)
    expect_tensor(labels, "the decoded labels", dtype=torch.int64)
    expect_equal(labels.tolist(), want_labels, "the decoded labels (row by row, left to right)",
                 mistakes={COLUMN_ORDER: ref_decode(targets, owners, image_size, COLUMN_ORDER)[1]})
    expect_tensor(boxes, "the decoded boxes", dtype=targets.dtype, shape=(len(want_labels), 4))
    expect_close(boxes, want_boxes, "the decoded boxes", **tolerance(targets.dtype, 2e-4),
                 mistakes={label: ref_decode(targets, owners, image_size, label)[0] for label in (COLUMN_ORDER,
                                                                                                  RAW_SIZES)})


def random_objects(draw, image_size, grid, dtype):
    """Boxes inside the image, some sharing a cell (equal areas included), no centre near a cell border."""
    height, width, rows, cols = *image_size, *grid
    k = draw.int(0, 14)
    boxes = []
    while len(boxes) < k:
        if boxes and draw.int(0, 3) == 0:  # a second object in the cell of an earlier one
            x0, y0, x1, y1 = draw.choice(boxes)
            shift, grow = draw.uniform(-0.2, 0.2), draw.choice((-1, 1)) * draw.uniform(0.3, 1)
            candidate = [x0 + shift, y0, x1 + shift + grow, y1]
            if draw.int(0, 1):
                candidate = [x0, y0, x1, y1]  # the same box again: an equal area (the first one owns the cell)
        else:
            w, h = draw.uniform(1, width * 0.8), draw.uniform(1, height * 0.8)
            x0, y0 = draw.uniform(0, width - w), draw.uniform(0, height - h)
            candidate = [x0, y0, x0 + w, y0 + h]
        candidate = torch.tensor(candidate, dtype=torch.float64).to(dtype)
        x0, y0, x1, y1 = candidate.double().tolist()
        fx, fy = (x0 + x1) / 2 * cols / width, (y0 + y1) / 2 * rows / height
        inside = 0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height
        near_border = min(fx % 1, 1 - fx % 1, fy % 1, 1 - fy % 1) < 1e-4
        if inside and not near_border:
            boxes.append(candidate.tolist())
    tensor = torch.tensor(boxes, dtype=dtype).reshape(-1, 4)
    sizes = (tensor[:, 2:] - tensor[:, :2]).double().prod(1)
    close = (sizes[:, None] - sizes[None]).abs()
    if ((close > 0) & (close < 1e-3 * max(sizes.tolist(), default=1.0))).any():  # float32 could order them either way
        return random_objects(draw, image_size, grid, dtype)
    return tensor, draw.randint(1, 6, (len(tensor),))


def random_layout(draw) -> tuple[tuple[int, int], tuple[int, int], torch.dtype]:
    """An image size (H, W), a grid (rows, cols) and a dtype."""
    return (draw.int(24, 160), draw.int(24, 160)), (draw.int(1, 9), draw.int(1, 9)), draw.choice(DTYPES)


@judge.part("test_grid")
def grid(student, draw):
    visible = torch.tensor([[4.0, 20.0, 28.0, 36.0], [40.0, 0.0, 64.0, 8.0], [6.0, 6.0, 10.0, 10.0],
                            [0.0, 0.0, 16.0, 16.0], [2.0, 4.0, 14.0, 12.0], [4.0, 4.0, 12.0, 12.0]])
    with case("the visible examples: a 48 x 64 image, a 3 x 4 grid, four objects in one cell"):
        targets, owners = check_encode(student, visible, torch.tensor([2, 1, 1, 2, 4, 3]), (48, 64), (3, 4))
        check_decode(student, targets, owners, (48, 64))
        check_encode(student, torch.tensor([[4.0, 4.0, 12.0, 12.0], [6.0, 4.0, 14.0, 12.0]]), torch.tensor([3, 5]),
                     (48, 64), (3, 4))
        check_encode(student, torch.zeros(0, 4), torch.zeros(0, dtype=torch.int64), (48, 64), (3, 4))
    for _ in range(6):
        size, shape, dtype = random_layout(draw)
        boxes, labels = random_objects(draw, size, shape, dtype)
        with case("random objects", image_size=size, grid=shape, objects=len(boxes), dtype=dtype):
            targets, owners = check_encode(student, boxes, labels, size, shape)
        with case("decoding what your encode_grid returned (the round trip)", image_size=size, grid=shape,
                  dtype=dtype):
            check_decode(student, targets, owners, size)
    for _ in range(3):
        size, shape, dtype = random_layout(draw)
        owners = draw.randint(1, 5, shape) * (draw.rand(*shape) < 0.4)
        targets = torch.cat([draw.rand(2, *shape), (0.05 + 0.95 * draw.rand(2, *shape)).log()]).to(dtype)
        with case("decoding random targets", image_size=size, grid=shape, objects=int((owners > 0).sum()),
                  dtype=dtype):
            check_decode(student, targets * (owners > 0), owners, size)


# ---------------------------------------------------------------- Part 5

ALL_CELLS = "the box terms are summed over every cell, not only the cells that hold an object"
NO_SIGMOID = "the offsets are compared with the raw z1, z2 instead of sigmoid(z1), sigmoid(z2)"
BY_OBJECTS = "the sum is divided by the number of objects (the lecture's loss) instead of the number of images"
NOOBJ_EVERYWHERE = "lambda_noobj weights the objectness term of every cell, not only of the empty ones"
OVERFLOW = ("log(sigmoid(z)) is computed directly: for large logits sigmoid(z) rounds to 0 or 1 and the log to "
            "-inf (use F.binary_cross_entropy_with_logits and F.cross_entropy)")


def ref_grid_loss(z, targets, owners, coord=5.0, noobj=0.5, mistake: str | None = None) -> torch.Tensor:
    """The loss in float64, term by term; differentiable with respect to z."""
    occupied = (owners > 0).double()
    logit = z[:, 0]
    log_yes, log_no = F.logsigmoid(logit), F.logsigmoid(-logit)
    weight_empty = noobj * (1 - occupied)
    weight_full = occupied * (noobj if mistake == NOOBJ_EVERYWHERE else 1.0)
    objectness = -(weight_full * log_yes).sum() - (weight_empty * log_no).sum()
    offsets = z[:, 1:3] if mistake == NO_SIGMOID else torch.sigmoid(z[:, 1:3])
    squared = ((offsets - targets[:, :2]) ** 2).sum(1) + ((z[:, 3:5] - targets[:, 2:]) ** 2).sum(1)
    box = squared.sum() if mistake == ALL_CELLS else (squared * occupied).sum()
    log_probabilities = torch.log_softmax(z[:, 5:], dim=1)
    chosen = log_probabilities.gather(1, (owners - 1).clamp(min=0)[:, None]).squeeze(1)
    classes = -(chosen * occupied).sum()
    total = objectness + coord * box + classes
    divisor = max(int(occupied.sum()), 1) if mistake == BY_OBJECTS else z.shape[0]
    return total / divisor


def check_loss(student, z, targets, owners, options: dict) -> None:
    z_remote, = kernel_leaves(student, z)
    loss_handle = student.grid_loss.invoke((z_remote, targets, owners), options, keep=True).value
    loss = value_and_gradients(student, loss_handle, [z_remote], "the loss")
    got = loss.value
    expect_tensor(got, "the loss", dtype=z.dtype, shape=())
    renamed = {k.removeprefix("lambda_"): v for k, v in options.items()}
    z_ref = z.double().requires_grad_(True)
    want = ref_grid_loss(z_ref, targets.double(), owners, **renamed)
    (want_grad,) = torch.autograd.grad(want, z_ref)
    mistakes = {label: ref_grid_loss(z.double(), targets.double(), owners, **renamed, mistake=label).detach()
                for label in (ALL_CELLS, NO_SIGMOID, BY_OBJECTS, NOOBJ_EVERYWHERE)}
    if z.abs().max() > 80:  # where a naive log(sigmoid(z)) overflows
        mistakes[OVERFLOW] = torch.tensor(math.nan, dtype=torch.float64)
    expect_close(got, want.detach(), "the loss", mistakes=mistakes, **tolerance(z.dtype, 1e-4))
    (got_grad,) = loss.gradients()
    if got_grad is None:
        fail("the loss does not depend on z (no gradient)")
    expect_close(got_grad, want_grad, "the gradient of the loss with respect to z", **tolerance(z.dtype, 1e-4))


def random_batch(draw, n, classes, rows, cols, dtype, density=0.3, scale=2.0):
    owners = draw.randint(1, classes + 1, (n, rows, cols)) * (draw.rand(n, rows, cols) < density)
    targets = torch.cat([draw.rand(n, 2, rows, cols), draw.randn(n, 2, rows, cols)], dim=1) * (owners > 0)[:, None]
    z = scale * draw.randn(n, 5 + classes, rows, cols)
    return z.to(dtype), targets.to(dtype), owners


@judge.part("test_loss")
def loss(student, draw):
    fixed = torch.Generator().manual_seed(10)
    z = torch.randn(2, 7, 2, 3, generator=fixed)
    owners = torch.tensor([[[2, 0, 0], [0, 1, 0]], [[0, 0, 0], [0, 0, 2]]])
    targets = torch.cat([torch.rand(2, 2, 2, 3, generator=fixed), torch.randn(2, 2, 2, 3, generator=fixed)], 1)
    with case("two images, a 2 x 3 grid, C = 2, three objects"):
        check_loss(student, z, targets * (owners > 0)[:, None], owners, {})
    with case("the visible example: z = 0, one object in a 1 x 2 grid"):
        example = torch.tensor([[[[0.5, 0.0]], [[0.25, 0.0]], [[0.5, 0.0]], [[0.0, 0.0]]]])
        check_loss(student, torch.zeros(1, 7, 1, 2), example, torch.tensor([[[2, 0]]]), {})
        check_loss(student, torch.zeros(1, 7, 1, 2), example, torch.tensor([[[2, 0]]]),
                   {"lambda_coord": 1.0, "lambda_noobj": 1.0})
    for round_ in range(7):
        n, classes, rows, cols = draw.int(1, 4), draw.int(1, 5), draw.int(1, 7), draw.int(1, 7)
        dtype = draw.choice(DTYPES)
        density = {0: 0.0, 1: 1.0}.get(round_, draw.uniform(0.1, 0.5))
        scale = 150.0 if round_ in (2, 3) else 2.0
        options = {} if draw.int(0, 2) == 0 else {"lambda_coord": round(draw.uniform(0.5, 10), 2),
                                                  "lambda_noobj": round(draw.uniform(0.05, 1), 2)}
        z, targets, owners = random_batch(draw, n, classes, rows, cols, dtype, density, scale)
        with case("random outputs", N=n, C=classes, grid=(rows, cols), dtype=dtype, objects=int((owners > 0).sum()),
                  logits=f"up to about {3 * scale:g}", **options):
            check_loss(student, z, targets, owners, options)
