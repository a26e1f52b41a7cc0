"""Architectures of the course's own checkpoints: ResNets from torchvision's blocks, MLP encoders/decoders and GANs."""
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


def mlp(sizes: Sequence[int], activation: Callable[[], nn.Module] = nn.ReLU, batch_norm: bool = False) -> nn.Sequential:
    """Linear layers `sizes[0] → sizes[1] → … → sizes[-1]` with `activation` between them (none after the last),
    and with `batch_norm` a BatchNorm1d before each activation."""
    layers: list[nn.Module] = []
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        if index:
            layers += [nn.BatchNorm1d(n_in)] if batch_norm else []
            layers.append(activation())
        layers.append(nn.Linear(n_in, n_out))
    return nn.Sequential(*layers)


def mlp_autoencoder(latent_dim: int = 16, hidden: Sequence[int] = (512, 256), pixels: int = 28 * 28,
                    variational: bool = True) -> nn.ModuleDict:
    """An MLP `encoder` (flattened image → code) and `decoder` (code → one logit per pixel), with no forward.

    A variational encoder outputs `2 * latent_dim` numbers: the means μ, then the log-variances log σ². How the
    code is sampled and what the loss is are up to the notebook that trains it (Lecture 11 writes both).
    """
    out = 2 * latent_dim if variational else latent_dim
    return nn.ModuleDict({"encoder": nn.Sequential(nn.Flatten(), mlp([pixels, *hidden, out])),
                          "decoder": mlp([latent_dim, *reversed(hidden), pixels])})


def mlp_gan(latent_dim: int = 64, hidden: Sequence[int] = (256, 512), pixels: int = 28 * 28) -> nn.ModuleDict:
    """An MLP `generator` (noise → one logit per pixel) and `discriminator` (flattened image → one logit).

    Both use LeakyReLU(0.2) and the generator BatchNorm, as in DCGAN; the discriminator mirrors the generator's
    widths. Sample from the generator in eval mode (BatchNorm's running statistics).
    """
    def leaky() -> nn.Module:
        return nn.LeakyReLU(0.2)
    return nn.ModuleDict({"generator": mlp([latent_dim, *hidden, pixels], leaky, batch_norm=True),
                          "discriminator": nn.Sequential(nn.Flatten(), mlp([pixels, *reversed(hidden), 1], leaky))})


# Architecture names used in course_utils/checkpoints/manifest.json. Add a builder here to register a new kind.
ARCHITECTURES: dict[str, Callable[..., nn.Module]] = {
    "small_resnet": small_resnet,
    "mlp_autoencoder": mlp_autoencoder,
    "mlp_gan": mlp_gan,
}
