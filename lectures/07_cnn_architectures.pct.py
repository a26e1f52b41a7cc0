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
# # Lecture 07 — CNN architectures
#
# Lecture 04 built a convolutional network from its parts: convolutions, ReLU, pooling, a classifier on top.
# Between 1998 and 2018 a handful of networks turned that recipe into the designs everyone still uses. Each one
# added one idea: depth, small kernels, parallel branches, shortcut connections, feature reuse, cheap
# convolutions. This lecture writes each idea as a small PyTorch module, counts its parameters with a formula
# and checks the count against the module and against `torchvision`, and measures what the ideas change:
# the gradients of deep networks, the cost of a forward pass, and how well a deep network trains.
#
# **Plan**
# 1. How ImageNet models are scored: top-1 and top-5 error, and the ILSVRC results the notes quote.
# 2. LeNet-5 (1998) and AlexNet (2012): shapes flowing through the layers, where the parameters are.
# 3. VGG (2014): only 3×3 convolutions; receptive fields; parameters vs computation.
# 4. Going deeper: vanishing and exploding gradients measured layer by layer, in plain and residual
#    networks, with and without BatchNorm; a widget.
# 5. ResNet (2015): the residual block, the bottleneck block, resnet18 and resnet50 counted by formula.
# 6. GoogLeNet (2014): the Inception module and its 1×1 reductions.
# 7. DenseNet (2017): dense blocks and transitions.
# 8. MobileNet: depthwise-separable convolutions, and why fewer multiply-adds is not the same as faster.
# 9. The torchvision model zoo in one table: parameters, multiply-adds, measured CPU latency, ImageNet error.
# 10. A small ResNet and a plain CNN of the same depth and size, trained on Fashion-MNIST.
#
# In the assignment you will write a residual block with a projection shortcut, a bottleneck block, an
# Inception module and a depthwise-separable convolution yourself.

# %%
import functools
import time
from collections import OrderedDict

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display
from ipywidgets import Dropdown, IntSlider
from torch import nn
from torch.nn import functional as F
from torch.utils.flop_counter import FlopCounterMode
from torchvision import models

from course_utils import (TensorLoader, checkpoint_info, choose_device, explore, fit, image_tensors,
                          load_checkpoint, load_fashion_mnist, seed_everything, show_images)

# The networks we train here are small: on a CPU one thread is faster than splitting each operation across cores
# (much faster when other programs keep the cores busy). The latency table of section 9 is measured with it too.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown]
# Two tools run through the whole lecture. `count_params` adds up a module's parameters. `shape_flow` pushes a
# tensor through the layers of an `nn.Sequential` one at a time and prints the shape after each, written
# height×width×channels as in the papers. Most models are built on PyTorch's **`meta` device**: its tensors
# have shapes but no data, so building VGG's 138 million parameters and tracing shapes through it costs no
# memory and no time.

# %%
def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def hwc(shape: torch.Size) -> str:
    """(N, C, H, W) -> 'H×W×C'; (N, F) -> 'F'."""
    return f"{shape[2]}×{shape[3]}×{shape[1]}" if len(shape) == 4 else str(shape[1])


def meta_model(name: str, **options) -> nn.Module:
    """A torchvision model built on the meta device: shapes and parameter counts, no memory, no time."""
    with torch.device("meta"):
        return models.get_model(name, weights=None, **options).eval()


def shape_flow(model: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """Print each layer's output shape and parameter count; return the output."""
    print(f"{'layer':<10} {'type':<18} {'output':>12} {'parameters':>12}")
    print(f"{'input':<10} {'':<18} {hwc(x.shape):>12}")
    for name, layer in model.named_children():
        x = layer(x)
        print(f"{name:<10} {type(layer).__name__:<18} {hwc(x.shape):>12} {count_params(layer):>12,}")
    print(f"{'total':<10} {'':<18} {'':>12} {count_params(model):>12,}")
    return x


# %% [markdown]
# ## 1. Scoring ImageNet: top-1 and top-5 error
#
# The ImageNet Large Scale Visual Recognition Challenge (ILSVRC, 2010–2017) asked for the class of 100 000
# test photos among 1000 classes. Many photos contain several objects, or a class that is hard to tell from
# a neighbour (there are over a hundred dog breeds), so the main score allowed five guesses:
#
# - **top-1 error**: the fraction of images whose highest-scoring class is not the correct one;
# - **top-5 error**: the fraction of images whose correct class is not among the five highest scores.
#
# Both come from `torch.topk`. Three images, six classes, hand-checkable:

# %%
def topk_error(logits: torch.Tensor, labels: torch.Tensor, k: int) -> float:
    """Fraction of rows whose label is not among the k highest logits."""
    top = logits.topk(k, dim=1).indices
    return 1.0 - (top == labels[:, None]).any(dim=1).float().mean().item()


toy_logits = torch.tensor([[5.0, 1, 0, 0, 0, 0],   # correct class 0 ranked 1st
                           [1.0, 5, 4, 0, 0, 0],   # correct class 2 ranked 2nd
                           [0.0, 1, 2, 3, 4, 5]])  # correct class 0 ranked 6th (last)
toy_labels = torch.tensor([0, 2, 0])
for k in (1, 2, 5):
    print(f"top-{k} error: {topk_error(toy_logits, toy_labels, k):.3f}")
assert [round(topk_error(toy_logits, toy_labels, k), 3) for k in (1, 2, 5)] == [0.667, 0.333, 0.333]

# %% [markdown]
# The winners of the challenge, with the top-5 errors the notes quote (test set, usually an ensemble of several
# networks; the single networks we load from torchvision in section 9 are scored on the validation set, one
# crop per image, so their numbers are higher):
#
# | year | network | top-5 error | what was new |
# |---|---|---|---|
# | 2011 | best entry without a neural network (Fisher vectors) | 25.8 % | hand-designed features | <!-- quoted -->
# | 2012 | AlexNet | 15.3 % | a deep CNN trained on two GPUs, ReLU, dropout | <!-- quoted -->
# | 2014 | VGG (2nd place) | 7.3 % | depth from 3×3 convolutions only | <!-- quoted -->
# | 2014 | GoogLeNet (1st place) | 6.7 % | Inception modules, 1×1 reductions | <!-- quoted -->
# | 2015 | ResNet (1st place) | 3.57 % | residual connections, 152 layers | <!-- quoted -->
# | — | one trained human annotator (Karpathy) | about 5.1 % | | <!-- quoted -->
#
# The notes call GoogLeNet "better than human". It was not: the human estimate is about 5.1 % <!-- quoted -->
# and GoogLeNet's 6.7 %; ResNet was the first winner below it. <!-- quoted -->
#
# ## 2. LeNet-5 and AlexNet
#
# **LeNet-5** (LeCun, Bottou, Bengio and Haffner, 1998) read handwritten digits on bank cheques: a 32×32 input,
# two convolution + subsampling stages, three fully connected layers. Its design (convolutions that extract
# features and shrink the image, then a classifier) is what every network in this lecture still does. We write
# the common modern reading of it: tanh activations, average pooling, full connections between the maps. (The
# original's subsampling layers had a trainable weight and bias per map, its third layer connected each of its
# 16 maps to only some of the 6 input maps, and its output layer was a set of radial basis functions; together
# that gave about 60 000 parameters.)

# %%
lenet5 = nn.Sequential(OrderedDict(
    C1=nn.Conv2d(1, 6, kernel_size=5), tanh1=nn.Tanh(), S2=nn.AvgPool2d(2),
    C3=nn.Conv2d(6, 16, kernel_size=5), tanh3=nn.Tanh(), S4=nn.AvgPool2d(2),
    flatten=nn.Flatten(),
    C5=nn.Linear(16 * 5 * 5, 120), tanh5=nn.Tanh(),
    F6=nn.Linear(120, 84), tanh6=nn.Tanh(),
    output=nn.Linear(84, 10),
))
_ = shape_flow(lenet5, torch.zeros(1, 1, 32, 32))
assert count_params(lenet5) == 61_706

# %% [markdown]
# **AlexNet** (Krizhevsky, Sutskever and Hinton, 2012) is the same plan, scaled to 1000 classes of colour
# photos. Lecture 04 derived its layer sizes from the output-size formula $\lfloor (m - n + 2p)/s \rfloor + 1$.
# Here is the whole network as one module, as the paper describes it. The first convolution, 96 kernels of
# 11×11×3 with stride 4, turns the 227×227×3 image into $\lfloor (227 - 11)/4 \rfloor + 1 = 55$, a 55×55×96
# map. The network was split over **two GPUs** of 3 GB each: half of the kernels lived on each, and layers 2, 4
# and 5 only saw the maps on their own GPU. That is what `groups=2` does: the input channels are split in two
# groups, each convolved by its own half of the kernels, which halves those layers' parameters. Local response
# normalisation (LRN), a competition between neighbouring channels, was replaced by BatchNorm in later networks.

# %%
def alexnet_2012() -> nn.Sequential:
    """AlexNet as in the paper: LRN, overlapping max-pooling, conv2/4/5 split over two GPUs (groups=2)."""
    return nn.Sequential(OrderedDict(
        conv1=nn.Conv2d(3, 96, kernel_size=11, stride=4), relu1=nn.ReLU(),
        lrn1=nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0), pool1=nn.MaxPool2d(3, stride=2),
        conv2=nn.Conv2d(96, 256, kernel_size=5, padding=2, groups=2), relu2=nn.ReLU(),
        lrn2=nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=2.0), pool2=nn.MaxPool2d(3, stride=2),
        conv3=nn.Conv2d(256, 384, kernel_size=3, padding=1), relu3=nn.ReLU(),
        conv4=nn.Conv2d(384, 384, kernel_size=3, padding=1, groups=2), relu4=nn.ReLU(),
        conv5=nn.Conv2d(384, 256, kernel_size=3, padding=1, groups=2), relu5=nn.ReLU(),
        pool5=nn.MaxPool2d(3, stride=2), flatten=nn.Flatten(),
        fc6=nn.Linear(6 * 6 * 256, 4096), relu6=nn.ReLU(), drop6=nn.Dropout(0.5),
        fc7=nn.Linear(4096, 4096), relu7=nn.ReLU(), drop7=nn.Dropout(0.5),
        fc8=nn.Linear(4096, 1000),
    ))


