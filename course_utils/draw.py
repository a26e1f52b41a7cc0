"""Pictures of segmentation and detection results: masks and boxes drawn over images with torchvision.utils."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import torch
from matplotlib.patches import Patch
from torch.nn import functional as F
from torchvision.utils import draw_bounding_boxes, draw_segmentation_masks

Color = tuple[int, int, int]


def class_colors(num_classes: int) -> list[Color]:
    """One RGB colour per class (index 0, the background, is black); class c always gets the same colour."""
    palette = plt.get_cmap("tab10" if num_classes <= 11 else "tab20")
    return [(0, 0, 0)] + [tuple(int(255 * v) for v in palette(c % palette.N)[:3]) for c in range(num_classes - 1)]


def _rgb(image: torch.Tensor) -> torch.Tensor:
    """(1 or 3, H, W) or (H, W) image, float in [0, 1] or uint8, as uint8 (3, H, W) on the CPU."""
    image = image.detach().cpu()
    image = image[None] if image.dim() == 2 else image
    if image.dtype != torch.uint8:
        image = (image.float().clamp(0, 1) * 255).round().to(torch.uint8)
    return image.expand(3, -1, -1).contiguous()


def draw_scene(image: torch.Tensor, target: Mapping[str, torch.Tensor] | None = None, *,
               semantic: torch.Tensor | None = None, class_names: Sequence[str] | None = None,
               num_classes: int | None = None, scale: int = 4, alpha: float = 0.45, masks: bool = True,
               boxes: bool = True) -> torch.Tensor:
    """The image with its annotations, as uint8 (3, scale*H, scale*W) ready for `plt.imshow(x.permute(1, 2, 0))`.

    `semantic` (H, W) class map: each class's pixels tinted in its colour. `target`: a torchvision-style dict;
    its instance `masks` (K, H, W) are tinted by their label's colour (unless `semantic` is given or
    `masks=False`) and its `boxes` (XYXY) outlined and captioned with the class name and, if present, the
    `scores`. The picture is enlarged `scale` times (nearest) before boxes are drawn, so text stays legible.
    """
    target = target or {}
    labels = target.get("labels")
    count = num_classes or (len(class_names) if class_names else None)
    if count is None:
        seen = [t.max().item() + 1 for t in (semantic, labels) if t is not None and t.numel()]
        count = int(max(seen, default=1))
    colors = class_colors(count)
    picture = _rgb(image)
    if semantic is not None:
        per_class = semantic.detach().cpu() == torch.arange(1, count)[:, None, None]
        picture = draw_segmentation_masks(picture, per_class, alpha=alpha, colors=colors[1:])
    elif masks and target.get("masks") is not None and len(target["masks"]):
        picture = draw_segmentation_masks(picture, target["masks"].detach().cpu().bool(), alpha=alpha,
                                          colors=[colors[int(c)] for c in labels])
    picture = F.interpolate(picture[None], scale_factor=scale, mode="nearest")[0]
    if boxes and target.get("boxes") is not None and len(target["boxes"]):
        names = [class_names[int(c)] if class_names else str(int(c)) for c in labels]
        if target.get("scores") is not None:
            names = [f"{name} {float(s):.2f}" for name, s in zip(names, target["scores"])]
        picture = draw_bounding_boxes(picture, target["boxes"].detach().cpu().float() * scale, labels=names,
                                      colors=[colors[int(c)] for c in labels], width=2)
    return picture


def show_scenes(images: torch.Tensor, targets: Sequence[Mapping[str, torch.Tensor]] | None = None, *,
                semantic: torch.Tensor | None = None, class_names: Sequence[str] | None = None,
                titles: Sequence[str] | None = None, ncols: int = 4, size: float = 2.4, **draw_options) -> plt.Figure:
    """A grid of `draw_scene` pictures of (N, C, H, W) images, with a colour legend when `class_names` is given."""
    nrows = -(-len(images) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.4 * bool(class_names)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < len(images):
            picture = draw_scene(images[i], targets[i] if targets is not None else None,
                                 semantic=semantic[i] if semantic is not None else None, class_names=class_names,
                                 **draw_options)
            ax.imshow(picture.permute(1, 2, 0).numpy())
            if titles is not None:
                ax.set_title(titles[i], fontsize=9)
    if class_names:
        colors = class_colors(len(class_names))
        handles = [Patch(color=[v / 255 for v in colors[c]], label=name) for c, name in enumerate(class_names) if c]
        fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 10), frameon=False, fontsize=8)
    fig.tight_layout(rect=(0, 0.06 if class_names else 0, 1, 1))
    return fig
