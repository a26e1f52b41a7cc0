# ---
# jupyter:
#   jupytext:
#     formats: ipynb,.pct.py:percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown] nbgrader={"grade": false, "grade_id": "intro", "locked": true, "schema_version": 3, "solution": false, "task": false}
# # Assignment 08 — Transfer learning
#
# Lecture 08 froze a network by name, swapped `model.fc` for a new head, gave the backbone its own learning rate
# and distilled a teacher into a student. Real code bases need more careful versions of each: names that look
# alike, heads that are not called `fc`, weight decay that must not touch biases, losses on images instead of
# single vectors. In this assignment you write them, and then use the course's pretrained network on a target
# task with five labelled images per class:
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `freeze` and `train_mode`: freeze by name, with BatchNorm's running statistics frozen too | 2 |
# | 2 | `replace_head`: a new classifier on any network, whatever its head is called | 2 |
# | 3 | `parameter_groups`: a learning rate for the head and one for the backbone, no weight decay on biases and norms | 2 |
# | 4 | `distillation_loss`: soft targets with a temperature, the $T^2$ factor, reductions, dense outputs | 2 |
# | 5 | `adapt`: the digits 0–4 network adapted to the digits 5–9 from 25 labelled images | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. The tests you see there are small
# examples you can check by hand: run them as often as you like. When your notebook is graded, a grader
# outside your notebook calls your functions on networks it builds at random (other layer names, other
# heads, float64 and weights on the `meta` device), on random logits and temperatures, and it runs `adapt`
# itself on five images per class that it draws with a seed of its own, trains its own from-scratch baseline
# on the same images, and measures both on the test digits. A part scores its points only if all of its checks
# pass: make your code correct for every input the instructions allow, not just for the examples.
#
# Some more rules:
#
# - The parts are graded independently: a part you skip costs only its own points.
# - Do not rename the functions or change their arguments, and do not edit the test cells.
# - Code that interferes with grading (rebinding library functions, reading other files) sends the
#   submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook should run in well under a
#   minute on a laptop CPU.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
from collections import OrderedDict

import torch
from torch import nn
from torch.nn import functional as F

from course_utils import (build_model, choose_device, image_tensors, load_checkpoint, load_mnist, seed_everything,
                          select_classes)

# The networks here are small: on a CPU one thread trains them about as fast as two, and much faster when
# other programs keep the cores busy.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())

BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def small_net() -> nn.Sequential:
    """A small network with names that look alike (block1, block10): the examples of Parts 1 and 3."""
    def conv_block(c_in: int, c_out: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU())

    return nn.Sequential(OrderedDict(stem=conv_block(1, 2), block1=conv_block(2, 2), block10=conv_block(2, 2),
                                     pool=nn.AdaptiveAvgPool2d(1), flatten=nn.Flatten(), fc=nn.Linear(2, 3)))


# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — Freezing by name, BatchNorm included (2 points)
#
# The lecture froze every parameter whose name *starts with* a prefix. That is one character away from a bug:
# in a network with blocks `block1`, `block2`, …, `block10`, the prefix `"block1"` also freezes `block10`. And
# `requires_grad=False` does not freeze a BatchNorm layer: every forward pass in training mode still moves its
# running mean and variance, and normalises with the statistics of the current batch.
#
# **`freeze(model, prefixes)`**
# - `prefixes` is a list of names as `model.named_modules()` or `model.named_parameters()` spell them
#   (`"block1"`, `"block1.1"`, `"fc.bias"`). A parameter or module is **under** a prefix `p` when its name is `p`
#   or starts with `p + "."`: `"block1"` covers `block1.0.weight`, not `block10.0.weight`.
# - If a prefix is not the name of a submodule or a parameter (the empty string included), raise a `ValueError`
#   that names it, before changing anything.
# - Set `requires_grad` to `False` on every parameter under a prefix. Leave every other parameter as it is
#   (one that was frozen before stays frozen).
# - Put every BatchNorm layer (`nn.BatchNorm1d`, `nn.BatchNorm2d`, `nn.BatchNorm3d`; the tuple `BATCHNORM`) that
#   is under a prefix in eval mode (`layer.eval()`). Do not change the mode of any other module.
# - Return the names of the parameters under the prefixes, in the order of `model.named_parameters()`.
#
# A training loop calls `model.train()` at the start of every epoch, which would put those BatchNorm layers back
# in training mode. So the loop calls **`train_mode(model)`** instead: it puts the model in training mode, then
# every BatchNorm layer none of whose parameters requires a gradient back in eval mode, and returns `model`
# itself.