with torch.device("meta"):
    alexnet = alexnet_2012()
    out = shape_flow(alexnet, torch.empty(1, 3, 227, 227))
    side_224 = alexnet.conv1(torch.empty(1, 3, 224, 224)).shape[-1]

fc_share = sum(count_params(getattr(alexnet, n)) for n in ("fc6", "fc7", "fc8")) / count_params(alexnet)
print(f"\nconvolutions: {count_params(alexnet) * (1 - fc_share) / 1e6:.2f} M parameters, fully connected layers: "
      f"{count_params(alexnet) * fc_share / 1e6:.2f} M ({fc_share:.0%})")
print(f"with a 224x224 input (the size the paper's text gives) conv1 would give {side_224}x{side_224}: "
      f"(224 - 11)/4 + 1 = {(224 - 11) / 4 + 1} is not an integer")
print(f"torchvision's alexnet (the 2014 'one weird trick' variant: 64-192-384-256-256 kernels, no LRN, no groups): "
      f"{count_params(meta_model('alexnet')):,} parameters")
assert hwc(alexnet.conv1(torch.empty(1, 3, 227, 227, device="meta")).shape) == "55×55×96"
assert count_params(alexnet) == 60_965_224

# %% [markdown]
# These are the "60 million parameters" of the notes, and most of them sit in the fully connected layers:
# fc6 alone connects all $6 \cdot 6 \cdot 256 = 9216$ numbers of the last map to 4096 units. The ingredients
# that made AlexNet win by a wide margin were only partly architectural: **ReLU** instead of tanh (training
# several times faster), **dropout** in fc6 and fc7, **data augmentation** (random crops, flips and colour changes),
# and two GPUs, which made training on 1.2 million images possible in under a week. <!-- quoted -->
#
# ## 3. VGG: depth from 3×3 convolutions
#
# VGG (Simonyan and Zisserman, 2014) asked what depth alone can do. It uses only 3×3 convolutions with
# stride 1 and padding 1 (which keep the size), 2×2 max-pooling with stride 2 (which halves it), and the same
# three fully connected layers as AlexNet; the versions have 11 to 19 layers with weights.
#
# **Why 3×3?** Two stacked 3×3 convolutions see a 5×5 patch of the input, three see 7×7: the **receptive field**
# of $n$ stacked 3×3 layers is $2n + 1$ pixels wide. With $C$ channels in and out, three 3×3 layers cost
# $3 \cdot 9C^2 = 27C^2$ weights, one 7×7 layer $49C^2$, and the stack applies three nonlinearities instead of one.
# The receptive field can be *measured*: the gradient of one output pixel with respect to the input is non-zero
# exactly on the pixels it depends on.

# %%
def receptive_field(layers: nn.Sequential, size: int = 15) -> int:
    """Width of the input region that the centre output pixel depends on (non-zero gradient)."""
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    out = layers(x)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    columns = x.grad[0, 0].abs().sum(dim=0).nonzero()
    return int(columns.max() - columns.min() + 1)


torch.manual_seed(0)
for n in (1, 2, 3):
    stack = nn.Sequential(*[nn.Conv2d(1, 1, 3, padding=1) for _ in range(n)])
    single = nn.Conv2d(1, 1, 2 * n + 1, padding=n)
    C = 256
    print(f"{n} stacked 3x3: receptive field {receptive_field(stack)}x{receptive_field(stack)}, "
          f"{n * 9 * C * C:>9,} weights at C = {C};  one {2 * n + 1}x{2 * n + 1}: "
          f"receptive field {receptive_field(single)}, {(2 * n + 1) ** 2 * C * C:>9,} weights")
    assert receptive_field(stack) == receptive_field(single) == 2 * n + 1

# %% [markdown]
# The cost of VGG, per version. `FlopCounterMode` from `torch.utils.flop_counter` counts the floating-point
# operations of the convolutions and matrix products in a forward pass; each multiply-add (**MAC**) is two of
# them. It works on the `meta` device too, so counting is free. (BatchNorm, activations and pooling are not
# counted; they are a small fraction of the work.)

