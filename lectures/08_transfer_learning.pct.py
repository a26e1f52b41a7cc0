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
# # Lecture 08 — Transfer learning
#
# A dataset for the task you care about is often small: a few hundred scans of a rare tumour, a few thousand
# sentences in a language with few speakers. A network trained on it from scratch memorises it. People never
# learn that way: someone who speaks English learns Spanish faster than someone who speaks neither, because
# much of what they know carries over. **Transfer learning** does the same for networks: a model trained on a
# large **source** dataset gives its weights, or its outputs, to a model for the small **target** dataset.
#
# Everything here is measured. The course ships its own pretrained networks (`course_utils.pretrained`,
# trained by `scripts/train_checkpoints.py` on the staged datasets), so every experiment runs offline in seconds:
#
# - **source**: a ResNet-8 trained on the MNIST digits 0–4 (`resnet8_mnist04`);
# - **targets**: the digits 5–9 with only a handful of labels per class, shifted versions of the digits, and
#   Fashion-MNIST;
# - **teacher** for distillation: a wider ResNet-8 trained on Fashion-MNIST (`resnet8_wide_fashion`).
#
# **Plan**
# 1. Source and target domains; the kinds of domain shift, each measured on the source network.
# 2. Aligning feature distributions without labels: re-estimating BatchNorm's statistics on the target.
# 3. The mechanics: replacing the head, freezing by name, parameter groups, BatchNorm in eval or train mode.
# 4. Few labels: training from scratch vs a linear probe vs fine-tuning vs fine-tuning with a lower backbone
#    learning rate, at several data sizes and seeds.
# 5. Which layers transfer: a linear probe on every depth, near and far targets.
# 6. Learning from a black box: knowledge distillation with a temperature.
# 7. The ImageNet route: torchvision's weights API, its preprocessing, and a new head.

# %%
import copy
import math
import time

import matplotlib.pyplot as plt
import torch
from IPython.display import Markdown, display
from ipywidgets import FloatSlider
from torch import nn
from torch.nn import functional as F
from torchvision.models import ResNet18_Weights, resnet18
from torchvision.ops import FrozenBatchNorm2d
from tqdm.auto import tqdm

from course_utils import (TensorLoader, build_model, checkpoint_info, choose_device, explore, fit, image_tensors,
                          load_checkpoint, load_fashion_mnist, load_mnist, seed_everything, select_classes,
                          show_images, stage_torchvision_weights)

# Small networks and small batches: one thread is faster than splitting each operation across cores.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)
LECTURE_START = time.perf_counter()

# %% [markdown]
# ## 1. Source, target, and the kinds of domain shift
#
# A **domain** is a feature space $\mathcal X$ with a distribution $P(X)$ over it; a **task** is a label space
# $\mathcal Y$ with the conditional distribution $P(Y\mid X)$. Transfer learning uses what was learned on a source
# domain and task to do better on a target domain and task. The two can differ in four ways:
#
# | what differs | example from the notes | example measured below |
# |---|---|---|
# | feature space $\mathcal X_S \ne \mathcal X_T$ | texts in one language → texts in another | grey 28×28 digits → colour 224×224 photos (section 7) |
# | feature distribution $P_S(X) \ne P_T(X)$ | film reviews → app reviews (same language, other words) | inverted, rotated, noisy, faded digits |
# | labels $\mathcal Y_S \ne \mathcal Y_T$ or $P_S(Y\mid X) \ne P_T(Y\mid X)$ | the same faces: sex → ethnicity | digits 0–4 → digits 5–9 |
# | labelled or unlabelled target | | re-estimating BatchNorm statistics from unlabelled images (section 2) |
#
# The notes file a new label space and a new conditional distribution $P(Y\mid X)$ under one heading; they are
# different problems (new classes need a new output layer, a changed $P(Y\mid X)$ only new training), so the table
# names both.
#
# The source network and its data. `select_classes` keeps the chosen digits and numbers them 0, 1, … in order, so
# the digits 5–9 become the labels 0–4 of the target task.

# %%
SOURCE_CLASSES, TARGET_CLASSES = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
N_TEST = None if device.type == "cuda" else 1000  # test images per domain (the whole split on a GPU)
N_POOL = 20_000  # training images the labelled few-shot sets and the unlabelled images are drawn from

mnist_train = image_tensors(load_mnist(train=True), limit=N_POOL)
mnist_test = image_tensors(load_mnist(train=False))
x_source_train, y_source_train = select_classes(*mnist_train, SOURCE_CLASSES)
x_source_test, y_source_test = select_classes(*mnist_test, SOURCE_CLASSES)
x_target_pool, y_target_pool = select_classes(*mnist_train, TARGET_CLASSES)  # we may only use a few labels
x_target_test, y_target_test = select_classes(*mnist_test, TARGET_CLASSES)
x_source_test, y_source_test = x_source_test[:N_TEST], y_source_test[:N_TEST]
x_target_test, y_target_test = x_target_test[:N_TEST], y_target_test[:N_TEST]

