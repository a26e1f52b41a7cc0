"""Generated scenes: ground truth consistent with itself, the image, a plain re-drawing and torchvision."""
from __future__ import annotations

import matplotlib
import pytest
import torch
from torchvision import ops, tv_tensors
from torchvision.transforms import v2

import course_utils.scenes as scenes_module
from course_utils import class_colors, draw_scene, make_scenes, show_scenes

matplotlib.use("Agg")
ONE_PAST_THE_LAST = torch.tensor([0.0, 0.0, 1.0, 1.0])  # masks_to_boxes gives the last pixel; our boxes its far edge


@pytest.fixture(scope="module")
def scenes():
    return make_scenes(60, seed=3)


def test_formats_are_torchvisions(scenes):
    n, (h, w) = len(scenes), scenes.canvas_size
    assert scenes.images.shape == (n, 1, h, w) and scenes.images.dtype == torch.float32
    assert 0 <= scenes.images.min() and scenes.images.max() <= 1
    assert scenes.semantic.shape == (n, h, w) and scenes.semantic.dtype == torch.int64
    assert scenes.instances.shape == (n, h, w) and scenes.instances.dtype == torch.uint8
    assert scenes.offsets[0] == 0 and scenes.offsets[-1] == len(scenes.boxes) == len(scenes.labels)
    assert torch.equal(scenes.scene_index[scenes.objects(7)], torch.full((len(scenes.target(7)["boxes"]),), 7))
    assert scenes.class_names == ("background", *map(str, range(10))) and scenes.num_classes == 11
    image, target = scenes[5]
    assert type(image) is tv_tensors.Image and image.shape == (1, h, w)
    assert set(target) == {"boxes", "labels", "masks"}
    assert type(target["boxes"]) is tv_tensors.BoundingBoxes and target["boxes"].format.name == "XYXY"
    assert target["boxes"].canvas_size == (h, w) and target["labels"].dtype == torch.int64
    assert type(target["masks"]) is tv_tensors.Mask and target["masks"].dtype == torch.bool
    assert len(target["boxes"]) == len(target["labels"]) == len(target["masks"]) >= 1


def test_boxes_are_tight_around_each_instances_pixels(scenes):
    for i in range(len(scenes)):
        target = scenes.target(i)
        assert target["masks"].flatten(1).any(1).all(), "every object kept has visible pixels"
        from_masks = ops.masks_to_boxes(target["masks"]) + ONE_PAST_THE_LAST
        assert torch.equal(from_masks, target["boxes"].as_subclass(torch.Tensor))


def test_semantic_map_is_the_instances_merged_with_their_labels(scenes):
    for i in range(len(scenes)):
        target = scenes.target(i)
        masks, labels = target["masks"], target["labels"]
        assert (masks.sum(0) <= 1).all(), "visible instance masks never overlap"
        merged = (masks * labels[:, None, None]).sum(0)
        assert torch.equal(merged, scenes.semantic[i])
    assert ((scenes.semantic > 0) == (scenes.instances > 0)).all()
    assert 1 <= scenes.labels.min() and scenes.labels.max() <= 10


def test_the_image_shows_ink_exactly_on_object_pixels(scenes):
    threshold = scenes_module.DEFAULT_THRESHOLD["mnist"]
    assert torch.equal(scenes.images[:, 0] >= threshold, scenes.instances > 0)
    assert (scenes.images[:, 0][scenes.instances == 0] == 0).all()


def _reference_instance_maps(n: int, size: int, min_visible: float, seed: int, **options) -> list[torch.Tensor]:
    """The overlap rule drawn the plain way: objects one at a time, later ones on top, then the weak ones removed."""
    plan = scenes_module._plan(n, size, "mnist", None, options["objects"], options["object_size"], 0, True,
                               torch.Generator().manual_seed(seed))
    d = plan.draws
    alpha = scenes_module._sample(plan.glyphs[d.glyph], d.side, d.left, d.top, d.left, d.top, size)
    maps = []
    for scene in range(n):
        members = (d.scene == scene).nonzero().flatten().tolist()
        ink = [torch.zeros(size, size, dtype=torch.bool) for _ in members]
        for k, m in enumerate(members):  # alpha is sampled from the frame's corner: shift it into place
            h, w = size - int(d.top[m]), size - int(d.left[m])
            ink[k][int(d.top[m]):, int(d.left[m]):] = alpha[m, :h, :w] >= 0.5

        def paint(kept, ink=ink):
            canvas = torch.zeros(size, size, dtype=torch.uint8)
            for new_id, k in enumerate(kept, start=1):
                canvas[ink[k]] = new_id
            return canvas

        everyone = paint(range(len(members)))
        kept = [k for k in range(len(members))
                if ink[k].any() and (everyone == k + 1).sum() >= min_visible * ink[k].sum()]
        maps.append(paint(kept))
    return maps


@pytest.mark.parametrize("min_visible", [1e-6, 0.5, 1.0])
def test_overlaps_follow_the_documented_rule(min_visible):
    options = {"objects": (3, 6), "object_size": (24, 40)}  # crowded scenes: many occlusions, some removals
    made = make_scenes(25, 64, min_visible=min_visible, seed=7, **options)
    expected = _reference_instance_maps(25, 64, min_visible, seed=7, **options)
    for i, reference in enumerate(expected):
        assert torch.equal(made.instances[i], reference), f"scene {i}"
        assert made.objects(i).stop - made.objects(i).start == int(reference.max())


