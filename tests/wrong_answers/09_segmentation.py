"""Assignment 09: bilinear upsampling with one align_corners convention for both flags, a transposed convolution
that forgets output_padding, a Dice loss without smoothing, an IoU that counts absent classes as 0, and a
segmenter that is never trained."""

WRONG_ANSWERS = {
    'upsample': """def upsample(x, scale, mode="nearest", align_corners=False):
    s_h, s_w = (scale, scale) if isinstance(scale, int) else scale

    def along(t, dim, s):
        n = t.shape[dim]
        i = torch.arange(n * s, dtype=torch.float64)
        if mode == "nearest":
            return t.index_select(dim, (i // s).long())
        u = i * (n - 1) / (n * s - 1) if n * s > 1 else torch.zeros_like(i)
        low = u.floor().long().clamp(max=n - 1)
        high = (low + 1).clamp(max=n - 1)
        shape = [1] * t.dim()
        shape[dim] = -1
        lam = (u - low).to(t.dtype).view(shape)
        return t.index_select(dim, low) * (1 - lam) + t.index_select(dim, high) * lam

    return along(along(x, 2, s_h), 3, s_w)
""",
    'conv_t': """def conv_transpose2d(x, weight, bias=None, stride=1, padding=0, output_padding=0):
    n, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    spread = x.new_zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    spread[:, :, ::stride, ::stride] = x
    spread = F.pad(spread, [kw - 1 - padding, kw - 1 - padding, kh - 1 - padding, kh - 1 - padding])
    return F.conv2d(spread, weight.flip(-2, -1).transpose(0, 1), bias)
""",
    'dice': """def dice_loss(scores, target, smooth=1.0):
    p = scores.softmax(dim=1)
    g = F.one_hot(target, scores.shape[1]).permute(0, 3, 1, 2).to(scores.dtype)
    dice = 2 * (p * g).sum((2, 3)) / (p.sum((2, 3)) + g.sum((2, 3)))
    return 1 - dice.mean()
""",
    'iou': """def iou_per_class(predicted, target, num_classes, ignore_index=None):
    keep = torch.ones_like(target, dtype=torch.bool) if ignore_index is None else target != ignore_index
    p, t = predicted[keep], target[keep]
    values = []
    for c in range(num_classes):
        inter = ((p == c) & (t == c)).sum().item()
        union = ((p == c) | (t == c)).sum().item()
        values.append(inter / max(union, 1))
    return torch.tensor(values, dtype=torch.float64)


def mean_iou(predicted, target, num_classes, ignore_index=None):
    return iou_per_class(predicted, target, num_classes, ignore_index).mean().item()
""",
    'segmenter': """def train_segmenter(seed):
    seed_everything(seed)
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 5, 1)).to(device)
""",
}
# What the judge's feedback must name for each of them (test cell grade id -> the mistake it reports).
MISTAKES = {
    "test_upsample": "the other align_corners convention is used (the flag is swapped or ignored)",
    "test_conv_t": "output_padding is ignored (the extra rows and columns at the bottom and right are missing)",
    "test_dice": "the smoothing constant is left out (a class absent from an image and its prediction gives 0/0)",
    "test_iou": "a class absent from prediction and target gets IoU 0 (and counts in the mean) instead of nan",
}