source_info = checkpoint_info("resnet8_mnist04")
source_model = load_checkpoint("resnet8_mnist04", device)  # SHA-256 checked, eval mode


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test accuracy in eval mode, in batches."""
    model.eval()
    correct = sum((model(xb).argmax(1) == yb).sum().item() for xb, yb in TensorLoader(x, y, batch_size=500,
                                                                                         device=device))
    return correct / len(y)


source_accuracy = accuracy(source_model, x_source_test, y_source_test)
print(f"{source_info.name}: {source_info.description}")
print(f"trained for {source_info.training['epochs']} epochs on {source_info.training['train_images']:,} images; "
      f"accuracy on {len(y_source_test):,} test digits 0–4: {source_accuracy:.2%}")

# %% [markdown]
# **A shifted feature distribution.** The same digits, drawn differently: inverted (white background), rotated by a
# quarter turn, with Gaussian pixel noise, and faded (low contrast on a grey background). Nothing about the task has
# changed, only $P(X)$. Shifts are applied to pixel values in $[0, 1]$, then the images are standardised again as
# the network expects.

# %%
MEAN, STD = source_info.normalization


def shifted(x: torch.Tensor, shift: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """Standardised digits `x` with a change of distribution applied to their pixels."""
    pixels = x * STD + MEAN
    if shift == "inverted":
        pixels = 1 - pixels
    elif shift == "rotated":
        pixels = torch.rot90(pixels, 1, dims=(2, 3))
    elif shift == "noisy":
        pixels = (pixels + 0.3 * torch.randn(pixels.shape, generator=generator)).clamp(0, 1)
    elif shift == "faded":
        pixels = 0.3 + 0.4 * pixels
    elif shift != "none":
        raise ValueError(f"unknown shift {shift!r}")
    return (pixels - MEAN) / STD


SHIFTS = ["none", "inverted", "rotated", "noisy", "faded"]
shifted_test = {s: shifted(x_source_test, s, torch.Generator().manual_seed(0)) for s in SHIFTS}
show_images(torch.cat([shifted_test[s][:4] for s in SHIFTS]), labels=[s for s in SHIFTS for _ in range(4)],
            ncols=8, size=1.0)
plt.show()
shift_accuracy = {s: accuracy(source_model, shifted_test[s], y_source_test) for s in SHIFTS}
for s in SHIFTS:
    print(f"{s:>9}: accuracy of the source network {shift_accuracy[s]:.2%}")
assert all(shift_accuracy[s] < shift_accuracy["none"] - 0.2 for s in SHIFTS[1:])

# %% [markdown]
# Every shift costs the source network a large part of its accuracy (each by more than twenty points), although a
# person reads all five rows equally well.
#
# **A new label space.** Show the network the digits 5–9. It can only answer 0–4, so its accuracy is zero by
# construction; what it answers says which source features it sees in the new digits:

# %%
with torch.no_grad():
    target_guesses = torch.cat([source_model(xb).argmax(1).cpu()
                                for xb, in TensorLoader(x_target_test, batch_size=500, device=device)])
rows = ["| true digit | " + " | ".join(f"called {c}" for c in SOURCE_CLASSES) + " |", "|---" * 6 + "|"]
favourite = {}  # target digit -> the source digit it is most often called
for index, digit in enumerate(TARGET_CLASSES):
    counts = torch.bincount(target_guesses[y_target_test == index], minlength=len(SOURCE_CLASSES))
    shares = counts / counts.sum()
    favourite[digit] = SOURCE_CLASSES[shares.argmax()]
    rows.append(f"| {digit} | " + " | ".join(f"{share:.0%}" for share in shares) + " |")
display(Markdown("\n".join(rows)))
assert favourite[5] == 3 and favourite[9] == 4

# %% [markdown]
# Each new digit is mapped to the old digits it shares strokes with (read the table: a 5 is mostly called a 3, a
# 9 mostly a 4; the code checks both). The features are useful, the output layer is not: the case for keeping the body and replacing the
# head (section 3).
#
# ## 2. Aligning feature distributions without labels
#
# If the target images have **no labels** at all, the notes' suggestion is to make the distributions of the
# network's inner activations on source and target images alike. BatchNorm gives the simplest version for free
# (AdaBN, Li et al. 2016): every BatchNorm layer standardises its input with a mean and variance it estimated on
# the *source* data. Estimate them again on unlabelled *target* images, change nothing else:
#
# $$\hat z = \gamma\,\frac{z - \mu_T}{\sqrt{\sigma_T^2 + \epsilon}} + \beta, \qquad \mu_T, \sigma^2_T
# \text{ measured on target images instead of } \mu_S, \sigma^2_S.$$
#
# The unlabelled images are 2000 *training* digits with the same shift; the test digits stay unseen. The code
# checks that the faded digits come back above 95 % and that the rotated ones stay below 60 %. <!-- asserted -->

# %%
def adapt_batchnorm(model: nn.Module, unlabelled: torch.Tensor) -> nn.Module:
    """A copy of `model` whose BatchNorm statistics are re-estimated on `unlabelled` (no labels, no gradients)."""
    adapted = copy.deepcopy(model)
    for module in adapted.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.reset_running_stats()
            module.momentum = None  # a plain average over all batches instead of a moving one
    adapted.train()
    with torch.no_grad():
        for xb, in TensorLoader(unlabelled, batch_size=500, device=device):
            adapted(xb)
    return adapted.eval()


unlabelled_source = x_source_train[:2000]
adabn_accuracy = {}
for s in SHIFTS[1:]:
    adapted = adapt_batchnorm(source_model, shifted(unlabelled_source, s, torch.Generator().manual_seed(1)))
    adabn_accuracy[s] = accuracy(adapted, shifted_test[s], y_source_test)
    print(f"{s:>9}: {shift_accuracy[s]:.2%} → {adabn_accuracy[s]:.2%} after re-estimating BatchNorm statistics")
assert adabn_accuracy["faded"] > 0.95 and adabn_accuracy["noisy"] > shift_accuracy["noisy"] + 0.1
assert adabn_accuracy["rotated"] < 0.6

# %% [markdown]
# For the faded digits the repair is almost complete, and noise loses much of its effect: both shifts change the
# *statistics* of the activations (a new contrast and offset, extra variance) more than their *shape*, and the
# first BatchNorm layer undoes exactly that. A quarter turn stays far below the source accuracy: rotated strokes
# excite different filters, and no per-channel mean and variance can bring them back.
# Aligning distributions helps with shifts of the first kind; the others need labels or a different architecture.
# (The notes also mention splitting a network into domain-specific and shared parts; the papers they cite are the
# place to read on.)
#
# ## 3. The mechanics: heads, freezing, parameter groups, BatchNorm
#
# **Replacing the head.** An ImageNet classifier ends in 1000 outputs; a new task needs as many outputs as it has
# classes. Keep everything up to the features, put a new, randomly initialised linear layer on top. torchvision's
# `resnet18` calls its head `fc`; the course's ResNet-8 uses the same names (`conv1`, `bn1`, `layer1`–`layer3`,
# `fc`), so the same code works for both. Building `resnet18` on the `meta` device costs neither memory nor time:

# %%
def replace_head(model: nn.Module, num_classes: int) -> nn.Module:
    """Swap `model.fc` for a fresh linear layer with `num_classes` outputs (same inputs)."""
    old = model.fc
    model.fc = nn.Linear(old.in_features, num_classes, device=old.weight.device)
    return model


with torch.device("meta"):
    imagenet_shape = resnet18(weights=None)
print(f"resnet18 head: {imagenet_shape.fc}")
print(f"after replace_head(..., 10): {replace_head(imagenet_shape, 10).fc}")
print(f"course ResNet-8 (digits 0–4) head: {source_model.fc}")

# %% [markdown]
# **Freezing by name.** A frozen parameter gets no gradient (`requires_grad=False`) and so never changes.
# Parameter names say where they sit (`layer2.0.conv1.weight`), so freezing "everything up to `layer2`" is a
# prefix test:

# %%
def freeze(model: nn.Module, prefixes: tuple[str, ...]) -> nn.Module:
    """Set requires_grad=False on every parameter whose name starts with one of `prefixes`."""
    for name, parameter in model.named_parameters():
        if name.startswith(prefixes):
            parameter.requires_grad_(False)
    return model


def trainable(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


BACKBONE = ("conv1", "bn1", "layer1", "layer2", "layer3")
total = sum(p.numel() for p in source_model.parameters())
for frozen in [(), ("conv1", "bn1", "layer1"), ("conv1", "bn1", "layer1", "layer2"), BACKBONE]:
    model = freeze(copy.deepcopy(source_model), frozen)
    print(f"frozen {', '.join(frozen) or 'nothing':<36} trainable {trainable(model):>6,} of {total:,} parameters")
assert trainable(freeze(copy.deepcopy(source_model), BACKBONE)) == source_model.fc.weight.numel() + 5

# %% [markdown]
# **Parameter groups.** Instead of all or nothing, an optimizer can give each group of parameters its own
# learning rate ("discriminative" learning rates): a fresh head needs large steps, pretrained layers small ones so
# that they are adjusted, not overwritten. PyTorch takes a list of dictionaries:

# %%
def head_and_backbone_groups(model: nn.Module, lr: float, backbone_factor: float) -> list[dict]:
    """Two parameter groups: `fc` at `lr`, everything else at `lr * backbone_factor`."""
    head = [p for name, p in model.named_parameters() if name.startswith("fc.")]
    backbone = [p for name, p in model.named_parameters() if not name.startswith("fc.")]
    return [{"params": backbone, "lr": lr * backbone_factor}, {"params": head, "lr": lr}]


optimizer = torch.optim.SGD(head_and_backbone_groups(copy.deepcopy(source_model), lr=0.05, backbone_factor=0.1),
                            momentum=0.9)
for group in optimizer.param_groups:
    print(f"group of {sum(p.numel() for p in group['params']):>6,} parameters: lr {group['lr']:g}")

# %% [markdown]
# **`requires_grad=False` does not freeze BatchNorm.** A BatchNorm layer has two *buffers*, the running mean and
# variance, which are not parameters: they get no gradient, and they are updated by every forward pass in
# training mode. So a "frozen" backbone still changes under `model.train()`, as one forward pass shows:

# %%
def running_mean_change(model: nn.Module, batch: torch.Tensor) -> float:
    """How far one forward pass moves the first BatchNorm layer's running mean (largest absolute change)."""
    before = model.bn1.running_mean.clone()
    with torch.no_grad():
        model(batch)
    return (model.bn1.running_mean - before).abs().max().item()


