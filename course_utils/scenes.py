"""Generated multi-object scenes built from real MNIST / Fashion-MNIST images, for segmentation and detection.

A scene is a square grey canvas with a few glyphs (digits or clothes) pasted at random sizes and positions,
possibly overlapping, optionally over background clutter (fragments of other glyphs) and noise. Every
scene comes with its per-pixel and per-object ground truth, in the formats torchvision uses, so that
`torchvision.transforms.v2`, `torchvision.ops` and torchvision's detection models take them unchanged.

Formats (N scenes of H x W pixels, M objects in all):

- `images`    float32 (N, 1, H, W) in [0, 1];
- `semantic`  int64 (N, H, W): the class of every pixel, 0 = background, c >= 1 = `class_names[c]`;
- `instances` uint8 (N, H, W): 0 = background, k = the scene's k-th object (1-based, in drawing order);
- `boxes`     float32 (M, 4), XYXY `(x_tl, y_tl, x_br, y_br)` in pixel-edge coordinates: the first column
  and row of the object's pixels and one past the last, so that `x_br - x_tl` is the width in pixels (as
  COCO, and as the v2 transforms assume: a horizontal flip maps x to W - x). `torchvision.ops.masks_to_boxes`
  returns the last column itself, i.e. our boxes are its result + (0, 0, 1, 1);
- `labels`    int64 (M,), in 1 .. C (0 is background, as in torchvision's detection models);
- scene i owns objects `offsets[i]:offsets[i + 1]`, in drawing order (`scene_index` gives every object's
  scene, for vectorised work over all boxes). `scenes[i]` is the pair
  (`tv_tensors.Image`, target) where target is the dict torchvision's detection models take: `boxes`
  (`tv_tensors.BoundingBoxes`), `labels` and `masks` (`tv_tensors.Mask`, bool (K, H, W)). For segmentation
  use the tensors `images` and `semantic` directly (wrap them in `tv_tensors.Image`/`Mask` for v2 transforms).

Rules:

- **Object pixels** are the pasted glyph's pixels whose intensity (after bilinear resizing, in [0, 1]) is at
  least `threshold`: by default 0.5 for MNIST's digits (their strokes without the anti-aliased fringe) and
  0.1 for Fashion-MNIST, whose clothes are filled shapes, often dark. The image shows the glyph's
  intensity there and the background everywhere else: black, unless `clutter` or `noise` are asked for
  (noise is added to every pixel). Without them, the image's pixels >= `threshold` are exactly the masks.
- **Overlaps**: objects are drawn in order and a later object hides earlier ones wherever its pixels are.
  Masks, semantic map and boxes describe what is *visible* (a box is tight around the object's visible
  pixels, as in COCO). An object left with less than `min_visible` of its own pixels visible (default
  one half; an invisible one always) is removed from the scene, image included, so that every glyph
  pixel belongs to exactly one labelled object. Removing an object only uncovers others, so the rule
  holds for every object that stays.
- The same arguments and `seed` give the same scenes; `train=False` draws glyphs from the test split,
  for held-out scenes that share no glyph with the training scenes.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch.nn import functional as F
from torch.utils.data import Dataset
from torchvision import tv_tensors

from .data import load_fashion_mnist, load_mnist

SOURCES = {"mnist": load_mnist, "fashion": load_fashion_mnist}
DEFAULT_THRESHOLD = {"mnist": 0.5, "fashion": 0.1}
_ELEMENTS_PER_CHUNK = 1 << 22  # scenes are rendered in chunks of about this many object-window pixels


@functools.lru_cache(maxsize=4)
def _glyph_source(source: str, train: bool) -> tuple[torch.Tensor, torch.Tensor, tuple[str, ...]]:
    """The source dataset's images (uint8 (N, 28, 28)), labels and class names, loaded once per process."""
    dataset = SOURCES[source](train=train)
    names = tuple(name.split(" - ")[0] for name in dataset.classes)  # MNIST's "0 - zero" -> "0"
    return dataset.data, dataset.targets, names