def test_stricter_visibility_removes_more_objects():
    crowded = {"objects": (3, 6), "object_size": (24, 40), "seed": 7}
    counts = [len(make_scenes(40, min_visible=m, **crowded).boxes) for m in (1e-6, 0.5, 1.0)]
    assert counts[0] > counts[1] > counts[2] > 0


def test_same_seed_same_scenes_whatever_the_chunk_size(monkeypatch):
    first = make_scenes(30, seed=11, clutter=2, noise=0.1)
    monkeypatch.setattr(scenes_module, "_ELEMENTS_PER_CHUNK", 3000)  # a few scenes per chunk
    again = make_scenes(30, seed=11, clutter=2, noise=0.1)
    for name in ("images", "semantic", "instances", "boxes", "labels", "offsets"):
        assert torch.equal(getattr(first, name), getattr(again, name)), name
    other = make_scenes(30, seed=12, clutter=2, noise=0.1)
    assert not torch.equal(first.semantic, other.semantic)


def test_clutter_and_noise_are_background_only():
    clean = make_scenes(20, seed=5)
    busy = make_scenes(20, seed=5, clutter=4, noise=0.1)
    for name in ("semantic", "instances", "boxes", "labels", "offsets"):
        assert torch.equal(getattr(clean, name), getattr(busy, name)), name
    background = clean.semantic == 0
    assert busy.images[:, 0][background].mean() > 0.02 and clean.images[:, 0][background].max() == 0


def test_chosen_classes_become_labels_one_two_three_in_both_splits():
    picked = make_scenes(40, classes=[7, 0, 3], seed=2)
    assert picked.class_names == ("background", "7", "0", "3")
    assert set(picked.labels.tolist()) == {1, 2, 3} and set(picked.semantic.unique().tolist()) == {0, 1, 2, 3}
    held_out = make_scenes(40, classes=[7, 0, 3], seed=2, train=False)
    assert held_out.class_names == picked.class_names and not torch.equal(held_out.images, picked.images)


def test_fashion_scenes_use_clothes_and_their_own_threshold():
    clothes = make_scenes(10, source="fashion", seed=0)
    assert clothes.class_names[1:4] == ("T-shirt/top", "Trouser", "Pullover")
    assert torch.equal(clothes.images[:, 0] >= scenes_module.DEFAULT_THRESHOLD["fashion"], clothes.instances > 0)


@pytest.mark.parametrize("bad", [{"objects": (0, 2)}, {"objects": (3, 2)}, {"object_size": (20, 80)},
                                 {"threshold": 0.0}, {"source": "cifar"}])
def test_impossible_settings_are_refused(bad):
    with pytest.raises(ValueError):
        make_scenes(2, **bad)


@pytest.mark.parametrize("transform", [v2.RandomHorizontalFlip(p=1.0), v2.RandomVerticalFlip(p=1.0), v2.Resize(128),
                                       v2.Pad(5)])
def test_v2_transforms_keep_boxes_and_masks_consistent(scenes, transform):
    for i in range(0, len(scenes), 7):
        image, target = transform(*scenes[i])
        assert type(image) is tv_tensors.Image and type(target["boxes"]) is tv_tensors.BoundingBoxes
        from_masks = ops.masks_to_boxes(target["masks"]) + ONE_PAST_THE_LAST
        assert torch.equal(from_masks, target["boxes"].as_subclass(torch.Tensor))
        assert torch.equal(target["labels"], scenes.target(i)["labels"])


def test_torchvision_ops_take_the_boxes(scenes):
    boxes = scenes.target(0)["boxes"]
    assert torch.allclose(ops.box_iou(boxes, boxes).diagonal(), torch.ones(len(boxes)))
    widths = ops.box_convert(boxes, "xyxy", "cxcywh")[:, 2]
    assert torch.equal(widths, scenes.target(0)["masks"].any(1).sum(1).float()), "width = number of columns spanned"


def test_draw_scene_tints_classes_and_outlines_boxes():
    semantic = torch.zeros(8, 8, dtype=torch.int64)
    semantic[2, 3] = 2
    picture = draw_scene(torch.zeros(1, 8, 8), semantic=semantic, num_classes=3, alpha=1.0, scale=4)
    assert picture.shape == (3, 32, 32) and picture.dtype == torch.uint8
    assert picture[:, 8:12, 12:16].flatten(1).unique(dim=1).T.tolist() == [list(class_colors(3)[2])]
    assert picture[:, :8].max() == 0
    target = {"boxes": torch.tensor([[1.0, 1.0, 6.0, 6.0]]), "labels": torch.tensor([1]),
              "masks": torch.zeros(1, 8, 8, dtype=torch.bool)}
    boxed = draw_scene(torch.zeros(1, 8, 8), target, num_classes=3, scale=4)
    assert boxed[:, 20, 4].tolist() == list(class_colors(3)[1])  # the left edge of the box, at x = 1 * 4


def test_show_scenes_draws_a_grid_with_a_legend(scenes):
    fig = show_scenes(scenes.images[:6], scenes.targets(range(6)), class_names=scenes.class_names, ncols=4)
    assert len(fig.axes) == 8 and len(fig.legends[0].get_texts()) == 10