frozen_backbone = freeze(copy.deepcopy(source_model), BACKBONE)
batch = x_target_pool[:64].to(device)
change_train = running_mean_change(frozen_backbone.train(), batch)
change_eval = running_mean_change(frozen_backbone.eval(), batch)
print(f"every parameter of the backbone frozen; one forward pass moves bn1's running mean by "
      f"{change_train:.4f} in train mode and by {change_eval:.4f} in eval mode")
assert change_train > 0 and change_eval == 0

# %% [markdown]
# In train mode a BatchNorm layer also normalises each batch with *that batch's* statistics, which are noisy when
# batches are small, as they are with few labels. To really freeze a BatchNorm layer, keep it in eval mode, or
# replace it by torchvision's `FrozenBatchNorm2d`: the same affine map $\gamma (z-\mu)/\sqrt{\sigma^2+\epsilon}+\beta$
# with every quantity a constant, whatever the mode. (Detection models fine-tune their ImageNet backbones this way.)

# %%
def freeze_batchnorm(model: nn.Module, prefixes: tuple[str, ...] = ("",)) -> nn.Module:
    """Replace every BatchNorm2d whose name starts with one of `prefixes` by a FrozenBatchNorm2d (same statistics)."""
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.BatchNorm2d) and name.startswith(prefixes):
            parent, _, attribute = name.rpartition(".")
            frozen_bn = FrozenBatchNorm2d(module.num_features, eps=module.eps).to(module.weight.device)
            frozen_bn.load_state_dict(module.state_dict())  # its loader drops num_batches_tracked
            model.get_submodule(parent).add_module(attribute, frozen_bn)  # replaces the child of that name
    return model