@dataclass(repr=False, eq=False)
class Scenes(Dataset):
    """A set of generated scenes held in memory (see the module docstring for every format)."""

    images: torch.Tensor
    semantic: torch.Tensor
    instances: torch.Tensor
    boxes: torch.Tensor
    labels: torch.Tensor
    offsets: torch.Tensor
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        height, width = self.canvas_size
        return (f"Scenes({len(self)} scenes of {height}x{width} px, {len(self.boxes)} objects, "
                f"classes {list(self.class_names[1:])})")

    @property
    def num_classes(self) -> int:
        """Number of classes including the background (the size of a segmentation net's output)."""
        return len(self.class_names)

    @property
    def canvas_size(self) -> tuple[int, int]:
        return tuple(self.images.shape[-2:])

    @property
    def scene_index(self) -> torch.Tensor:
        """int64 (M,): the scene that each row of `boxes` and `labels` belongs to."""
        return torch.repeat_interleave(torch.arange(len(self)), torch.diff(self.offsets))

    def objects(self, i: int) -> slice:
        """The rows of `boxes` and `labels` that belong to scene i."""
        return slice(int(self.offsets[i]), int(self.offsets[i + 1]))

    def instance_masks(self, i: int) -> torch.Tensor:
        """bool (K, H, W): one mask per object of scene i, in the order of its boxes."""
        count = self.offsets[i + 1] - self.offsets[i]
        return self.instances[i] == torch.arange(1, int(count) + 1, dtype=self.instances.dtype)[:, None, None]

    def target(self, i: int) -> dict[str, torch.Tensor]:
        """Scene i's objects as torchvision's detection models take them: boxes, labels, instance masks."""
        rows = self.objects(i)
        return {
            "boxes": tv_tensors.BoundingBoxes(self.boxes[rows].clone(), format="XYXY", canvas_size=self.canvas_size),
            "labels": self.labels[rows].clone(),
            "masks": tv_tensors.Mask(self.instance_masks(i)),
        }

    def targets(self, indices: Sequence[int] | None = None) -> list[dict[str, torch.Tensor]]:
        """`target(i)` for each index (all scenes by default)."""
        return [self.target(int(i)) for i in (range(len(self)) if indices is None else indices)]

    def __getitem__(self, i: int) -> tuple[tv_tensors.Image, dict[str, torch.Tensor]]:
        return tv_tensors.Image(self.images[i].clone()), self.target(i)


def _sample(glyphs: torch.Tensor, side: torch.Tensor, left: torch.Tensor, top: torch.Tensor,
            origin_x: torch.Tensor, origin_y: torch.Tensor, window: int) -> torch.Tensor:
    """Bilinear samples of (M, 28, 28) uint8 glyphs, each scaled to a `side`-pixel frame at (`left`, `top`) of
    the canvas, taken on the `window` x `window` canvas pixels from (`origin_x`, `origin_y`): (M, window, window)
    floats in [0, 1], zero outside the frame."""
    steps = torch.arange(window) + 0.5
    scale = side[:, None].float()
    grid_x = 2 * (origin_x - left)[:, None] / scale + 2 * steps / scale - 1  # pixel centre -> [-1, 1] over the frame
    grid_y = 2 * (origin_y - top)[:, None] / scale + 2 * steps / scale - 1
    grid = torch.stack(torch.broadcast_tensors(grid_x[:, None, :], grid_y[:, :, None]), dim=-1)
    samples = F.grid_sample(glyphs[:, None].float().div_(255), grid, mode="bilinear", padding_mode="zeros",
                            align_corners=False)
    return samples[:, 0]


@dataclass
class _Draws:
    """Every random choice of a set of scenes, drawn up front so that the result does not depend on chunking.

    Objects (and clutter fragments) are listed scene after scene, in drawing order."""

    scene: torch.Tensor  # (M,) the scene each object belongs to
    order: torch.Tensor  # (M,) its place in the scene's drawing order, from 0
    glyph: torch.Tensor  # (M,) index into the glyph pool
    side: torch.Tensor   # (M,) pasted size of the 28x28 glyph frame, pixels
    left: torch.Tensor   # (M,) the frame's top-left corner on the canvas
    top: torch.Tensor
    clutter: dict[str, torch.Tensor]  # the same for fragments, plus each fragment's window x, y and size


def _frames(count: int, object_size: tuple[int, int], size: int, g: torch.Generator) -> dict[str, torch.Tensor]:
    side = torch.randint(object_size[0], object_size[1] + 1, (count,), generator=g)
    room = (size - side + 1).float()
    left = (torch.rand(count, generator=g) * room).long()
    top = (torch.rand(count, generator=g) * room).long()
    return {"side": side, "left": left, "top": top}


def _draw(n: int, size: int, pool: int, everything: int, objects: tuple[int, int], object_size: tuple[int, int],
          clutter: int, g: torch.Generator) -> _Draws:
    counts = torch.randint(objects[0], objects[1] + 1, (n,), generator=g)
    scene = torch.repeat_interleave(torch.arange(n), counts)
    starts = torch.cumsum(counts, 0) - counts
    order = torch.arange(len(scene)) - starts[scene]
    glyph = torch.randint(0, pool, (len(scene),), generator=g)
    frames = _frames(len(scene), object_size, size, g)

    fragments = {"scene": torch.arange(n).repeat_interleave(clutter),
                 "glyph": torch.randint(0, everything, (n * clutter,), generator=g),
                 **_frames(n * clutter, object_size, size, g)}
    width = (fragments["side"] * (0.25 + 0.2 * torch.rand(n * clutter, generator=g))).long().clamp(min=2)
    slack = (fragments["side"] - width + 1).float()
    fragments["x"] = fragments["left"] + (torch.rand(n * clutter, generator=g) * slack).long()
    fragments["y"] = fragments["top"] + (torch.rand(n * clutter, generator=g) * slack).long()
    fragments["width"] = width
    return _Draws(scene, order, glyph, frames["side"], frames["left"], frames["top"], fragments)