# %%
def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Multiply-adds of one forward pass (convolutions and matrix products), counted by FlopCounterMode."""
    device_ = next(model.parameters()).device
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(input_shape, device=device_))
    return counter.get_total_flops() // 2


vgg_params = {}
for name in ("vgg11", "vgg13", "vgg16", "vgg19"):
    vgg = meta_model(name)
    vgg_params[name] = count_params(vgg)
    classifier = count_params(vgg.classifier)
    macs, classifier_macs = count_macs(vgg, (1, 3, 224, 224)), count_macs(vgg.classifier, (1, 25088))
    print(f"{name}: {vgg_params[name] / 1e6:6.1f} M parameters ({classifier / vgg_params[name]:.0%} in the 3 "
          f"fully connected layers), {macs / 1e9:5.2f} G multiply-adds at 224x224 "
          f"({classifier_macs / macs:.1%} in the fully connected layers)")
    assert classifier / vgg_params[name] > 0.85 and classifier_macs / macs < 0.02
assert 130e6 < min(vgg_params.values()) and max(vgg_params.values()) < 145e6

# %% [markdown]
# The 133 to 144 million parameters of the notes, and a striking split: almost all **parameters** are in the <!-- quoted -->
# fully connected layers, while almost all **computation** is in the convolutions, which apply their few weights
# at every position of large maps. Later networks removed the big fully connected layers (GoogLeNet and ResNet
# average each final map to a single number, *global average pooling*, and keep one linear layer).
#
# ## 4. Going deeper: vanishing and exploding gradients
#
# VGG stopped at 19 layers. Stacking more plain layers made networks *harder to train*, not better. The
# gradient that reaches layer $l$ of a plain network is a product of one Jacobian per layer above it,
#
# $$ \frac{\partial L}{\partial x_l} = \frac{\partial L}{\partial x_D}\,
#    \frac{\partial x_D}{\partial x_{D-1}} \cdots \frac{\partial x_{l+1}}{\partial x_l}, $$
#
# and a product of many factors shrinks towards 0 when the factors are typically smaller than 1 (**vanishing**
# gradients: the first layers hardly learn) or grows without bound when they are larger than 1 (**exploding**
# gradients). Lecture 03 measured this in deep fully connected networks and fixed it with the right
# initialisation. **Skip connections** change the product itself. A residual block computes
# $x_{l+1} = x_l + F(x_l)$, so each factor becomes $I + \partial F/\partial x_l$, and expanding the product
# always leaves the term $I$: the gradient of the output reaches every layer directly, whatever the blocks do.
#
# The block we use for the experiment is the **residual block** of ResNet (section 5 counts its parameters):
# two 3×3 convolutions, each followed by BatchNorm, a ReLU between them, the input added at the end and a ReLU
# after the sum. When the block changes the number of channels or the resolution, the input is first projected
# by a 1×1 convolution with the same stride. With `residual=False` it is a plain block (no addition), and with
# `batchnorm=False` the BatchNorm layers disappear (the convolutions then get biases).

# %%
class ResidualBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN, plus the input (projected when the shape changes), then ReLU."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, residual: bool = True, batchnorm: bool = True):
        super().__init__()
        norm = nn.BatchNorm2d if batchnorm else (lambda channels: nn.Identity())
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=not batchnorm)
        self.bn1 = norm(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=not batchnorm)
        self.bn2 = norm(c_out)
        self.shortcut = None  # a plain block
        if residual and (stride != 1 or c_in != c_out):
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=not batchnorm), norm(c_out))
        elif residual:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.shortcut is not None:
            out = out + self.shortcut(x)
        return F.relu(out)


block = ResidualBlock(64, 128, stride=2)
print(f"residual block 64 -> 128 channels, stride 2: {hwc((1, 64, 56, 56))} -> "
      f"{hwc(block(torch.zeros(1, 64, 56, 56)).shape)}, {count_params(block):,} parameters")

# %% [markdown]
# The experiment: a stem convolution with stride 2 and 2×2 max-pooling (28×28 becomes 7×7), then `depth` blocks
# of 16 channels, global average pooling and a linear layer, applied to one batch of 32 real Fashion-MNIST images.
# One forward and backward pass at initialisation, then for every convolution the **relative gradient**
# $\lVert\partial L/\partial W_l\rVert / \lVert W_l\rVert$: how much one step of gradient descent with learning
# rate 1 would change that layer. Two initialisations: PyTorch's default for `nn.Conv2d` (uniform, variance
# $1/(3\,n_\text{in})$, what you get without thinking about it) and Kaiming's $\mathcal N(0, 2/n_\text{in})$ from
# Lecture 03, made for ReLU.

# %%
train_set, test_set = load_fashion_mnist(train=True), load_fashion_mnist(train=False)
CLASSES = train_set.classes
x_probe, y_probe = image_tensors(train_set, limit=32)
x_probe, y_probe = x_probe.to(device), y_probe.to(device)


def deep_net(depth: int, residual: bool, batchnorm: bool, init: str, width: int = 16) -> nn.Sequential:
    layers = [nn.Conv2d(1, width, 3, stride=2, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
    layers += [ResidualBlock(width, width, residual=residual, batchnorm=batchnorm) for _ in range(depth)]
    net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))
    if init == "Kaiming":
        for conv in net.modules():
            if isinstance(conv, nn.Conv2d):
                nn.init.kaiming_normal_(conv.weight, nonlinearity="relu")
    return net.to(device)


SETUPS = {"plain": (False, False), "plain + BatchNorm": (False, True),
          "residual": (True, False), "residual + BatchNorm": (True, True)}


@functools.cache  # the widget asks for the same profiles again
def gradient_profile(depth: int, residual: bool, batchnorm: bool, init: str) -> tuple[list[float], float]:
    """Relative gradient norm of every convolution (input side first) and the loss, at initialisation."""
    seed_everything(0)
    net = deep_net(depth, residual, batchnorm, init)
    loss = F.cross_entropy(net(x_probe), y_probe)
    loss.backward()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    return [(c.weight.grad.norm() / c.weight.norm()).item() for c in convs], loss.item()


profiles = {(init, setup): gradient_profile(20, *SETUPS[setup], init)
            for init in ("default", "Kaiming") for setup in SETUPS}
print("20 residual or plain blocks (41 convolutions); relative gradient ||dL/dW|| / ||W|| at initialisation")
print(f"{'initialisation':<15} {'network':<22} {'first conv':>11} {'middle':>10} {'last conv':>10} "
      f"{'first/last':>11} {'loss':>9}")
for (init, setup), (norms, loss) in profiles.items():
    print(f"{init:<15} {setup:<22} {norms[0]:>11.1e} {norms[len(norms) // 2]:>10.1e} {norms[-1]:>10.1e} "
          f"{norms[0] / norms[-1]:>11.1e} {loss:>9.3g}")
ratio = {key: norms[0] / norms[-1] for key, (norms, _) in profiles.items()}

# %% [markdown]
# Four things to read in the table (the next cell checks each one):
#
# - **Plain, default initialisation: the gradients vanish.** Every block shrinks the signal, forward and
#   backward, so the first convolution's relative gradient is many orders of magnitude below the last one's:
#   it would not learn at all. This is the picture in the notes.
# - **Kaiming initialisation** keeps the plain network's gradients roughly level at this depth (Lecture 03's
#   fix), but only at initialisation: nothing keeps them level once the weights change.
# - **BatchNorm does not cure a plain network.** It re-standardises every layer, so nothing vanishes, but the
#   gradients now *grow* towards the input, whatever the initial weights: the first layers get much larger
#   relative updates than the last, and the growth compounds with depth (try the slider below).
# - **Residual networks keep the gradients level**, with either initialisation. Without BatchNorm and with
#   Kaiming's initialisation, though, each block *adds* its output to the signal, the variance grows with every
#   block, and the loss at initialisation is huge: the reason ResNets come with BatchNorm (or initialise
#   the last layer of each block to zero).

# %%
assert ratio[("default", "plain")] < 1e-6                   # vanishing
assert 0.05 < ratio[("Kaiming", "plain")] < 20               # level at initialisation
assert ratio[("default", "plain + BatchNorm")] > 10 and ratio[("Kaiming", "plain + BatchNorm")] > 10  # exploding
assert all(0.05 < ratio[(init, "residual + BatchNorm")] < 20 for init in ("default", "Kaiming"))
assert profiles[("Kaiming", "residual")][1] > 100 > profiles[("Kaiming", "residual + BatchNorm")][1]

# %% [markdown]
# The whole profile, layer by layer. In JupyterLab, move the depth slider: the plain network's curve tilts more
# with every block, the residual ones hardly change.

# %%
def draw_profiles(depth=20, init="default"):
    fig, ax = plt.subplots(figsize=(9, 4))
    for (setup, (residual, batchnorm)), colour in zip(SETUPS.items(), ["C3", "C1", "C0", "C2"]):
        norms, loss = gradient_profile(depth, residual, batchnorm, init)
        ax.semilogy(range(1, len(norms) + 1), norms, marker=".", color=colour, ls="-" if residual else "--",
                    label=f"{setup} (loss {loss:.3g})")
    ax.set(xlabel="convolution (1 = next to the input)", ylabel=r"$\|\partial L/\partial W_l\| \,/\, \|W_l\|$",
           title=f"relative gradient per layer at initialisation: {depth} blocks, {init} initialisation")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    plt.show()


explore(draw_profiles, depth=IntSlider(value=20, min=2, max=50, step=2, description="blocks"),
        init=Dropdown(options=["default", "Kaiming"], value="default", description="init"))

# %% [markdown]
# The seeds describe ResNet as the cure for vanishing gradients. The authors of ResNet (He, Zhang, Ren and Sun,
# 2015) said something more precise: with BatchNorm and a good initialisation the gradients of their plain
# networks did not vanish, and still a 34-layer plain network reached a *higher training error* than an 18-layer
# one. They called this the **degradation problem**: deeper plain networks are harder to optimise, even though a
# deeper network could always copy the shallower one and set its extra layers to the identity. A residual block
# makes the identity the easy default ($F = 0$), and a block only has to learn the *residual* $F(x) = H(x) - x$.
# Section 10 measures the difference in training.
#
# ## 5. ResNet: residual and bottleneck blocks
#
# **Counting the residual block.** A convolution with $k \times k$ kernels from $c_\text{in}$ to $c$ channels has
# $k^2 c_\text{in} c$ weights (no bias: BatchNorm right after it has its own shift $\beta$); BatchNorm has $2c$
# parameters ($\gamma$ and $\beta$). So a residual block has
#
# $$ P_\text{basic}(c_\text{in}, c) = 9 c_\text{in} c + 2c + 9c^2 + 2c
#    \; \big[ + \, c_\text{in} c + 2c \text{ for a projection} \big]. $$
#
# ResNet-18 is a 7×7 stem convolution with stride 2 and 3×3 max-pooling (224 → 112 → 56), four stages of two
# blocks with 64, 128, 256 and 512 channels (the first block of stages 2–4 halves the resolution and projects the
# shortcut), global average pooling and one linear layer 512 → 1000. The formula, layer by layer, against
# torchvision's `resnet18` and against our own `ResidualBlock`:

# %%
def conv_params(c_in: int, c_out: int, k: int, bias: bool = False, groups: int = 1) -> int:
    return k * k * (c_in // groups) * c_out + (c_out if bias else 0)


def bn_params(channels: int) -> int:
    return 2 * channels


def basic_block_params(c_in: int, c: int, stride: int = 1) -> int:
    params = conv_params(c_in, c, 3) + bn_params(c) + conv_params(c, c, 3) + bn_params(c)
    if stride != 1 or c_in != c:
        params += conv_params(c_in, c, 1) + bn_params(c)
    return params


def resnet_params(block_params, expansion: int, blocks: list[int], num_classes: int = 1000) -> dict[str, int]:
    """Parameters of a torchvision ResNet, per top-level layer, from the block formula."""
    counts = {"conv1 + bn1": conv_params(3, 64, 7) + bn_params(64)}
    c_in = 64
    for stage, (width, n) in enumerate(zip([64, 128, 256, 512], blocks), start=1):
        counts[f"layer{stage}"] = 0
        for b in range(n):
            counts[f"layer{stage}"] += block_params(c_in, width, stride=2 if stage > 1 and b == 0 else 1)
            c_in = width * expansion
    counts["fc"] = c_in * num_classes + num_classes
    return counts


resnet18 = meta_model("resnet18")
formula = resnet_params(basic_block_params, 1, [2, 2, 2, 2])
print(f"{'part':<12} {'formula':>12} {'torchvision':>12} {'ours':>12}")
for part, count in formula.items():
    modules = [getattr(resnet18, name) for name in part.split(" + ")]
    if part.startswith("layer"):
        stage = int(part[-1])
        width, c_in = [64, 128, 256, 512][stage - 1], [64, 64, 128, 256][stage - 1]
        ours = count_params(ResidualBlock(c_in, width, stride=1 if stage == 1 else 2)) + count_params(
            ResidualBlock(width, width))
    else:
        ours = sum(count_params(m) for m in modules)
    print(f"{part:<12} {count:>12,} {sum(count_params(m) for m in modules):>12,} {ours:>12,}")
    assert count == sum(count_params(m) for m in modules) == ours
print(f"{'total':<12} {sum(formula.values()):>12,} {count_params(resnet18):>12,}")
assert sum(formula.values()) == count_params(resnet18) == 11_689_512

# %% [markdown]
# Exactly 11 689 512. Where the data goes through it, at 224×224:

# %%
with torch.device("meta"):
    _ = shape_flow(nn.Sequential(OrderedDict(list(resnet18.named_children())[:-1])), torch.empty(1, 3, 224, 224))

# %% [markdown]
# (The average-pooled 1×1×512 map is flattened before `fc`.) The seeds describe the block as "BatchNorm after
# each convolution and a ReLU every two blocks"; precisely, each convolution is followed by BatchNorm, there is a
# ReLU between the two convolutions of a block and one after the addition.
#
# **The bottleneck block.** At 256 channels and more, two 3×3 convolutions get expensive:
# $2 \cdot 9 \cdot 256^2 \approx 1.2$ M weights per block. ResNet-50 and deeper use a **bottleneck**: a 1×1
# convolution *reduces* the channels (256 → 64), the 3×3 convolution works on the narrow tensor, and a second 1×1
# convolution *expands* them again (64 → 256, an expansion factor of 4):
#
# $$ P_\text{bottleneck}(c_\text{in}, m) = c_\text{in} m + 2m + 9m^2 + 2m + 4m^2 + 8m \;
#    \big[ + \, 4 c_\text{in} m + 8m \text{ for a projection} \big]. $$
#
# The seeds call bottlenecks "improved pooling". They do not shrink the image; they shrink the number of
# channels the expensive 3×3 convolution works on. (torchvision's ResNet-50 puts the stride of a downsampling
# block in the 3×3 convolution, not in the first 1×1 as the paper did, a variant called ResNet v1.5: the <!-- quoted -->
# parameters are the same, the multiply-adds and the accuracy slightly higher.)

# %%
class Bottleneck(nn.Module):
    """1x1 reduce to `width`, 3x3 (with the stride), 1x1 expand to 4*width; each with BN; shortcut; ReLU."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1):
        super().__init__()
        c_out = width * self.expansion
        self.reduce = nn.Sequential(nn.Conv2d(c_in, width, 1, bias=False), nn.BatchNorm2d(width), nn.ReLU())
        self.conv = nn.Sequential(nn.Conv2d(width, width, 3, stride=stride, padding=1, bias=False),
                                  nn.BatchNorm2d(width), nn.ReLU())
        self.expand = nn.Sequential(nn.Conv2d(width, c_out, 1, bias=False), nn.BatchNorm2d(c_out))
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.expand(self.conv(self.reduce(x))) + self.shortcut(x))