# %% nbgrader={"grade": false, "grade_id": "freeze", "locked": false, "schema_version": 3, "solution": true, "task": false}
def freeze(model: nn.Module, prefixes: list[str]) -> list[str]:
    """requires_grad=False under `prefixes` (exact names or name + "."), BatchNorm there in eval mode; the frozen names."""
    ### BEGIN SOLUTION
    def covered(name: str, prefix: str) -> bool:
        return name == prefix or name.startswith(prefix + ".")

    known = {name for name, _ in model.named_modules() if name} | {name for name, _ in model.named_parameters()}
    for prefix in prefixes:
        if prefix not in known:
            raise ValueError(f"{prefix!r} is not the name of a module or a parameter of the model")
    frozen_names = []
    for name, tensor in model.named_parameters():
        if any(covered(name, prefix) for prefix in prefixes):
            tensor.requires_grad_(False)
            frozen_names.append(name)
    for name, layer in model.named_modules():
        if isinstance(layer, BATCHNORM) and any(covered(name, prefix) for prefix in prefixes):
            layer.eval()
    return frozen_names
    ### END SOLUTION


def train_mode(model: nn.Module) -> nn.Module:
    """model.train(), but every BatchNorm layer whose parameters are all frozen stays in eval mode; returns model."""
    ### BEGIN SOLUTION
    model.train()
    for layer in model.modules():
        if isinstance(layer, BATCHNORM) and not any(p.requires_grad for p in layer.parameters()):
            layer.eval()
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_freeze", "locked": true, "schema_version": 3, "solution": false, "task": false, "points": 2}
from course_utils import testing as T

net = small_net()
frozen = freeze(net, ["block1"])
assert type(frozen) is list, f"freeze must return a list of names, got {type(frozen).__name__}"
assert frozen == ["block1.0.weight", "block1.0.bias", "block1.1.weight", "block1.1.bias"], (
    f"freeze(net, ['block1']) should freeze the four parameters of block1, got {frozen}. "
    "'block1' covers block1 and what is inside it (block1.0.weight), not block10")
trainable = [name for name, p in net.named_parameters() if p.requires_grad]
assert not any(name.startswith("block1.") for name in trainable), "the returned parameters must have requires_grad=False"
assert "block10.0.weight" in trainable and "fc.weight" in trainable, "parameters not under a prefix stay trainable"
assert not net.block1[1].training, "the BatchNorm layer under the prefix (block1.1) must be in eval mode"
assert net.block10[1].training and net.stem[1].training and net.training, "other modules keep their mode"

# A parameter's own name, and a BatchNorm layer by its name
assert freeze(small_net(), ["fc.bias"]) == ["fc.bias"], "a prefix may be a parameter's name"
only_bn = small_net()
assert freeze(only_bn, ["stem.1"]) == ["stem.1.weight", "stem.1.bias"] and not only_bn.stem[1].training

# Names that are not there: a ValueError, and nothing changes
for bad in ["block", "", "block1.weight"]:
    untouched = small_net()
    try:
        freeze(untouched, ["stem", bad])
    except ValueError:
        pass
    else:
        raise AssertionError(f"freeze(model, ['stem', {bad!r}]) should raise a ValueError: {bad!r} names nothing")
    assert all(p.requires_grad for p in untouched.parameters()), "raise the ValueError before freezing anything"

# A parameter that was frozen before stays frozen
net2 = small_net()
net2.fc.weight.requires_grad_(False)
freeze(net2, ["stem"])
assert not net2.fc.weight.requires_grad, "freeze must not unfreeze parameters outside the prefixes"