check = freeze_batchnorm(copy.deepcopy(source_model))
with torch.no_grad():
    same_output = torch.allclose(check.eval()(batch), source_model.eval()(batch), atol=1e-5)
change_frozen = running_mean_change(check.train(), batch)
print(f"FrozenBatchNorm2d gives the same outputs as eval-mode BatchNorm: {same_output}; in train mode one forward "
      f"pass moves its mean by {change_frozen:.4f}")
assert same_output and change_frozen == 0

# %% [markdown]
# ## 4. Few labels: from scratch, linear probe, fine-tuning
#
# Now the main experiment. The target task is the digits 5–9 with $n$ labelled images per class, for a few small
# $n$, each drawn with several seeds. Four ways to use them:
#
# 1. **from scratch**: the same ResNet-8 with random weights, every parameter trained;
# 2. **linear probe** (feature extraction): the pretrained backbone frozen in eval mode, its 64 features
#    computed once, and only a new linear head trained on them;
# 3. **full fine-tune**: the pretrained network with a new head, every parameter trained at the head's rate;
# 4. **fine-tune, backbone lr ÷ 10**: the same with two parameter groups.
#
# All runs use SGD with momentum and the same number of steps; the probe, being a single linear layer on cached
# features, is cheap and gets more steps. Accuracy is measured on the same held-out test digits 5–9.

# %%
SHOTS = [5, 20, 100]  # labelled images per class
SEEDS = [0, 1, 2, 3, 4] if device.type == "cuda" else [0, 1]
STEPS, PROBE_STEPS, LR, BATCH = 40, 300, 0.05, 32