def bottleneck_params(c_in: int, m: int, stride: int = 1) -> int:
    params = conv_params(c_in, m, 1) + bn_params(m) + conv_params(m, m, 3) + bn_params(m)
    params += conv_params(m, 4 * m, 1) + bn_params(4 * m)
    if stride != 1 or c_in != 4 * m:
        params += conv_params(c_in, 4 * m, 1) + bn_params(4 * m)
    return params


x56 = torch.zeros(1, 256, 56, 56)
bottleneck, basic = Bottleneck(256, 64), ResidualBlock(256, 256)
with FlopCounterMode(display=False) as bottleneck_flops:
    y_bottleneck = bottleneck(x56)
with FlopCounterMode(display=False) as basic_flops:
    y_basic = basic(x56)
print(f"bottleneck 256 -> 64 -> 64 -> 256 at 56x56: {hwc(x56.shape)} -> {hwc(y_bottleneck.shape)}, "
      f"{count_params(bottleneck):,} parameters, {bottleneck_flops.get_total_flops() / 2e6:,.0f} M multiply-adds")
print(f"residual block 256 -> 256 at 56x56:        {hwc(x56.shape)} -> {hwc(y_basic.shape)}, "
      f"{count_params(basic):,} parameters, {basic_flops.get_total_flops() / 2e6:,.0f} M multiply-adds "
      f"({count_params(basic) / count_params(bottleneck):.0f} times more)")