# train_mode: training mode for everything except the frozen BatchNorm layers
net.eval()
assert train_mode(net) is net, "train_mode returns the model itself"
assert net.training and net.block10[1].training and net.fc.training, "train_mode puts the model in training mode"
assert not net.block1[1].training, "block1.1's parameters are all frozen: it stays in eval mode"
before = {name: net.get_submodule(name).running_mean.clone() for name in ("block1.1", "block10.1")}
with torch.no_grad():
    net(torch.randn(4, 1, 6, 6))
T.assert_close(net.block1[1].running_mean, before["block1.1"], name="block1.1's running mean (frozen)")
assert not torch.equal(net.block10[1].running_mean, before["block10.1"]), "block10.1 is trainable: its statistics update"

print("✓ Part 1: freeze and train_mode pass the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — A new head on any network (2 points)
#
# The lecture replaced `model.fc`. torchvision's ResNets call their classifier `fc`, its MobileNets and
# EfficientNets `classifier[-1]`, a Swin transformer `head`, a vision transformer `heads.head`. What they have in
# common: the classifier is the last linear layer the network registers.
#
# **`replace_head(model, num_classes)`**
# - The head is the **last `nn.Linear`** (subclasses included) in `model.named_modules()` order. If the model has
#   none, raise a `ValueError`.
# - Replace it, in the module that holds it, by a new `nn.Linear` with the same `in_features`, `num_classes`
#   outputs, a bias exactly when the old head had one, on the **same device and with the same dtype** as the old
#   head's weight (a network may be in float64, on a GPU, or on the `meta` device, where tensors have shapes but
#   no values). The new layer keeps `nn.Linear`'s own random initialisation, is trainable even when the old one
#   was frozen, and is in the old head's mode (training or eval).
# - Change nothing else, and return the head's name in `model.named_modules()` (`"fc"`, `"classifier.3"`).
#
# `model.get_submodule(name)` finds a module by its name; `parent.add_module("3", layer)` replaces the child
# called `"3"` (the entry 3 of an `nn.Sequential`, say) by `layer`. (`setattr(parent, "3", layer)` does the
# same, but the grader holds every submission that calls `setattr`, `exec`, `eval` and the like for a person
# to read before it gets points: use `add_module`.)

# %% nbgrader={"grade": false, "grade_id": "head", "locked": false, "schema_version": 3, "solution": true, "task": false}
def replace_head(model: nn.Module, num_classes: int) -> str:
    """Swap the last nn.Linear for a fresh one with num_classes outputs (same dtype, device, bias); return its name."""
    ### BEGIN SOLUTION
    linear_names = [name for name, layer in model.named_modules() if isinstance(layer, nn.Linear)]
    if not linear_names:
        raise ValueError("the model has no nn.Linear layer that could be its head")
    head_name = linear_names[-1]
    old_head = model.get_submodule(head_name)
    parent_name, _, attribute = head_name.rpartition(".")
    new_head = nn.Linear(old_head.in_features, num_classes, bias=old_head.bias is not None,
                         device=old_head.weight.device, dtype=old_head.weight.dtype)
    new_head.train(old_head.training)
    model.get_submodule(parent_name).add_module(attribute, new_head)
    return head_name
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_head", "locked": true, "schema_version": 3, "solution": false, "task": false, "points": 2}
from torchvision import models

from course_utils import testing as T

# The simplest case: `fc`, as in the lecture
net = small_net()
stem_weight = net.stem[0].weight.clone()
name = replace_head(net, 5)
assert name == "fc", f"the head of small_net() is `fc`, replace_head returned {name!r}"
assert type(net.fc) is nn.Linear and (net.fc.in_features, net.fc.out_features) == (2, 5), f"new head: {net.fc}"
assert net.fc.bias is not None, "the old head had a bias, so the new one has one too"
T.assert_close(net.stem[0].weight, stem_weight, name="the stem's weight (nothing but the head changes)")
assert tuple(net(torch.randn(3, 1, 6, 6)).shape) == (3, 5), "the network now has 5 outputs"

# The last linear layer, not the first; inside an nn.Sequential; without a bias; float64; frozen before
mlp = nn.Sequential(nn.Flatten(), nn.Linear(4, 8), nn.ReLU(),
                    nn.Sequential(nn.Dropout(0.2), nn.Linear(8, 3, bias=False))).double().eval()
mlp.requires_grad_(False)
assert replace_head(mlp, 2) == "3.1", "the head of this MLP is the entry 1 of the entry 3: '3.1'"
head = mlp[3][1]
assert head.bias is None, "the old head had no bias, so the new one has none"
assert head.weight.dtype == torch.float64, f"the old head was float64; the new one is {head.weight.dtype}"
assert head.weight.requires_grad, "the new head must be trainable, even when the old one was frozen"
assert not head.training, "the new head takes the old head's mode (eval here)"
assert abs(head.weight).max() <= 8 ** -0.5, "keep nn.Linear's initialisation: |w| <= 1/sqrt(in_features)"
assert mlp[1].out_features == 8, "the first linear layer is not the head"

# torchvision's networks, built on the meta device (shapes only: no memory, no time)
for network, head_name in [("resnet18", "fc"), ("mobilenet_v3_small", "classifier.3"), ("swin_t", "head")]:
    with torch.device("meta"):
        model = models.get_model(network, weights=None)
    assert replace_head(model, 7) == head_name, f"{network}'s head is {head_name}"
    new = model.get_submodule(head_name)
    assert new.out_features == 7 and new.weight.is_meta, f"{network}: the new head must be on the meta device too"

try:
    replace_head(nn.Sequential(nn.Conv2d(1, 2, 3)), 2)
except ValueError:
    pass
else:
    raise AssertionError("a model without nn.Linear has no head: raise a ValueError")

print("✓ Part 2: replace_head passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — Parameter groups without weight decay on biases and norms (2 points)
#
# Fine-tuning recipes give the new head a larger learning rate than the pretrained backbone, and they turn weight
# decay off for biases and for the parameters of normalisation layers: weight decay pulls a parameter towards zero,
# which makes sense for the weights of a convolution (smaller weights, a smoother function) but not for a
# BatchNorm's scale $\gamma$ (pulling it to zero switches the channel off) or for a bias (nothing to regularise).
#
# **`parameter_groups(model, head_prefixes, head_lr, backbone_lr, weight_decay)`** returns a list of parameter
# groups that `torch.optim.AdamW(groups)` accepts:
# - the **head** is every parameter under one of `head_prefixes` (the rule of Part 1: name equal to the prefix
#   or starting with it and a dot); the **backbone** is every other parameter;
# - parameters with `requires_grad=False` are left out;
# - **no weight decay** for every parameter called `bias` (the last part of its name) and for every parameter of
#   a normalisation layer (`nn.BatchNorm1d/2d/3d`, `nn.LayerNorm`, `nn.GroupNorm`: the tuple `NORMALIZATION`);
#   every other parameter decays with `weight_decay`;
# - the groups, in this order, each a dict `{"params": [...], "lr": ..., "weight_decay": ...}` with its
#   parameters in the order of `model.named_parameters()`: backbone with decay, backbone without decay, head with
#   decay, head without decay (`weight_decay` `0.0`). Leave out a group that would be empty.

# %% nbgrader={"grade": false, "grade_id": "groups", "locked": false, "schema_version": 3, "solution": true, "task": false}
NORMALIZATION = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm)


def parameter_groups(model: nn.Module, head_prefixes: list[str], head_lr: float, backbone_lr: float,
                     weight_decay: float) -> list[dict]:
    """Up to four groups: backbone/head × decay/no decay (biases and normalisation layers); frozen ones left out."""
    ### BEGIN SOLUTION
    norm_ids = {id(p) for layer in model.modules() if isinstance(layer, NORMALIZATION) for p in layer.parameters()}
    buckets: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, tensor in model.named_parameters():
        if not tensor.requires_grad:
            continue
        in_head = any(name == prefix or name.startswith(prefix + ".") for prefix in head_prefixes)
        decays = name.rpartition(".")[2] != "bias" and id(tensor) not in norm_ids
        buckets.setdefault((in_head, decays), []).append(tensor)
    groups = []
    for in_head, decays in [(False, True), (False, False), (True, True), (True, False)]:
        if (in_head, decays) in buckets:
            groups.append({"params": buckets[(in_head, decays)], "lr": head_lr if in_head else backbone_lr,
                           "weight_decay": weight_decay if decays else 0.0})
    return groups
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_groups", "locked": true, "schema_version": 3, "solution": false, "task": false, "points": 2}
from course_utils import testing as T


def names_of(model: nn.Module, group: dict) -> list[str]:
    names = {id(p): name for name, p in model.named_parameters()}
    return [names[id(p)] for p in group["params"]]


net = small_net()
groups = parameter_groups(net, ["fc"], head_lr=0.1, backbone_lr=0.01, weight_decay=5e-4)
assert type(groups) is list and all(type(g) is dict for g in groups), "return a list of dicts"
assert len(groups) == 4, f"small_net() has all four kinds of parameters: 4 groups, got {len(groups)}"
assert [(g["lr"], g["weight_decay"]) for g in groups] == [(0.01, 5e-4), (0.01, 0.0), (0.1, 5e-4), (0.1, 0.0)], (
    "the groups' (lr, weight_decay) should be backbone/decay, backbone/no decay, head/decay, head/no decay")
assert names_of(net, groups[0]) == ["stem.0.weight", "block1.0.weight", "block10.0.weight"], (
    f"backbone with decay: the convolutions' weights, got {names_of(net, groups[0])}")
assert names_of(net, groups[1]) == ["stem.0.bias", "stem.1.weight", "stem.1.bias", "block1.0.bias", "block1.1.weight",
                                    "block1.1.bias", "block10.0.bias", "block10.1.weight", "block10.1.bias"], (
    f"backbone without decay: the biases and BatchNorm's gamma and beta, got {names_of(net, groups[1])}")
assert names_of(net, groups[2]) == ["fc.weight"] and names_of(net, groups[3]) == ["fc.bias"]

# "block1" is a prefix of block1's parameters only; frozen parameters are left out; empty groups too
net = small_net()
net.stem.requires_grad_(False)
groups = parameter_groups(net, ["block1"], head_lr=1.0, backbone_lr=0.5, weight_decay=0.1)
assert [names_of(net, g) for g in groups] == [
    ["block10.0.weight", "fc.weight"], ["block10.0.bias", "block10.1.weight", "block10.1.bias", "fc.bias"],
    ["block1.0.weight"], ["block1.0.bias", "block1.1.weight", "block1.1.bias"]], [names_of(net, g) for g in groups]
net.requires_grad_(False)
net.fc.weight.requires_grad_(True)
assert [(names_of(net, g), g["lr"]) for g in parameter_groups(net, ["fc"], 1.0, 0.5, 0.1)] == [(["fc.weight"], 1.0)]

# LayerNorm and GroupNorm are normalisation layers too
transformerish = nn.Sequential(OrderedDict(embed=nn.Linear(4, 8), norm=nn.LayerNorm(8), mix=nn.Linear(8, 8, bias=False),
                                           group=nn.GroupNorm(2, 8), head=nn.Linear(8, 2)))
groups = parameter_groups(transformerish, ["head"], 1e-3, 1e-4, 0.05)
assert [names_of(transformerish, g) for g in groups] == [
    ["embed.weight", "mix.weight"], ["embed.bias", "norm.weight", "norm.bias", "group.weight", "group.bias"],
    ["head.weight"], ["head.bias"]], [names_of(transformerish, g) for g in groups]
torch.optim.AdamW(groups)  # the groups are what an optimizer accepts

print("✓ Part 3: parameter_groups passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — A distillation loss for classifiers and dense outputs (2 points)
#
# With student logits $z$, teacher logits $v$, the true class $y$, a temperature $T > 0$ and a weight
# $\alpha \in [0, 1]$, the distillation loss of one sample is
#
# $$ \ell = \alpha\, T^2\, \mathrm{KL}\!\left(p^{T}(v) \,\middle\|\, p^{T}(z)\right)
#     + (1 - \alpha)\, \mathrm{CE}\!\left(y, p^{1}(z)\right), \qquad
#     p^{T}_i(z) = \frac{e^{z_i / T}}{\sum_j e^{z_j / T}}, \qquad
#     \mathrm{KL}(p \,\|\, q) = \sum_i p_i \log \frac{p_i}{q_i}. $$
#
# The KL divergence goes from the teacher's distribution to the student's (the teacher is the target), the
# cross-entropy uses the student's *unsoftened* probabilities, and the factor $T^2$ keeps the soft term's
# gradients the same size at every temperature.
#
# **`distillation_loss(student_logits, teacher_logits, labels, temperature, alpha, reduction="mean")`**
# - Logits have the shape `(N, C)`, or `(N, C, d1, ..., dk)` for dense outputs (a class score per pixel, as in
#   segmentation): the classes are **dimension 1**, as for `F.cross_entropy`. `labels` has the shape of the logits
#   without dimension 1 (`(N,)` or `(N, d1, ..., dk)`), with integer classes.
# - `reduction="none"` returns $\ell$ for every sample (and pixel): the shape of `labels`. `"sum"` returns their
#   sum, `"mean"` their mean; any other value raises a `ValueError`.
# - Logits can be large (hundreds): compute log-probabilities with `F.log_softmax`, never `log(softmax(...))`.
# - The teacher is not trained: no gradient may flow into `teacher_logits` (`.detach()` them).
# - The result has the logits' dtype.

# %% nbgrader={"grade": false, "grade_id": "distillation", "locked": false, "schema_version": 3, "solution": true, "task": false}
def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, labels: torch.Tensor,
                      temperature: float, alpha: float, reduction: str = "mean") -> torch.Tensor:
    """alpha * T² * KL(teacher_T || student_T) + (1 - alpha) * CE(labels, student), classes in dimension 1."""
    ### BEGIN SOLUTION
    if reduction not in ("none", "sum", "mean"):
        raise ValueError(f"reduction must be 'none', 'sum' or 'mean', not {reduction!r}")
    log_student = F.log_softmax(student_logits / temperature, dim=1)
    log_teacher = F.log_softmax(teacher_logits.detach() / temperature, dim=1)
    soft = (log_teacher.exp() * (log_teacher - log_student)).sum(dim=1)
    hard = F.cross_entropy(student_logits, labels, reduction="none")
    per_sample = alpha * temperature**2 * soft + (1 - alpha) * hard
    if reduction == "none":
        return per_sample
    return per_sample.sum() if reduction == "sum" else per_sample.mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_distillation", "locked": true, "schema_version": 3, "solution": false, "task": false, "points": 2}
import math

from course_utils import testing as T

# By hand: the teacher's logits (0, log 3) at T = 1 give p = (1/4, 3/4); the student's (0, 0) give q = (1/2, 1/2).
# KL(p || q) = 1/4 log(1/2) + 3/4 log(3/2); the cross-entropy of class 1 under q is log 2.
student, teacher, label = torch.tensor([[0.0, 0.0]]), torch.tensor([[0.0, math.log(3)]]), torch.tensor([1])
kl = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
T.assert_close(distillation_loss(student, teacher, label, 1.0, alpha=1.0), kl, name="alpha=1, T=1: the KL term alone")
T.assert_close(distillation_loss(student, teacher, label, 1.0, alpha=0.0), math.log(2), name="alpha=0: the cross-entropy alone")
T.assert_close(distillation_loss(student, teacher, label, 1.0, alpha=0.25), 0.25 * kl + 0.75 * math.log(2),
               name="alpha=0.25: the weighted sum")
# T = 2 with the teacher's logits (0, 2 log 3): the same p at the temperature, times T² = 4
T.assert_close(distillation_loss(student, 2 * teacher, label, 2.0, alpha=1.0), 4 * kl,
               name="T=2: the soft term is multiplied by T² = 4")

# The KL term goes from the teacher to the student: swapping them changes it
swapped = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
assert abs(distillation_loss(student, teacher, label, 1.0, 1.0).item() - swapped) > 0.01, "KL(teacher || student), not KL(student || teacher)"

# Classes are dimension 1, also when there are more samples than classes; reductions
s, t, y = torch.randn(5, 3), torch.randn(5, 3), torch.tensor([0, 2, 1, 1, 0])
per_sample = distillation_loss(s, t, y, 3.0, 0.5, reduction="none")
assert tuple(per_sample.shape) == (5,), f"reduction='none' gives one loss per sample: shape (5,), got {tuple(per_sample.shape)}"
for i in range(5):  # each sample's loss depends on that sample only
    T.assert_close(per_sample[i], distillation_loss(s[i:i + 1], t[i:i + 1], y[i:i + 1], 3.0, 0.5), atol=1e-5,
                   name=f"sample {i} alone (softmax over the classes, dimension 1)")
T.assert_close(distillation_loss(s, t, y, 3.0, 0.5, reduction="sum"), per_sample.sum(), atol=1e-5, name="reduction='sum'")
T.assert_close(distillation_loss(s, t, y, 3.0, 0.5), per_sample.mean(), atol=1e-5, name="reduction='mean' (the default)")
try:
    distillation_loss(s, t, y, 3.0, 0.5, reduction="batchmean")
except ValueError:
    pass
else:
    raise AssertionError("an unknown reduction raises a ValueError")

# Dense outputs: (N, C, H, W) logits, (N, H, W) labels; each pixel is a sample
s4, t4, y4 = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 4, 5), torch.randint(0, 3, (2, 4, 5))
dense = distillation_loss(s4, t4, y4, 2.0, 0.7, reduction="none")
assert tuple(dense.shape) == (2, 4, 5), f"(2, 3, 4, 5) logits give one loss per pixel: (2, 4, 5), got {tuple(dense.shape)}"
pixel = distillation_loss(s4[:, :, 1, 2], t4[:, :, 1, 2], y4[:, 1, 2], 2.0, 0.7, reduction="none")
T.assert_close(dense[:, 1, 2], pixel, atol=1e-5, name="pixel (1, 2) of the dense loss")