def few_shot(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n images of every target class, drawn at random (reproducibly) from the training split."""
    generator = torch.Generator().manual_seed(seed)
    picks = [torch.nonzero(y_target_pool == c).flatten() for c in range(len(TARGET_CLASSES))]
    index = torch.cat([p[torch.randperm(len(p), generator=generator)[:n]] for p in picks])
    return x_target_pool[index], y_target_pool[index]


def train_for_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, optimizer: torch.optim.Optimizer,
                    steps: int, seed: int) -> nn.Module:
    """Train with `fit` on (x, y) for about `steps` mini-batches (whole epochs), quietly."""
    loader = TensorLoader(x, y, batch_size=min(BATCH, len(y)), shuffle=True, device=device, seed=seed)
    fit(model, loader, optimizer, math.ceil(steps / len(loader)), device=device, plot=False, progress=False)
    return model


def features(backbone: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([backbone.eval()(xb) for xb, in TensorLoader(x, batch_size=500, device=device)])


def probe_accuracy(train_features: torch.Tensor, y: torch.Tensor, test_features: torch.Tensor,
                   y_test: torch.Tensor, seed: int) -> float:
    """Accuracy of a linear classifier trained on cached features (standardised with the training statistics)."""
    mean, std = train_features.mean(0), train_features.std(0) + 1e-6
    seed_everything(seed)
    head = nn.Linear(train_features.shape[1], int(y.max()) + 1).to(device)
    optimizer = torch.optim.SGD(head.parameters(), lr=LR, momentum=0.9, weight_decay=5e-4)
    train_for_steps(head, (train_features - mean) / std, y.to(device), optimizer, PROBE_STEPS, seed)
    return accuracy(head, (test_features - mean) / std, y_test.to(device))


def pretrained_with_new_head(seed: int) -> nn.Module:
    seed_everything(seed)
    return replace_head(load_checkpoint("resnet8_mnist04", device), len(TARGET_CLASSES))


def run_method(method: str, x: torch.Tensor, y: torch.Tensor, seed: int) -> float:
    if method == "linear probe":
        backbone = load_checkpoint("resnet8_mnist04", device)[:-1]
        return probe_accuracy(features(backbone, x), y, features(backbone, x_target_test), y_target_test, seed)
    if method == "from scratch":
        seed_everything(seed)
        model = build_model("resnet8_mnist04").to(device)
        groups = model.parameters()
    else:
        model = pretrained_with_new_head(seed)
        groups = head_and_backbone_groups(model, LR, 0.1 if method == "fine-tune, backbone lr ÷ 10" else 1.0)
    optimizer = torch.optim.SGD(groups, lr=LR, momentum=0.9, weight_decay=5e-4)
    return accuracy(train_for_steps(model, x, y, optimizer, STEPS, seed), x_target_test, y_target_test)


METHODS = ["from scratch", "linear probe", "full fine-tune", "fine-tune, backbone lr ÷ 10"]
results = {}  # (method, n) -> accuracies over seeds
start = time.perf_counter()
for n, seed, method in tqdm([(n, s, m) for n in SHOTS for s in SEEDS for m in METHODS], desc="runs"):
    results.setdefault((method, n), []).append(run_method(method, *few_shot(n, seed), seed))
print(f"{len(SHOTS) * len(SEEDS) * len(METHODS)} runs in {time.perf_counter() - start:.1f} s")


def mean_std(values: list[float]) -> tuple[float, float]:
    values = torch.tensor(values)
    return values.mean().item(), (values.std().item() if len(values) > 1 else 0.0)


header = "| method | " + " | ".join(f"{n} per class" for n in SHOTS) + " |"
table = [header, "|---" * (len(SHOTS) + 1) + "|"]
for method in METHODS:
    cells = [f"{m:.1%} ± {s:.1%}" for m, s in (mean_std(results[(method, n)]) for n in SHOTS)]
    table.append(f"| {method} | " + " | ".join(cells) + " |")
display(Markdown(f"Test accuracy on the digits 5–9 (mean ± standard deviation over {len(SEEDS)} seeds):\n\n"
                 + "\n".join(table)))

fig, ax = plt.subplots(figsize=(7, 3.6))
for method, colour in zip(METHODS, ["C3", "C1", "C0", "C2"]):
    means, stds = zip(*(mean_std(results[(method, n)]) for n in SHOTS))
    ax.errorbar(SHOTS, means, yerr=stds, marker="o", capsize=3, color=colour, label=method)
ax.set(xscale="log", xticks=SHOTS, xticklabels=[str(n) for n in SHOTS], xlabel="labelled images per class",
       ylabel="test accuracy (digits 5–9)", title="transfer from digits 0–4 vs training from scratch")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()

mean_of = {key: mean_std(values)[0] for key, values in results.items()}
for n in SHOTS:
    best = max(METHODS[1:], key=lambda m: mean_of[(m, n)])
    print(f"{n:>3} per class: best transfer method '{best}' {mean_of[(best, n)]:.1%}, "
          f"from scratch {mean_of[('from scratch', n)]:.1%}")
    assert mean_of[(best, n)] > mean_of[("from scratch", n)]
assert mean_of[("linear probe", SHOTS[0])] > mean_of[("from scratch", SHOTS[0])]

# %% [markdown]
# What the table shows:
#
# - At every data size the best way to reuse the pretrained network beats training the same network from scratch,
#   and with the fewest labels even the frozen features with a linear head do.
# - Every run gets the same number of steps. A network trained from scratch would need many more steps, and many
#   more images, to catch up; the pretrained ones start from features that already separate strokes.
# - A full fine-tune at the head's learning rate moves the pretrained weights as fast as the random head, and can
#   overwrite what they learned when a few noisy batches pull them around; a ten times smaller learning rate for the
#   backbone adapts it more gently. Compare the two fine-tuning rows, mean and spread, at each size: which one
#   wins is not the same for every data size and seed, which is why fine-tuning recipes tune this factor.
# - The linear probe is the cheapest (one pass through the backbone, then a tiny linear problem) but limited by
#   features learned for other digits.
#
# **BatchNorm during fine-tuning.** Fine-tune only the last stage and the head (`layer3`, `fc`), with everything
# before it frozen, in two ways that differ only in what the frozen BatchNorm layers do: left in train mode (the
# default after `requires_grad=False`), or really frozen with `freeze_batchnorm`.

# %%
EARLY = ("conv1", "bn1", "layer1", "layer2")


def fine_tune_last_stage(x: torch.Tensor, y: torch.Tensor, seed: int, frozen_batchnorm: bool) -> float:
    model = freeze(pretrained_with_new_head(seed), EARLY)
    if frozen_batchnorm:
        freeze_batchnorm(model, EARLY)
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=LR, momentum=0.9,
                                weight_decay=5e-4)
    return accuracy(train_for_steps(model, x, y, optimizer, STEPS, seed), x_target_test, y_target_test)


bn_results = {mode: [fine_tune_last_stage(*few_shot(SHOTS[0], seed), seed, mode == "frozen")
                     for seed in SEEDS] for mode in ("train mode", "frozen")}
for mode, values in bn_results.items():
    mean, std = mean_std(values)
    print(f"layer3 + fc fine-tuned on {SHOTS[0]} images per class, early BatchNorm {mode:>10}: "
          f"{mean:.1%} ± {std:.1%}  (seeds: {', '.join(f'{v:.1%}' for v in values)})")

# %% [markdown]
# With few labels a batch holds only a few dozen images. In train mode the frozen early layers normalise each batch
# with its own noisy statistics and keep moving their running averages, so the features `layer3` learns from are
# not the features it sees at test time. Frozen BatchNorm removes both effects. Compare the two rows, with the
# spread over seeds: here the target digits have almost the same pixel statistics as the source digits, so the
# early layers' statistics hardly change, and we expect a small difference. It grows when the target's statistics
# differ (section 2's shifts) or batches are tiny, and then you have to decide on purpose: frozen statistics keep
# the source's normalisation, train mode adapts it to the target, as AdaBN did.
#
# ## 5. Which layers transfer
#
# The notes distinguish **inter-domain** features, useful in both domains, from **intra-domain** ones, specific to
# the source. In a convolutional network the early layers compute edges and strokes, the late ones combinations
# that were useful for the source labels. Measure it: take the activations after each stage, average-pool them to
# 4×4 so that every depth gives a vector of similar size, and train a linear probe on them, for a near target
# (digits 5–9) and a far one (Fashion-MNIST), with the pretrained network and with the same network at random
# initialisation as the baseline.

# %%
STAGES = ["maxpool", "layer1", "layer2", "layer3"]
PROBE_IMAGES = 500  # labelled training images per target for the probes


def stage_features(model: nn.Sequential, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """The activations after each of STAGES, average-pooled to 4×4 and flattened: {stage: (N, C·16)}."""
    found = {}
    with torch.no_grad():
        for xb, in TensorLoader(x, batch_size=500, device=device):
            h = xb
            for name, layer in model.eval().named_children():
                h = layer(h)
                if name in STAGES:
                    found.setdefault(name, []).append(F.adaptive_avg_pool2d(h, 4).flatten(1))
                if name == STAGES[-1]:
                    break
    return {name: torch.cat(parts) for name, parts in found.items()}


fashion_train = image_tensors(load_fashion_mnist(train=True), limit=N_POOL)
fashion_test = image_tensors(load_fashion_mnist(train=False))
targets = {
    "digits 5–9": (*few_shot(PROBE_IMAGES // len(TARGET_CLASSES), seed=0), x_target_test, y_target_test),
    "Fashion-MNIST": (fashion_train[0][:PROBE_IMAGES], fashion_train[1][:PROBE_IMAGES],
                      fashion_test[0][:N_TEST], fashion_test[1][:N_TEST]),
}
seed_everything(0)
networks = {"pretrained (digits 0–4)": load_checkpoint("resnet8_mnist04", device),
            "random initialisation": build_model("resnet8_mnist04").to(device)}
depth_accuracy = {}
for (network, model), (target, (x, y, x_test, y_test)) in tqdm(
        [(n, t) for n in networks.items() for t in targets.items()], desc="probes"):
    train_features, test_features = stage_features(model, x), stage_features(model, x_test)
    for stage in STAGES:
        depth_accuracy[(network, target, stage)] = probe_accuracy(train_features[stage], y, test_features[stage],
                                                                  y_test, seed=0)

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=True)
for ax, target in zip(axes, targets):
    for network, style in zip(networks, ["-", "--"]):
        ax.plot(STAGES, [depth_accuracy[(network, target, s)] for s in STAGES], marker="o", ls=style, label=network)
    ax.set(title=f"linear probe on each stage: {target}", xlabel="features after", ylabel="test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
for network in networks:
    for target in targets:
        print(f"{network:>24}, {target:>13}: "
              + ", ".join(f"{s} {depth_accuracy[(network, target, s)]:.1%}" for s in STAGES))
gain = {target: depth_accuracy[("pretrained (digits 0–4)", target, "layer3")]
        - depth_accuracy[("random initialisation", target, "layer3")] for target in targets}
print(f"at the last stage, pretraining adds {gain['digits 5–9']:+.1%} on digits 5–9 "
      f"and {gain['Fashion-MNIST']:+.1%} on Fashion-MNIST")
far_best = max(STAGES, key=lambda s: depth_accuracy[("pretrained (digits 0–4)", "Fashion-MNIST", s)])
print(f"the best pretrained stage for Fashion-MNIST: {far_best}")
assert gain["digits 5–9"] > 0.02
assert far_best != STAGES[-1]

# %% [markdown]
# Read the two panels side by side. Random convolutions followed by pooling are already a decent feature extractor
# for a linear probe (the dashed curves), so the question is what *pretraining adds* at each depth. On the near
# target the pretrained network's late features are clearly better than random ones (by more than two points,
# checked above). On the far target the pretrained network's best features are not its last ones: those were
# shaped for digits, the earlier ones (edges, strokes) serve clothes as well.
# This is the practical rule: the closer the target to the source, the more layers you can keep frozen; for a far
# target keep the early layers and retrain, or fine-tune, the late ones.
#
# ## 6. Learning from a black box: knowledge distillation
#
# The notes' "extreme case": a large, well-trained network whose weights and architecture we cannot see, only
# its outputs. We can still transfer what it knows by training a small **student** to reproduce the **teacher's**
# outputs (Hinton, Vinyals & Dean, 2015). The outputs carry more than the label: a teacher that gives a shirt
# some probability of being a T-shirt and none of being a boot says which classes look alike ("dark knowledge").
# The probabilities of the wrong classes are tiny, so they are softened with a **temperature** $T$:
#
# $$p_i^{(T)} = \frac{\exp(z_i / T)}{\sum_j \exp(z_j / T)}, \qquad
# \mathcal L = \alpha\, T^2\, \mathrm{KL}\!\left(p^{(T)}_\text{teacher} \,\middle\|\, p^{(T)}_\text{student}\right)
# + (1 - \alpha)\, \mathrm{CE}\!\left(y,\; p^{(1)}_\text{student}\right).$$
#
# The gradient of the soft term with respect to the student's logits shrinks like $1/T^2$, hence the factor $T^2$:
# it keeps the balance between the two terms the same at every temperature.
#
# The teacher is the course's wide ResNet-8 on Fashion-MNIST. We call it once on the student's training images
# and keep only its logits, as if it were a remote service.

# %%
FASHION_CLASSES = load_fashion_mnist(train=False).classes
N_DISTILL = 1000  # few labelled images: where a teacher helps most
x_distill, y_distill = fashion_train[0][:N_DISTILL], fashion_train[1][:N_DISTILL]
x_distill_test, y_distill_test = fashion_test[0][:N_TEST], fashion_test[1][:N_TEST]
teacher_info = checkpoint_info("resnet8_wide_fashion")
teacher = load_checkpoint("resnet8_wide_fashion", device)


def logits_of(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model.eval()(xb) for xb, in TensorLoader(x, batch_size=500, device=device)])


teacher_logits = logits_of(teacher, x_distill)
teacher_test_accuracy = accuracy(teacher, x_distill_test, y_distill_test)
print(f"teacher {teacher_info.name}: {sum(p.numel() for p in teacher.parameters()):,} parameters, "
      f"accuracy {teacher_test_accuracy:.2%} on {len(y_distill_test):,} test images "
      f"({teacher_info.metrics['test_accuracy']:.2%} on the whole test split, from its manifest)")


def draw_soft_targets(temperature=4.0):
    fig, axes = plt.subplots(1, 3, figsize=(11, 2.6))
    for ax, index in zip(axes, [0, 4, 7]):
        probabilities = F.softmax(teacher_logits[index].cpu() / temperature, dim=0)
        ax.bar(range(10), probabilities, color=["C2" if c == y_distill[index] else "C0" for c in range(10)])
        ax.set_xticks(range(10), FASHION_CLASSES, rotation=70, fontsize=7)
        ax.set(ylim=(0, 1), title=f"{FASHION_CLASSES[y_distill[index]]} (green), T = {temperature:g}")
    axes[0].set_ylabel("teacher's probability")
    plt.show()


explore(draw_soft_targets, temperature=FloatSlider(value=4.0, min=0.5, max=20.0, step=0.5,
                                                   description="T"))

# %% [markdown]
# Move the slider: at $T = 1$ the teacher is almost certain and its answer says little more than the label; as
# $T$ grows the other classes appear, in the teacher's order of similarity; at very high $T$ everything flattens
# towards uniform and the information fades again.
#
# The student is a small multilayer perceptron. It learns once from the hard labels alone and once from the
# distillation loss, with the same seeds, images and number of steps.

# %%
ALPHA, DISTILL_EPOCHS = 0.9, 30
TEMPERATURES = [1, 2, 4, 8]
DISTILL_SEEDS = SEEDS


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float, alpha: float) -> torch.Tensor:
    soft = F.kl_div(F.log_softmax(student_logits / temperature, dim=1),
                    F.log_softmax(teacher_logits / temperature, dim=1), log_target=True, reduction="batchmean")
    return alpha * temperature**2 * soft + (1 - alpha) * F.cross_entropy(student_logits, labels)


def student_network() -> nn.Module:
    return nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 128), nn.ReLU(), nn.Linear(128, 10)).to(device)


def train_student(temperature: float, alpha: float, seed: int) -> float:
    """Train a fresh student (alpha = 0: hard labels only) and return its test accuracy."""
    seed_everything(seed)
    student = student_network()
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
    for epoch in range(DISTILL_EPOCHS):
        for xb, tb, yb in TensorLoader(x_distill, teacher_logits, y_distill, batch_size=100, shuffle=True,
                                       device=device, seed=seed * 1000 + epoch):
            loss = distillation_loss(student(xb), tb, yb, temperature, alpha)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    return accuracy(student, x_distill_test, y_distill_test)


student_parameters = sum(p.numel() for p in student_network().parameters())
settings = [("hard labels", 1.0, 0.0)] + [(f"distilled, T = {t}", t, ALPHA) for t in TEMPERATURES]
distill_results = {name: [] for name, _, _ in settings}
for (name, temperature, alpha), seed in tqdm([(s, seed) for s in settings for seed in DISTILL_SEEDS],
                                             desc="students"):
    distill_results[name].append(train_student(temperature, alpha, seed))
print(f"student: {student_parameters:,} parameters; {N_DISTILL:,} training images, {DISTILL_EPOCHS} epochs, "
      f"{len(DISTILL_SEEDS)} seeds; teacher {teacher_test_accuracy:.2%}")
for name, values in distill_results.items():
    mean, std = mean_std(values)
    print(f"{name:>18}: test accuracy {mean:.2%} ± {std:.2%}")
hard = mean_std(distill_results["hard labels"])[0]
best_name = max(distill_results, key=lambda k: mean_std(distill_results[k])[0])
print(f"best: {best_name}, {mean_std(distill_results[best_name])[0] - hard:+.2%} over hard labels")
assert mean_std(distill_results["distilled, T = 4"])[0] > hard + 0.01

# %% [markdown]
# The distilled students beat the same student trained on the labels alone, with nothing from the teacher but its
# outputs on the training images (for `T = 4` the code checks a gain of more than one point; the other
# temperatures are printed: compare `T = 1`, where the soft targets are nearly the labels). The student stays
# below the teacher: it is a much smaller network. Distillation is how large models are compressed for phones,
# and how a model behind an API can teach one you own.
#
# ## 7. The ImageNet route: torchvision's weights API
#
# For photographs, the source network is usually an ImageNet classifier from `torchvision.models`. Each
# architecture has a **weights enum** (`ResNet18_Weights`) whose members describe one set of trained weights:
# where the file is, what it reaches on ImageNet (from torchvision's metadata, not measured here), its class names,
# and the exact **preprocessing** the weights were trained with: `weights.transforms()`. Using other preprocessing
# (another size, no normalisation) silently costs accuracy, so always take it from the weights.

# %%
weights = ResNet18_Weights.IMAGENET1K_V1
preprocess = weights.transforms()
metrics = weights.meta["_metrics"]["ImageNet-1K"]
print(f"{weights}: {weights.meta['num_params']:,} parameters, {len(weights.meta['categories'])} classes, "
      f"ImageNet top-1 {metrics['acc@1']}% / top-5 {metrics['acc@5']}% (torchvision's metadata)")
print(f"file: {weights.url.rsplit('/', 1)[-1]}")
print(f"preprocessing: {preprocess}")

# A real Fashion-MNIST test image, made to look like a photo: 3 channels, resized and cropped, normalised.
image = load_fashion_mnist(train=False).data[0].float().div(255).expand(3, -1, -1)
photo_batch = preprocess(image).unsqueeze(0)
print(f"image {tuple(image.shape)} → network input {tuple(photo_batch.shape)}")

# %% [markdown]
# The weight file is not part of the course. `stage_torchvision_weights` copies it into torch's cache from the
# folder `$COURSE_WEIGHTS_MIRROR` names (an offline classroom copies it there once); online, torchvision downloads
# it on first use. The cell below runs the pretrained network if the file is available and otherwise says so and
# shows the same steps on the architecture alone; nothing in this lecture depends on it.

# %%
weight_file = stage_torchvision_weights(weights)
if weight_file.is_file():
    imagenet_model = resnet18(weights=weights).to(device).eval()
    with torch.no_grad():
        top3 = F.softmax(imagenet_model(photo_batch.to(device)), dim=1)[0].topk(3)
    print(f"ImageNet weights loaded from {weight_file.name}; "
          f"the {FASHION_CLASSES[fashion_test[1][0]]} is, for ImageNet: "
          + ", ".join(f"{weights.meta['categories'][i]} ({p:.1%})" for p, i in zip(top3.values, top3.indices)))
else:
    print(f"No ImageNet weights here ({weight_file.name} is neither in torch's cache nor in $COURSE_WEIGHTS_MIRROR): "
          f"the steps below run on resnet18's architecture with random weights, to show the shapes only.")
    imagenet_model = resnet18(weights=None).to(device).eval()

replace_head(imagenet_model, len(FASHION_CLASSES))
freeze(imagenet_model, tuple(name for name, _ in imagenet_model.named_children() if name != "fc"))
with torch.no_grad():
    new_logits = imagenet_model.eval()(photo_batch.to(device))
print(f"new head {imagenet_model.fc}; trainable {trainable(imagenet_model):,} of "
      f"{sum(p.numel() for p in imagenet_model.parameters()):,} parameters; output {tuple(new_logits.shape)}")
assert new_logits.shape == (1, len(FASHION_CLASSES)) and trainable(imagenet_model) == 512 * 10 + 10
print(f"whole lecture: {time.perf_counter() - LECTURE_START:.0f} s on {device}")

# %% [markdown]
# From here, training the new head (a linear probe) or fine-tuning is exactly sections 3 and 4, with
# `preprocess` applied to every image. The ImageNet features are inter-domain for most photographs; for
# grey 28×28 digits they are a far target (another feature space: channels, size, statistics), which is why the
# course's own checkpoints are the better source for this lecture's experiments.
#
# ## Summary
#
# - **Transfer learning** reuses a network trained on a source task for a target task with few labels. Domains
#   can differ in feature space, feature distribution, label space or $P(Y\mid X)$, and the target may be
#   unlabelled.
# - A **shifted distribution** can cost a network most of its accuracy. If the shift is in the statistics of the
#   activations (contrast, noise), re-estimating **BatchNorm statistics on unlabelled target images** repairs much
#   of it; a change of shape (rotation) it cannot.
# - **Mechanics**: replace `model.fc`, freeze by name with `requires_grad_(False)`, give the backbone its own
#   smaller learning rate with **parameter groups**, and remember that `requires_grad` does not freeze BatchNorm's
#   running statistics: use `eval()` or `FrozenBatchNorm2d`.
# - **With few labels**, reusing pretrained weights beats training from scratch; the linear probe is cheapest,
#   fine-tuning with a lower backbone learning rate usually best; the gap shrinks as data grows.
# - **Which layers transfer**: early features are shared across domains, late ones specific to the source; the
#   farther the target, the fewer layers to keep frozen.
# - **Distillation** transfers knowledge through outputs only: soften with a temperature $T$, match with a KL
#   term scaled by $T^2$, and mix with the hard-label loss.
# - **ImageNet models**: `weights=ResNet18_Weights.IMAGENET1K_V1`, preprocessing from `weights.transforms()`, the
#   file from torch's cache or `$COURSE_WEIGHTS_MIRROR`.
#
# ## Try it yourself
#
# 1. **Fashion-MNIST as the target.** Repeat section 4 with Fashion-MNIST (ten classes) instead of the digits 5–9.
#    Does transfer from digits still beat training from scratch? With how many labels per class?
# 2. **Gradual unfreezing.** Train the head alone for a few steps, then unfreeze `layer3`, then everything, each with
#    its own learning rate. Does it beat the two fine-tuning rows of the table?
# 3. **AdaBN for the digits 5–9.** Does re-estimating BatchNorm statistics on unlabelled digits 5–9 improve the
#    linear probe of section 4?
# 4. **Distillation without labels.** Set `alpha = 1` and train the student on Fashion-MNIST images the teacher
#    has labelled only by its logits (use images 2000–12000 of the training split). How close does it get?
