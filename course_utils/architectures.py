"""Architectures of the course's own checkpoints, assembled from torchvision's building blocks."""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

from torch import nn
from torchvision.models.resnet import BasicBlock, conv1x1


def _stage(in_channels: int, width: int, blocks: int, stride: int) -> nn.Sequential:
    """`blocks` torchvision BasicBlocks; the first changes width/resolution with a 1×1 projection, as in ResNet."""
    downsample = None
    if stride != 1 or in_channels != width:
        downsample = nn.Sequential(conv1x1(in_channels, width, stride), nn.BatchNorm2d(width))
    layers = [BasicBlock(in_channels, width, stride, downsample)]
    layers += [BasicBlock(width, width) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def small_resnet(num_classes: int = 10, widths: Sequence[int] = (16, 32, 64), blocks: int = 1,
                 in_channels: int = 1) -> nn.Sequential:
    """A ResNet for small grey images (28×28): a 3×3 stem and 2×2 max-pooling, one stage per width, global
    average pooling, a linear head.

    Each stage holds `blocks` of torchvision's `BasicBlock`; every stage after the first halves the resolution
    (28 → 14 after the stem, then 14 → 7 → 4 for three stages). The layer names follow torchvision's ResNet
    (`conv1`, `bn1`, `maxpool`, `layer1`, …, `fc`), so code written for `resnet18` (freezing by name, replacing
    `model.fc`) works unchanged, and `model[:-1]` maps images to the pooled features the head sees.
    """
    layers: OrderedDict[str, nn.Module] = OrderedDict(
        conv1=nn.Conv2d(in_channels, widths[0], kernel_size=3, padding=1, bias=False),
        bn1=nn.BatchNorm2d(widths[0]),
        relu=nn.ReLU(inplace=True),
        maxpool=nn.MaxPool2d(2),
    )
    channels = widths[0]
    for index, width in enumerate(widths, start=1):
        layers[f"layer{index}"] = _stage(channels, width, blocks, stride=1 if index == 1 else 2)
        channels = width
    layers["avgpool"] = nn.AdaptiveAvgPool2d(1)
    layers["flatten"] = nn.Flatten()
    layers["fc"] = nn.Linear(channels, num_classes)
    model = nn.Sequential(layers)
    _initialise_like_torchvision(model)
    return model


def _initialise_like_torchvision(model: nn.Module) -> None:
    """He initialisation for convolutions, γ = 1 and β = 0 for BatchNorm (torchvision's ResNet does the same)."""
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)


# Architecture names used in course_utils/checkpoints/manifest.json. Add a builder here to register a new kind.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "small_resnet": small_resnet,
}
