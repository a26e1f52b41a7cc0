"""Assignment 10: IoU with the +1 pixel convention of the VOC devkit, NMS that visits the boxes in index order
instead of by score, AP without the precision envelope, and a loss whose box terms cover every cell. The grid
encoding is left correct, so the submission keeps some points."""

WRONG_ANSWERS = {
    'iou': """def box_iou_cxcywh(a, b, generalized=False):
    ax0, ay0, ax1, ay1 = a[:, 0] - a[:, 2] / 2, a[:, 1] - a[:, 3] / 2, a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2
    bx0, by0, bx1, by1 = b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    iw = (torch.min(ax1[:, None], bx1[None]) - torch.max(ax0[:, None], bx0[None]) + 1).clamp(min=0)
    ih = (torch.min(ay1[:, None], by1[None]) - torch.max(ay0[:, None], by0[None]) + 1).clamp(min=0)
    inter = iw * ih
    area_a = (ax1 - ax0 + 1) * (ay1 - ay0 + 1)
    area_b = (bx1 - bx0 + 1) * (by1 - by0 + 1)
    union = area_a[:, None] + area_b[None] - inter
    iou = inter / union
    if not generalized:
        return iou
    cw = torch.max(ax1[:, None], bx1[None]) - torch.min(ax0[:, None], bx0[None]) + 1
    ch = torch.max(ay1[:, None], by1[None]) - torch.min(ay0[:, None], by0[None]) + 1
    return iou - (cw * ch - union) / (cw * ch)
""",
    'nms': """def nms(boxes, scores, iou_threshold):
    keep = []
    alive = torch.ones(len(boxes), dtype=torch.bool)
    for i in range(len(boxes)):
        if not alive[i]:
            continue
        keep.append(i)
        x0 = torch.max(boxes[i, 0], boxes[:, 0])
        y0 = torch.max(boxes[i, 1], boxes[:, 1])
        x1 = torch.min(boxes[i, 2], boxes[:, 2])
        y1 = torch.min(boxes[i, 3], boxes[:, 3])
        inter = (x1 - x0).clamp(min=0) * (y1 - y0).clamp(min=0)
        areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
        union = areas + areas[i] - inter
        iou = torch.where(union > 0, inter / union, torch.zeros_like(union))
        alive &= iou <= iou_threshold
        alive[: i + 1] = False
    return torch.tensor(keep, dtype=torch.int64)


def batched_nms(boxes, scores, labels, iou_threshold):
    keep = []
    for c in labels.unique():
        idx = torch.where(labels == c)[0]
        keep.append(idx[nms(boxes[idx], scores[idx], iou_threshold)])
    keep = torch.cat(keep) if keep else torch.zeros(0, dtype=torch.int64)
    keep = keep.sort().values
    return keep[scores[keep].sort(descending=True, stable=True).indices]
""",
    'ap': """def coco_average_precision(detections, truths, iou_threshold=0.5):
    n_true = sum(len(t) for t in truths)
    if n_true == 0:
        return float("nan")
    items = []
    for img, (boxes, scores) in enumerate(detections):
        for k in range(len(scores)):
            items.append((float(scores[k]), img, k))
    if not items:
        return 0.0
    items.sort(key=lambda t: -t[0])
    used = [torch.zeros(len(t), dtype=torch.bool) for t in truths]
    tp = 0
    precision, hits = [], []
    for j, (_, img, k) in enumerate(items):
        if len(truths[img]):
            ious = ops.box_iou(detections[img][0][k:k + 1], truths[img])[0]
            ious[used[img]] = -1
            best = int(ious.argmax())
            if ious[best] >= iou_threshold:
                used[img][best] = True
                tp += 1
        precision.append(tp / (j + 1))
        hits.append(tp)
    total = 0.0
    for level in range(101):
        for j in range(len(hits)):
            if 100 * hits[j] >= level * n_true:
                total += precision[j]
                break
    return total / 101
""",
    'loss': """def grid_loss(z, box_targets, cell_labels, lambda_coord=5.0, lambda_noobj=0.5):
    obj = (cell_labels > 0).to(z.dtype)
    bce = F.binary_cross_entropy_with_logits(z[:, 0], obj, reduction="none")
    conf = (bce * obj).sum() + lambda_noobj * (bce * (1 - obj)).sum()
    xy = ((torch.sigmoid(z[:, 1:3]) - box_targets[:, :2]) ** 2).sum()
    wh = ((z[:, 3:5] - box_targets[:, 2:]) ** 2).sum()
    mask = cell_labels > 0
    logits = z[:, 5:].permute(0, 2, 3, 1)[mask]
    cls = F.cross_entropy(logits, cell_labels[mask] - 1, reduction="sum")
    return (conf + lambda_coord * (xy + wh) + cls) / z.shape[0]
""",
}

MISTAKES = {
    "test_iou": "the widths and heights get the +1 of the old Pascal VOC devkit (for corners stored as pixel indices)",
    "test_nms": "the boxes are visited in index order instead of by decreasing score",
    "test_ap": ("the precision at a recall level is the one of the first detection that reaches it, not the best "
                "precision at that recall or beyond (no envelope)"),
    "test_loss": "the box terms are summed over every cell, not only the cells that hold an object",
}