assert count_params(bottleneck) == bottleneck_params(256, 64) == count_params(meta_model("resnet50").layer1[1])

resnet50 = meta_model("resnet50")
formula50 = sum(resnet_params(bottleneck_params, 4, [3, 4, 6, 3]).values())
print(f"resnet50: formula {formula50:,}, torchvision {count_params(resnet50):,} parameters")
assert formula50 == count_params(resnet50) == 25_557_032

# %% [markdown]
# The course's own pretrained network is a small ResNet of this kind, assembled from torchvision's `BasicBlock`
# (`course_utils.small_resnet`): a 3×3 stem for 28×28 grey images, 2×2 max-pooling, three stages of one block
# (16, 32 and 64 channels) and a linear layer. The course trained it on the MNIST digits 0–4, and Lecture 08
# transfers it to other tasks. Its parameters follow from the same formula:

# %%
course_resnet = load_checkpoint("resnet8_mnist04")
info = checkpoint_info("resnet8_mnist04")
formula8 = (conv_params(1, 16, 3) + bn_params(16) + basic_block_params(16, 16) + basic_block_params(16, 32, 2)
            + basic_block_params(32, 64, 2) + 64 * 5 + 5)
print(f"course checkpoint 'resnet8_mnist04': {count_params(course_resnet):,} parameters (formula {formula8:,}); "
      f"{info.description}; test accuracy {info.metrics['test_accuracy']:.2%} on the digits "
      f"{info.classes[0]}-{info.classes[-1]} (measured when it was trained)")
assert count_params(course_resnet) == formula8

# %% [markdown]
# ## 6. GoogLeNet and the Inception module
#
# Which kernel size is right, 1×1, 3×3 or 5×5? GoogLeNet (Szegedy et al., 2014) does not choose: its **Inception
# module** runs four branches side by side on the same input and concatenates their outputs along the channels.
# A 5×5 convolution on 192 channels is expensive, so the 3×3 and 5×5 branches first **reduce** the channels with
# a 1×1 convolution (a linear map across channels at every pixel, followed by ReLU), and the max-pooling branch
# is followed by a 1×1 projection so that it does not pass all its channels on:
#
# $$ \text{out} = \big[\, \text{conv}_{1\times1}(x) \;\big|\; \text{conv}_{3\times3}(\text{conv}_{1\times1}(x))
#    \;\big|\; \text{conv}_{5\times5}(\text{conv}_{1\times1}(x))
#    \;\big|\; \text{conv}_{1\times1}(\text{maxpool}_{3\times3}(x)) \,\big]. $$
#
# Module "3a" takes 28×28×192 and outputs $64 + 128 + 32 + 32 = 256$ channels. With biases and no BatchNorm, as
# in the paper, a $k \times k$ unit has $k^2 c_\text{in} c_\text{out} + c_\text{out}$ parameters. torchvision's
# GoogLeNet adds BatchNorm to every unit and, by a bug kept for compatibility with its trained weights, uses a 3×3
# kernel in the "5×5" branch; the `kernel5` and `batchnorm` options reproduce it.

# %%
class Inception(nn.Module):
    """Four parallel branches (1x1 | 1x1->3x3 | 1x1->5x5 | maxpool->1x1), concatenated along the channels."""

    def __init__(self, c_in: int, c1: int, c3_reduce: int, c3: int, c5_reduce: int, c5: int, pool_proj: int,
                 kernel5: int = 5, batchnorm: bool = False):
        super().__init__()

        def unit(ci: int, co: int, k: int) -> nn.Sequential:
            layers = [nn.Conv2d(ci, co, k, padding=k // 2, bias=not batchnorm)]
            layers += [nn.BatchNorm2d(co, eps=0.001)] if batchnorm else []
            return nn.Sequential(*layers, nn.ReLU())

        self.branch1 = unit(c_in, c1, 1)
        self.branch3 = nn.Sequential(unit(c_in, c3_reduce, 1), unit(c3_reduce, c3, 3))
        self.branch5 = nn.Sequential(unit(c_in, c5_reduce, 1), unit(c5_reduce, c5, kernel5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), unit(c_in, pool_proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], dim=1)


def inception_params(c_in, c1, c3_reduce, c3, c5_reduce, c5, pool_proj, kernel5=5, batchnorm=False) -> int:
    def unit(ci: int, co: int, k: int) -> int:
        return conv_params(ci, co, k, bias=not batchnorm) + (bn_params(co) if batchnorm else 0)
    return (unit(c_in, c1, 1) + unit(c_in, c3_reduce, 1) + unit(c3_reduce, c3, 3) + unit(c_in, c5_reduce, 1)
            + unit(c5_reduce, c5, kernel5) + unit(c_in, pool_proj, 1))


INCEPTION_3A = (192, 64, 96, 128, 16, 32, 32)
inception = Inception(*INCEPTION_3A)
x28 = torch.randn(1, 192, 28, 28)
print(f"Inception 3a: {hwc(x28.shape)} -> {hwc(inception(x28).shape)}; branch outputs "
      + " | ".join(hwc(branch(x28).shape) for branch in (inception.branch1, inception.branch3, inception.branch5,
                                                        inception.branch_pool)))
naive = conv_params(192, 64, 1, True) + conv_params(192, 128, 3, True) + conv_params(192, 32, 5, True)
with FlopCounterMode(display=False) as inception_flops:
    inception(x28)
print(f"parameters: formula {inception_params(*INCEPTION_3A):,}, module {count_params(inception):,}; "
      f"{inception_flops.get_total_flops() / 2e6:.0f} M multiply-adds")
print(f"without the 1x1 reductions (3x3 and 5x5 on all 192 channels, the pool passing 192 channels on): "
      f"{naive:,} parameters and {64 + 128 + 32 + 192} output channels instead of 256")
googlenet = meta_model("googlenet", aux_logits=False, init_weights=False)
torchvision_3a = inception_params(*INCEPTION_3A, kernel5=3, batchnorm=True)
print(f"torchvision's inception3a: {count_params(googlenet.inception3a):,} parameters, "
      f"formula with kernel5=3 and BatchNorm {torchvision_3a:,}, "
      f"our module with those options {count_params(Inception(*INCEPTION_3A, kernel5=3, batchnorm=True)):,}")
assert count_params(inception) == inception_params(*INCEPTION_3A)
assert count_params(googlenet.inception3a) == torchvision_3a == count_params(Inception(*INCEPTION_3A, 3, True))

with_aux = meta_model("googlenet", aux_logits=True, init_weights=False)
print(f"GoogLeNet: {count_params(googlenet) / 1e6:.1f} M parameters, of which "
      f"{count_params(googlenet.fc) / 1e6:.2f} M in the final linear layer; the two auxiliary classifiers used during "
      f"training add {(count_params(with_aux) - count_params(googlenet)) / 1e6:.1f} M")

# %% [markdown]
# GoogLeNet stacks nine such modules into 22 layers with weights and ends with global average pooling and a
# single linear layer, so it has roughly a tenth of AlexNet's parameters (the notes' "4 million" is an
# under-count: the paper says twelve times fewer than AlexNet, and torchvision's version, with BatchNorm, has the
# number printed above). Two **auxiliary classifiers** attached to intermediate modules add their loss
# (weighted 0.3) during training, to push gradient into the middle of the network, and are dropped at test <!-- quoted -->
# time.
#
# ## 7. DenseNet: every layer sees all earlier ones
#
# DenseNet (Huang, Liu, van der Maaten and Weinberger, 2017) takes skip connections to the end: inside a
# **dense block**, layer $i$ receives the *concatenation* of the block's input and the outputs of all
# layers before it, and adds only $k$ new channels (the **growth rate**):
#
# $$ x_i = H_i\big([x_0, x_1, \ldots, x_{i-1}]\big), \qquad \text{channels of } [x_0, \ldots, x_i] = c_0 + i\,k. $$
#
# Each $H_i$ is BatchNorm–ReLU–1×1 convolution to $4k$ channels–BatchNorm–ReLU–3×3 convolution to $k$ channels
# (normalisation *before* each convolution), so layer $i$, with $c = c_0 + ik$ input channels, has
# $2c + 4kc + 2 \cdot 4k + 9 \cdot 4k \cdot k$ parameters. Between blocks, a **transition** (BatchNorm, a 1×1
# convolution that halves the channels, 2×2 average pooling) shrinks both the channels and the map. Features
# computed once are reused by every later layer, so each layer can stay narrow; the seeds credit this with
# little overfitting for the number of layers.

# %%
class DenseLayer(nn.Module):
    def __init__(self, c_in: int, growth: int):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, 4 * growth, 1, bias=False),
                                  nn.BatchNorm2d(4 * growth), nn.ReLU(),
                                  nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class DenseBlock(nn.Module):
    """`n_layers` DenseLayers; each sees the concatenation of the input and all earlier outputs."""

    def __init__(self, c_in: int, n_layers: int, growth: int):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(c_in + i * growth, growth) for i in range(n_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, dim=1)))
        return torch.cat(features, dim=1)