# Large logits: no inf or nan; identical student and teacher: no KL term
big = torch.tensor([[300.0, 0.0, -300.0]])
T.assert_close(distillation_loss(big, big, torch.tensor([0]), 0.5, 1.0), 0.0, atol=1e-5, name="student == teacher, logits ±300")

# No gradient flows into the teacher; the gradient of the soft term is (q - p) T² / T = (q - p) T per sample
z, v = torch.zeros(1, 2, requires_grad=True), torch.tensor([[0.0, 2 * math.log(3)]], requires_grad=True)
distillation_loss(z, v, label, 2.0, 1.0).backward()
assert v.grad is None or not v.grad.any(), "teacher_logits received a gradient: detach them"
T.assert_close(z.grad, [[(0.5 - 0.25) * 2, (0.5 - 0.75) * 2]], atol=1e-6, name="the gradient of the soft term")
assert distillation_loss(s.double(), t.double(), y, 2.0, 0.5).dtype == torch.float64, "float64 logits give a float64 loss"

print("✓ Part 4: distillation_loss passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — Five labelled images per class (2 points)
#
# The course's `resnet8_mnist04` was trained on the MNIST digits 0–4. The target task is the digits 5–9 (labels
# 0–4 after `select_classes`), with only **five labelled images per class**. The cell below loads the pool the
# labelled images come from, the test digits, and `from_scratch(x, y, seed)`: the same ResNet-8 with random
# weights trained on the few images (60 full-batch steps of SGD), the baseline to beat.
#
# **`adapt(x, y, seed)`**
# - `x`: standardised images `(25, 1, 28, 28)` (five of each target digit), `y`: their labels 0–4. Call
#   `seed_everything(seed)` first, train on `x, y` only, and return a model (on `device`) that maps images
#   `(N, 1, 28, 28)` to five logits `(N, 5)`.
# - Start from `load_checkpoint("resnet8_mnist04", device)`, the digits 0–4 network: a linear probe, a
#   fine-tune, or both, with what you wrote in Parts 1–3 or without. Use no other checkpoint
#   (`resnet8_mnist` has seen the digits 5–9: that would not be transfer).
#
# **What is graded.** The grader draws five images per class from the training digits 5–9 with a seed of its
# own, calls `adapt` on them under its clock (aim for a few seconds; it fails only more than two minutes on its
# busy machine), trains `from_scratch` itself on the same images, and measures both on the test digits 5–9 in
# eval mode. Your model must beat the baseline by at least **5 points** of accuracy. Five images per class vary a
# lot from draw to draw, and so does the baseline: aim for 15 points or more. The test cell below does the same for
# one draw.

# %% nbgrader={"grade": false, "grade_id": "target_data", "locked": true, "schema_version": 3, "solution": false, "task": false}
TARGET_DIGITS = [5, 6, 7, 8, 9]
x_pool, y_pool = select_classes(*image_tensors(load_mnist(train=True)), TARGET_DIGITS)
x_target_test, y_target_test = select_classes(*image_tensors(load_mnist(train=False)), TARGET_DIGITS)


def five_per_class(seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Five random training images of each target digit (labels 0-4)."""
    generator = torch.Generator().manual_seed(seed)
    picks = [torch.nonzero(y_pool == c).flatten() for c in range(len(TARGET_DIGITS))]
    index = torch.cat([p[torch.randperm(len(p), generator=generator)[:5]] for p in picks])
    return x_pool[index], y_pool[index]


def from_scratch(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    """The baseline: resnet8_mnist04's architecture with random weights and 5 outputs, 60 full-batch SGD steps."""
    seed_everything(seed)
    model = build_model("resnet8_mnist04").to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    x, y = x.to(device), y.to(device)
    for _ in range(60):
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model


print(f"pool of target digits {tuple(x_pool.shape)}, test digits {tuple(x_target_test.shape)}")


# %% nbgrader={"grade": false, "grade_id": "adapt", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adapt(x: torch.Tensor, y: torch.Tensor, seed: int) -> nn.Module:
    """seed_everything(seed); adapt resnet8_mnist04 to the 5 target classes using x, y only; return the model."""
    ### BEGIN SOLUTION
    seed_everything(seed)
    network = load_checkpoint("resnet8_mnist04", device)
    network.fc = nn.Linear(network.fc.in_features, len(TARGET_DIGITS)).to(device)
    x, y = x.to(device), y.to(device)
    # A new head on a pretrained backbone: the head learns ten times faster than the backbone moves.
    backbone_params = [p for name, p in network.named_parameters() if not name.startswith("fc.")]
    optimizer = torch.optim.SGD([{"params": backbone_params, "lr": 0.005}, {"params": network.fc.parameters()}],
                                lr=0.05, momentum=0.9, weight_decay=5e-4)
    network.train()
    for _ in range(60):
        loss = F.cross_entropy(network(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return network.eval()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_adapt", "locked": true, "schema_version": 3, "solution": false, "task": false, "points": 2}
from course_utils import testing as T

x_few, y_few = five_per_class(seed=2026)


def adapt_on_five_per_class(seed: int) -> nn.Module:
    return adapt(x_few, y_few, seed)


model, seconds = T.timed_training(adapt_on_five_per_class, seed=0, aim_s=30, limit_s=120)
accuracy = T.accuracy(model, x_target_test, y_target_test, classes=5)
baseline = T.accuracy(from_scratch(x_few, y_few, seed=0), x_target_test, y_target_test, classes=5)
print(f"adapt: {accuracy:.2%} on {len(y_target_test):,} test digits 5-9; from scratch: {baseline:.2%}")
assert accuracy >= baseline + 0.05, (f"{accuracy:.2%} is not 5 points above the from-scratch baseline {baseline:.2%}: "
                                     "start from the pretrained network")

print(f"✓ Part 5: {accuracy:.2%}, {accuracy - baseline:+.1%} over training from scratch, in {seconds:.1f} s")