@dataclass
class _Canvases:
    """The outputs being filled in, chunk by chunk: images, semantic and instance maps of all scenes."""

    images: torch.Tensor
    semantic: torch.Tensor
    instances: torch.Tensor


def _topmost_pixels(obj: torch.Tensor, index: torch.Tensor, order: torch.Tensor, numel: int) -> torch.Tensor:
    """For ink pixels (object `obj[p]` at flat canvas position `index[p]`): whether no later object covers them."""
    order = order.to(torch.int16)[obj]
    top = torch.full((numel,), -1, dtype=torch.int16)
    return top.scatter_reduce_(0, index, order, "amax")[index] == order


def _paint_background(fragments: dict[str, torch.Tensor], glyphs: torch.Tensor, first_scene: int,
                      images: torch.Tensor) -> None:
    """Draw the fragments into the flat canvases `images`: each pixel keeps the brightest fragment there."""
    if len(fragments["scene"]) == 0:
        return
    size, window = images.shape[-1], int(fragments["width"].max())
    samples = _sample(glyphs[fragments["glyph"]], fragments["side"], fragments["left"], fragments["top"],
                      fragments["x"], fragments["y"], window)
    inside = torch.arange(window) < fragments["width"][:, None]
    part, row, column = (inside[:, :, None] & inside[:, None, :] & (samples > 0)).nonzero(as_tuple=True)
    y, x = fragments["y"][part] + row, fragments["x"][part] + column
    index = ((fragments["scene"][part] - first_scene) * size + y) * size + x
    images.view(-1).scatter_reduce_(0, index, samples[part, row, column], "amax")


def _render(draws: _Draws, objects: slice, first_scene: int, scenes: int, glyphs: torch.Tensor,
            labels: torch.Tensor, canvases: _Canvases, window: int, threshold: float,
            min_visible: float) -> dict[str, torch.Tensor]:
    """Composite the objects of `scenes` consecutive scenes into `canvases` (which hold their backgrounds) by the
    module's rules; return the boxes, labels and scene of every object kept."""
    size = canvases.images.shape[-1]
    scene, order = draws.scene[objects] - first_scene, draws.order[objects]
    left, top = draws.left[objects], draws.top[objects]
    alpha = _sample(glyphs[draws.glyph[objects]], draws.side[objects], left, top, left, top, window)
    obj, row, column = (alpha >= threshold).nonzero(as_tuple=True)  # zero outside the frame, which is on the canvas
    x, y = left[obj] + column, top[obj] + row
    index = (scene[obj] * size + y) * size + x  # ink pixels as one list, each with its flat canvas position
    numel = scenes * size * size

    visible = _topmost_pixels(obj, index, order, numel)
    own = torch.bincount(obj, minlength=len(scene))
    keep = (own > 0) & (torch.bincount(obj[visible], minlength=len(scene)) >= min_visible * own)
    kept = keep[obj]
    obj, index, x, y, value = obj[kept], index[kept], x[kept], y[kept], alpha[obj, row, column][kept]
    visible = _topmost_pixels(obj, index, order, numel)
    obj, index, x, y, value = obj[visible], index[visible], x[visible], y[visible], value[visible]

    kept_before = torch.cumsum(keep, 0) - keep.long()
    first_of_scene = torch.searchsorted(scene, torch.arange(scenes))
    instance_id = kept_before - kept_before[first_of_scene][scene] + 1  # 1, 2, ... among the scene's kept objects
    object_labels = labels[draws.glyph[objects]]
    rows = slice(first_scene, first_scene + scenes)
    canvases.images[rows].view(-1)[index] = value
    canvases.semantic[rows].view(-1)[index] = object_labels[obj]
    canvases.instances[rows].view(-1)[index] = instance_id[obj].to(torch.uint8)

    boxes = torch.zeros(len(scene), 4, dtype=torch.int64)
    for side, coordinate, reduce in [(0, x, "amin"), (1, y, "amin"), (2, x + 1, "amax"), (3, y + 1, "amax")]:
        boxes[:, side].scatter_reduce_(0, obj, coordinate, reduce, include_self=False)
    return {"boxes": boxes[keep].float(), "labels": object_labels[keep], "scene": scene[keep] + first_scene}