def dense_block_params(c_in: int, n_layers: int, k: int) -> int:
    return sum(2 * c + 4 * k * c + 2 * 4 * k + 9 * 4 * k * k for c in (c_in + i * k for i in range(n_layers)))


def transition(c_in: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(), nn.Conv2d(c_in, c_in // 2, 1, bias=False), nn.AvgPool2d(2))


dense, x56 = DenseBlock(64, n_layers=6, growth=32), torch.zeros(1, 64, 56, 56)
features = [x56]
for i, layer in enumerate(dense.layers, start=1):
    features.append(layer(torch.cat(features, dim=1)))
    print(f"dense layer {i}: input {hwc(torch.cat(features[:-1], 1).shape):>10} -> new {hwc(features[-1].shape)}, "
          f"{count_params(layer):,} parameters")
block_out = dense(x56)
print(f"dense block 1 of DenseNet-121: {hwc(x56.shape)} -> {hwc(block_out.shape)}; "
      f"then the transition -> {hwc(transition(256)(block_out).shape)}")
densenet = meta_model("densenet121")
print(f"parameters: formula {dense_block_params(64, 6, 32):,}, our block {count_params(dense):,}, "
      f"torchvision's denseblock1 {count_params(densenet.features.denseblock1):,}; transition: "
      f"formula {2 * 256 + 256 * 128:,}, torchvision {count_params(densenet.features.transition1):,}")
assert dense_block_params(64, 6, 32) == count_params(dense) == count_params(densenet.features.denseblock1)
assert 2 * 256 + 256 * 128 == count_params(transition(256)) == count_params(densenet.features.transition1)

# %% [markdown]
# ## 8. MobileNet: depthwise-separable convolutions
#
# A standard 3×3 convolution mixes space and channels at once: $9\,c_\text{in}\,c_\text{out}$ weights, and as many
# multiply-adds per output pixel. MobileNet (Howard et al., 2017) splits it in two:
#
# - a **depthwise** 3×3 convolution filters each channel on its own (`groups=c_in`): $9\,c_\text{in}$ weights;
# - a **pointwise** 1×1 convolution mixes the channels: $c_\text{in}\,c_\text{out}$ weights.
#
# Each is followed by BatchNorm and ReLU. The cost relative to a standard convolution is
# $\frac{9 c_\text{in} + c_\text{in} c_\text{out}}{9 c_\text{in} c_\text{out}} = \frac{1}{c_\text{out}} + \frac19$,
# about eight to nine times fewer weights and multiply-adds for 3×3 kernels. MobileNetV2 (2018) wraps it into an
# *inverted residual*: a 1×1 expansion, the depthwise convolution and a 1×1 projection **without** a ReLU after it
# (a "linear bottleneck"); the first block of torchvision's `mobilenet_v2` has no expansion, so it is exactly our
# module with `last_relu=False`.

# %%
class DepthwiseSeparable(nn.Module):
    """Depthwise 3x3 (groups=c_in) -> BN -> ReLU -> pointwise 1x1 -> BN (-> ReLU unless last_relu=False)."""

    def __init__(self, c_in: int, c_out: int, stride: int = 1, last_relu: bool = True):
        super().__init__()
        self.depthwise = nn.Sequential(nn.Conv2d(c_in, c_in, 3, stride=stride, padding=1, groups=c_in, bias=False),
                                       nn.BatchNorm2d(c_in), nn.ReLU())
        self.pointwise = nn.Sequential(nn.Conv2d(c_in, c_out, 1, bias=False), nn.BatchNorm2d(c_out),
                                       nn.ReLU() if last_relu else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


def separable_params(c_in: int, c_out: int) -> int:
    return conv_params(c_in, c_in, 3, groups=c_in) + bn_params(c_in) + conv_params(c_in, c_out, 1) + bn_params(c_out)


mobilenet = meta_model("mobilenet_v2")
print(f"torchvision mobilenet_v2.features[1] (32 -> 16): {count_params(mobilenet.features[1]):,} parameters, "
      f"our DepthwiseSeparable(32, 16) {count_params(DepthwiseSeparable(32, 16, last_relu=False)):,}, "
      f"formula {separable_params(32, 16):,}")
assert count_params(mobilenet.features[1]) == separable_params(32, 16) == count_params(DepthwiseSeparable(32, 16))

# %% [markdown]
# Fewer multiply-adds, but how much faster? We time a standard 3×3 convolution and the separable pair, 128 → 128
# channels on a 56×56 map, on the CPU:

# %%
def cpu_latency_ms(model: nn.Module, x: torch.Tensor, repeats: int = 3) -> float:
    """Median wall time of one forward pass on the CPU, after one warm-up pass."""
    model = model.cpu().eval()
    with torch.inference_mode():
        model(x)  # the first call allocates memory and selects kernels
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            model(x)
            times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2]


x128 = torch.randn(1, 128, 56, 56)
standard = nn.Sequential(nn.Conv2d(128, 128, 3, padding=1, bias=False), nn.BatchNorm2d(128), nn.ReLU())
separable = DepthwiseSeparable(128, 128)
costs = {name: (count_params(m), count_macs(m, tuple(x128.shape)), cpu_latency_ms(m, x128, repeats=5))
         for name, m in [("standard 3x3", standard), ("depthwise-separable", separable)]}
for name, (params, macs, ms) in costs.items():
    print(f"{name:<20} {params:>8,} parameters {macs / 1e6:>7.1f} M multiply-adds {ms:>7.2f} ms")
(p_std, m_std, t_std), (p_sep, m_sep, t_sep) = costs.values()
print(f"depthwise-separable: {p_std / p_sep:.1f}x fewer parameters, {m_std / m_sep:.1f}x fewer multiply-adds, "
      f"{t_std / t_sep:.1f}x less time ({'less' if t_std / t_sep < m_std / m_sep else 'more'} than the "
      f"multiply-adds suggest)")
assert m_std / m_sep > 7

# %% [markdown]
# The multiply-adds fall by the factor of the formula. The time usually falls by much less (the last line above
# says how it went on this machine). A depthwise convolution does only 9 multiply-adds per value it reads, so it
# spends its time moving data rather than computing, and libraries have tuned it far less than standard
# convolutions. Multiply-adds are a proxy for speed, not a measurement of it: the table below compares them
# for whole networks.
#
# ## 9. The torchvision model zoo
#
# `torchvision.models` has all of these networks, with ImageNet weights. `weights=None` builds them with random
# weights and costs nothing to download; section "pretrained weights" of the README explains how to load the
# trained ones, online or from a local copy. For each network we count parameters and multiply-adds at
# 224×224 (on the `meta` device), measure the CPU latency of one image (a real forward pass on one CPU thread,
# median of three after a warm-up), and read the single-crop ImageNet validation errors that torchvision
# publishes with its weights (`weights.meta`; quoted, not measured here). LeNet-5 is there for scale, at its own
# 32×32 input.

# %%
ZOO = {"AlexNet": ("alexnet", 2012), "VGG-16": ("vgg16", 2014), "GoogLeNet": ("googlenet", 2014),
       "ResNet-18": ("resnet18", 2015), "ResNet-50": ("resnet50", 2015), "DenseNet-121": ("densenet121", 2017),
       "MobileNetV2": ("mobilenet_v2", 2018)}
OPTIONS = {"googlenet": {"aux_logits": False, "init_weights": True}}


def zoo_row(name: str) -> dict:
    options = OPTIONS.get(name, {})
    skeleton = meta_model(name, **options)
    params, macs = count_params(skeleton), count_macs(skeleton, (1, 3, 224, 224))
    latency = cpu_latency_ms(models.get_model(name, weights=None, **options), torch.randn(1, 3, 224, 224))
    scores = models.get_model_weights(name)["IMAGENET1K_V1"].meta["_metrics"]["ImageNet-1K"]
    return {"params": params, "macs": macs, "ms": latency, "top1": 100 - scores["acc@1"], "top5": 100 - scores["acc@5"]}


start = time.perf_counter()
zoo = {"LeNet-5 (32×32)": {"params": count_params(lenet5), "macs": count_macs(lenet5, (1, 1, 32, 32)),
                            "ms": cpu_latency_ms(lenet5, torch.randn(1, 1, 32, 32)), "top1": None, "top5": None}}
years = {"LeNet-5 (32×32)": 1998}
for label, (name, year) in ZOO.items():
    zoo[label], years[label] = zoo_row(name), year
rows = ["| network | year | parameters | multiply-adds | CPU latency, 1 image | ms per G multiply-adds "
        "| top-1 error | top-5 error |", "|---|---|---|---|---|---|---|---|"]
for label, r in zoo.items():
    errors = "| — | — |" if r["top1"] is None else f"| {r['top1']:.1f} % | {r['top5']:.1f} % |"
    rows.append(f"| {label} | {years[label]} | {r['params'] / 1e6:.2f} M | {r['macs'] / 1e6:,.1f} M "
                f"| {r['ms']:.1f} ms | {r['ms'] / (r['macs'] / 1e9):.0f} {errors}")
display(Markdown("\n".join(rows)))
print(f"CPU threads: {torch.get_num_threads()}; the table took {time.perf_counter() - start:.1f} s")
assert zoo["ResNet-18"]["params"] == 11_689_512 and zoo["ResNet-50"]["top1"] < 0.6 * zoo["AlexNet"]["top1"]
assert all(zoo["VGG-16"]["macs"] > 8 * zoo[n]["macs"] and 0 < zoo[n]["top1"] - zoo["VGG-16"]["top1"] < 3
           for n in ("ResNet-18", "GoogLeNet"))
ms_per_gmac = [r["ms"] / (r["macs"] / 1e9) for r in zoo.values() if r["top1"] is not None]
assert max(ms_per_gmac) > 1.5 * min(ms_per_gmac)

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 4.2))
imagenet = {label: r for label, r in zoo.items() if r["top1"] is not None}
for label, r in imagenet.items():
    offset = (-62, -11) if label == "GoogLeNet" else (5, 3)  # GoogLeNet and ResNet-18 nearly coincide
    axes[0].scatter(r["macs"] / 1e9, r["top1"], s=20 + r["params"] / 1e6 * 4, alpha=0.6)
    axes[0].annotate(label, (r["macs"] / 1e9, r["top1"]), fontsize=8, xytext=offset, textcoords="offset points")
    axes[1].scatter(r["macs"] / 1e9, r["ms"], s=30)
    axes[1].annotate(label, (r["macs"] / 1e9, r["ms"]), fontsize=8, xytext=(5, 3), textcoords="offset points")
axes[0].set(xscale="log", xlabel="multiply-adds per image (G, log scale)", ylabel="top-1 error on ImageNet (%)",
            title="error vs computation (marker area ~ parameters)")
axes[1].set(xscale="log", yscale="log", xlabel="multiply-adds per image (G, log scale)",
            ylabel="CPU latency, 1 image (ms, log scale)", title="measured latency vs multiply-adds")
for ax in axes:
    ax.grid(alpha=0.3, which="both")
plt.tight_layout()
plt.show()

# %% [markdown]
# What the table says:
#
# - From AlexNet to ResNet-50 the top-1 error fell by almost half while the **parameters did not grow**:
#   GoogLeNet, ResNet, DenseNet and MobileNet all have far fewer than AlexNet and VGG, because global average
#   pooling replaced the huge fully connected layers.
# - **VGG-16 is the outlier**: by far the most parameters and multiply-adds, for a top-1 error only a few points
#   below that of ResNet-18 and GoogLeNet, which need about a tenth of its computation.
# - **Latency is not proportional to multiply-adds**: the column "ms per G multiply-adds" varies widely. Large
#   standard convolutions, as in VGG, keep the processor busiest. MobileNet's depthwise convolutions (section 8),
#   DenseNet's concatenations and AlexNet's fully connected layers (almost 59 million weights, each read from
#   memory to be used once per image) spend more of their time moving data than computing. Always measure on the
#   hardware you deploy on.
#
# ## 10. Training a small ResNet against a plain CNN of the same size
#
# The real test of skip connections is training. Two networks of the same depth and almost the same size,
# on Fashion-MNIST: a 3×3 stem with 8 channels and 2×2 max-pooling (28 → 14), three stages of three blocks
# (8, 16 and 32 channels; the first block of stages 2 and 3 halves the map), global average pooling and a linear
# layer: 20 layers with weights. The **ResNet** uses `ResidualBlock`, the **plain CNN** the same blocks with
# `residual=False`. The only difference in parameters is the two 1×1 projections of the ResNet. Both train with
# the same seed, the same batches and the same recipe: SGD with Nesterov momentum, a one-cycle learning-rate
# schedule (Lecture 05), BatchNorm in every block.