@dataclass
class _Plan:
    """What a set of scenes is made of: the glyphs to draw from and every random choice."""

    glyphs: torch.Tensor      # (P, 28, 28) uint8: the pool that objects come from (the chosen classes)
    labels: torch.Tensor      # (P,) their labels, 1 .. C
    everything: torch.Tensor  # (S, 28, 28) uint8: the whole split, which clutter comes from
    draws: _Draws
    class_names: tuple[str, ...]


def _plan(n: int, size: int, source: str, classes: Sequence[int] | None, objects: tuple[int, int],
          object_size: tuple[int, int], clutter: int, train: bool, g: torch.Generator) -> _Plan:
    everything, source_labels, source_names = _glyph_source(source, train)
    chosen = list(range(len(source_names))) if classes is None else [int(c) for c in classes]
    pool = torch.isin(source_labels, torch.tensor(chosen)).nonzero().flatten()
    label_of = torch.zeros(len(source_names), dtype=torch.int64)
    label_of[chosen] = torch.arange(1, len(chosen) + 1)
    draws = _draw(n, size, len(pool), len(everything), objects, object_size, clutter, g)
    return _Plan(everything[pool], label_of[source_labels[pool]], everything, draws,
                 ("background", *(source_names[c] for c in chosen)))


def make_scenes(n: int, size: int = 64, *, source: str = "mnist", classes: Sequence[int] | None = None,
                objects: tuple[int, int] = (1, 4), object_size: tuple[int, int] = (20, 36),
                threshold: float | None = None, min_visible: float = 0.5, clutter: int = 0, noise: float = 0.0,
                train: bool = True, seed: int = 0) -> Scenes:
    """`n` scenes of `size` x `size` pixels, each with between `objects[0]` and `objects[1]` glyphs drawn.

    `source` is "mnist" or "fashion"; `classes` picks source classes (e.g. digits `[0, 1, 7]`), which
    become labels 1, 2, 3 in that order (default: all ten, label = source class + 1). Each glyph's 28x28
    frame is scaled to a side drawn from `object_size` (pixels, inclusive) and placed wholly inside the
    canvas. `clutter` fragments of random glyphs (any class) per scene are drawn as background under the
    objects, then Gaussian noise of standard deviation `noise` is added (clipped to [0, 1]). `threshold`
    (object pixels), overlaps, `min_visible` and boxes: see the module docstring. Objects that break the
    `min_visible` rule are removed, so a scene may hold fewer objects than were drawn.
    """
    if source not in SOURCES:
        raise ValueError(f"source must be one of {sorted(SOURCES)}, not {source!r}.")
    threshold = DEFAULT_THRESHOLD[source] if threshold is None else threshold
    if not (0 < objects[0] <= objects[1] and 1 <= object_size[0] <= object_size[1] <= size and 0 < threshold <= 1):
        raise ValueError(f"Need 0 < objects[0] <= objects[1], 1 <= object_size[0] <= object_size[1] <= size and "
                         f"0 < threshold <= 1 (got objects={objects}, object_size={object_size}, size={size}, "
                         f"threshold={threshold}).")
    g = torch.Generator().manual_seed(seed)
    plan = _plan(n, size, source, classes, objects, object_size, clutter, train, g)
    draws = plan.draws
    canvases = _Canvases(images=torch.zeros(n, 1, size, size), semantic=torch.zeros(n, size, size, dtype=torch.int64),
                         instances=torch.zeros(n, size, size, dtype=torch.uint8))
    window = object_size[1]
    chunk = max(1, _ELEMENTS_PER_CHUNK // (max(objects[1], clutter) * window * window))
    found = []
    for first in range(0, n, chunk):  # chunks of scenes bound the memory; every random draw is already made
        scenes = min(chunk, n - first)
        objects_in = slice(*torch.searchsorted(draws.scene, torch.tensor([first, first + scenes])).tolist())
        fragments_in = slice(first * clutter, (first + scenes) * clutter)
        _paint_background({k: v[fragments_in] for k, v in draws.clutter.items()}, plan.everything, first,
                          canvases.images[first:first + scenes])
        found.append(_render(draws, objects_in, first, scenes, plan.glyphs, plan.labels, canvases, window,
                             threshold, min_visible))
    out = {key: torch.cat([part[key] for part in found]) for key in found[0]}

    images = canvases.images
    if noise > 0:
        images = images.add_(noise * torch.randn(images.shape, generator=g)).clamp_(0, 1)
    offsets = torch.cat([torch.zeros(1, dtype=torch.int64), torch.bincount(out["scene"], minlength=n).cumsum(0)])
    return Scenes(images=images, semantic=canvases.semantic, instances=canvases.instances, boxes=out["boxes"],
                  labels=out["labels"], offsets=offsets, class_names=plan.class_names)