# %%
WIDTHS, BLOCKS = (8, 16, 32), 3
N_TRAIN, EPOCHS = (60_000, 8) if device.type == "cuda" else (10_000, 3)


def small_cnn(residual: bool) -> nn.Sequential:
    layers = [nn.Conv2d(1, WIDTHS[0], 3, padding=1, bias=False), nn.BatchNorm2d(WIDTHS[0]), nn.ReLU(),
              nn.MaxPool2d(2)]
    c_in = WIDTHS[0]
    for stage, width in enumerate(WIDTHS):
        for b in range(BLOCKS):
            layers.append(ResidualBlock(c_in, width, stride=2 if stage > 0 and b == 0 else 1, residual=residual))
            c_in = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, len(CLASSES)))


x_train, y_train = image_tensors(train_set, limit=N_TRAIN)
x_test, y_test = image_tensors(test_set)
test_loader = TensorLoader(x_test, y_test, batch_size=2000, device=device)
show_images(x_train[:8], labels=[CLASSES[i] for i in y_train[:8]], ncols=8, size=1.1)
plt.show()
print(f"{N_TRAIN:,} training images, {len(x_test):,} test images; "
      f"ResNet {count_params(small_cnn(True)):,} parameters, plain CNN {count_params(small_cnn(False)):,}")

histories, trained = {}, {}


def train(name: str, residual: bool) -> None:
    seed_everything(0)
    model = small_cnn(residual).to(device)
    loader = TensorLoader(x_train, y_train, batch_size=128, shuffle=True, device=device, seed=0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=EPOCHS * len(loader))
    start = time.perf_counter()
    histories[name] = fit(model, loader, optimizer, EPOCHS, val_loader=test_loader, scheduler=scheduler,
                          device=device)
    trained[name] = model
    h = histories[name]
    print(f"{name}: train loss {h['train_loss'][-1]:.3f}, test accuracy {h['val_acc'][-1]:.2%} "
          f"[{time.perf_counter() - start:.1f} s]")


train("ResNet", residual=True)

# %%
train("plain CNN", residual=False)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
epochs = range(1, EPOCHS + 1)
for name, colour in [("ResNet", "C0"), ("plain CNN", "C3")]:
    axes[0].plot(epochs, histories[name]["train_loss"], marker="o", color=colour, label=name)
    axes[1].plot(epochs, histories[name]["val_acc"], marker="o", color=colour, label=name)
axes[0].set(xlabel="epoch", ylabel="training loss", title="training loss (same depth, same size)")
axes[1].set(xlabel="epoch", ylabel="test accuracy", title="test accuracy")
for ax in axes:
    ax.set_xticks(list(epochs))
    ax.grid(alpha=0.3)
    ax.legend()
plt.tight_layout()
plt.show()

with torch.no_grad():
    logits = torch.cat([trained["ResNet"].eval()(x.to(device)).cpu() for x, _ in test_loader])
print(f"ResNet on the Fashion-MNIST test set: top-1 error {topk_error(logits, y_test, 1):.2%}, "
      f"top-5 error {topk_error(logits, y_test, 5):.2%}")
res, plain = histories["ResNet"], histories["plain CNN"]
print("after every epoch, training loss ResNet / plain: "
      + ", ".join(f"{r:.3f}/{p:.3f}" for r, p in zip(res["train_loss"], plain["train_loss"])))
assert all(r < p for r, p in zip(res["train_loss"], plain["train_loss"]))
assert res["val_acc"][-1] > plain["val_acc"][-1]

# %% [markdown]
# With the same depth, the same number of parameters and the same recipe, the residual network's training loss is
# lower after every epoch, and it ends with the higher test accuracy. Nothing about its capacity is different:
# the skip connections only make it easier to optimise, which is the degradation problem of section 4 seen in
# training. (With only 10 000 images and a few epochs on a CPU, both are far from the best Fashion-MNIST accuracy;
# the gap between them, not the level, is the point. Top-5 error is tiny on a 10-class problem: it is a measure
# made for 1000 classes.)
#
# ## Summary
#
# - ImageNet models are compared by **top-1 and top-5 error**; the ILSVRC winners went from 25.8 % (2011) to <!-- quoted -->
#   3.57 % top-5 error (ResNet, 2015). <!-- quoted -->
# - **LeNet-5** set the pattern (convolution, subsampling, classifier). **AlexNet** scaled it to ImageNet:
#   227×227×3 → 55×55×96 with 11×11 kernels of stride 4, 60 965 224 parameters (most in the fully connected
#   layers), ReLU, dropout, augmentation, two GPUs (`groups=2`).
# - **VGG** reached 16–19 layers with only 3×3 convolutions: $n$ stacked 3×3 layers see $(2n+1)^2$ pixels with
#   $9n$ instead of $(2n+1)^2$ weights per channel pair. Its parameters sit in the fully connected layers, its
#   computation in the convolutions.
# - In deep plain networks gradients **vanish** (poor initialisation) or **explode** (with BatchNorm);
#   **skip connections** $x + F(x)$ keep them level, and made networks of 100+ layers trainable.
# - **ResNet**: residual blocks $9c_\text{in}c + 9c^2$ (+ BatchNorm, + a 1×1 projection when the shape changes);
#   **bottlenecks** 1×1 → 3×3 → 1×1 are many times cheaper at high channel counts. resnet18 has exactly
#   11 689 512 parameters, resnet50 25 557 032.
# - **Inception** runs 1×1, 3×3, 5×5 and pooling branches in parallel and concatenates them, with 1×1 reductions
#   to keep it cheap. **DenseNet** concatenates all earlier features inside a block (growth rate $k$), with
#   transitions in between. **MobileNet** replaces a 3×3 convolution by a depthwise and a pointwise one,
#   about $1/9$ of the cost in multiply-adds, but less of a gain in measured time.
# - Multiply-adds (`FlopCounterMode`) and parameters are cheap to count on the `meta` device; latency has to be
#   measured.
#
# ## Try it yourself
#
# 1. **Degradation.** Train the plain CNN of section 10 with `BLOCKS = 1` (8 layers) and with `BLOCKS = 5`
#    (32 layers), and the ResNet with the same settings. Does the deeper plain network reach a higher or a lower
#    training loss than the shallower one? And the deeper ResNet?
# 2. **Zero-initialised residuals.** In the gradient experiment, initialise each block's `bn2.weight` to zero
#    (`nn.init.zeros_`), so that every residual block starts as the identity. What happens to the loss at
#    initialisation and to the gradient profile of the residual network with Kaiming's initialisation? (This
#    is `zero_init_residual=True` in torchvision's ResNet.)
# 3. **Count by hand.** Write `densenet121`'s total parameter count as a formula (blocks of 6, 12, 24, 16 layers,
#    growth rate 32, a 7×7 stem with 64 channels, transitions that halve the channels, a final BatchNorm and a
#    linear layer) and check it against `models.densenet121()`.
# 4. **Latency.** Repeat the zoo table with `torch.set_num_threads(1)` and with a batch of 16 images. Which
#    networks gain most from a second core or from batching, and why?
