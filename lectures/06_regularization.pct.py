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
# # Lecture 06 — Regularization
#
# A network with a few hundred thousand weights can memorise a thousand training images: it can learn each one
# by heart instead of what the classes have in common. The training loss then keeps falling while the loss
# on new images rises. This is **overfitting**. **Regularization** is the set of methods that keep a model
# from doing that, usually by making memorising harder than learning the general rule. This lecture trains a
# network that overfits on purpose, then adds one remedy at a time and measures what it changes.
#
# **Plan**
# 1. Overfitting on a small subset of Fashion-MNIST: train and validation curves.
# 2. Input normalisation: the condition number of the loss surface, and why standardised inputs train faster.
# 3. BatchNorm: why inner layers need normalisation too; batch statistics, running averages, $\gamma$ and
#    $\beta$; different behaviour in train and eval mode. LayerNorm, which normalises each example on its own.
# 4. Weight decay: L2, L1 and elastic net; how the weights shrink and how many become (almost) zero. A widget
#    with a polynomial fit.
# 5. Dropout: random zeroing with inverted scaling, train vs eval mode.
# 6. Data augmentation with `torchvision.transforms.v2`: flips, shifts and small rotations; brightness and
#    contrast (and, for colour images, saturation and hue).
# 7. All the remedies side by side: train accuracy, validation accuracy and the gap between them.
#
# In the assignment you will write BatchNorm and Dropout yourself and check them against `nn.BatchNorm1d`,
# `nn.BatchNorm2d` and `nn.Dropout` in both modes.

# %%
import copy
import math
import time

import matplotlib.pyplot as plt
import torch
from ipywidgets import FloatSlider
from torch import nn
from torch.nn import functional as F
from torchvision.transforms import v2

from course_utils import (AugmentedLoader, TensorLoader, choose_device, evaluate, explore, fit, image_tensors,
                          load_fashion_mnist, seed_everything, show_images)

# The models here are small: on a CPU one thread is faster than splitting each operation across cores.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)

# %% [markdown]
# ## 1. Overfitting, seen in the curves
#
# To make overfitting easy to see in a few seconds, we give a large network little data: **1 000** random
# Fashion-MNIST training images (about 100 per class; drawn from the first 20 000 of the 60 000, which are all
# we load), and we measure on all **10 000** test images, which
# play the role of the validation set. We keep the pixels in $[0, 1]$ for now and compute the mean and
# standard deviation of the training pixels: section 2 is about what to do with them.

# %%
train_set, test_set = load_fashion_mnist(train=True), load_fashion_mnist(train=False)
CLASSES = train_set.classes
POOL = 20_000  # we draw our training images from the first 20 000 (the rest is never used: less memory)
x_pool, y_pool = image_tensors(train_set, limit=POOL, normalize=False)  # float32 (20000, 1, 28, 28) in [0, 1]
x_test01, y_test = image_tensors(test_set, normalize=False)
del train_set, test_set

N_TRAIN = 1000
subset = torch.randperm(POOL, generator=torch.Generator().manual_seed(0))[:N_TRAIN]
x_small01, y_small = x_pool[subset], y_pool[subset]
MEAN, STD = x_small01.mean().item(), x_small01.std().item()  # statistics of the training images only


def standardise(x):
    return (x - MEAN) / STD


x_small, x_test = standardise(x_small01), standardise(x_test01)
print(f"training subset {tuple(x_small.shape)}, validation (test set) {tuple(x_test.shape)}")
print(f"pixels of the 1 000 training images: mean {MEAN:.4f}, std {STD:.4f}")
print("images per class in the subset:", torch.bincount(y_small, minlength=10).tolist())
show_images(x_small01[:16], labels=[CLASSES[i] for i in y_small[:16]], ncols=8, size=1.1)
plt.show()

# %% [markdown]
# The model is a multilayer perceptron 784 → 256 → 256 → 10 with ReLU: 269 322 parameters for 1 000 images.
# Every experiment in this lecture uses the same recipe, so the remedy is the only thing that changes:
#
# - the same 1 000 images, the same initial weights (seed 0) and the same order of mini-batches (batch 128);
# - SGD with momentum $\rho = 0.9$ and learning rate $\alpha = 0.05$, decayed to 0 by a cosine schedule over
#   **30 epochs** (Lecture 05);
# - after each epoch, the loss and accuracy on the 10 000 validation images.
#
# `run` below builds the model, trains it with `fit` and stores the numbers in `results`. It also measures
# the accuracy on the *clean* training images in eval mode once training is over. (`fit`'s own `train_acc` is
# averaged over the epoch on the training batches as they were used, so with dropout or augmentation it is
# measured on altered images.) The options are the remedies of the next sections.

# %%
EPOCHS, BATCH, LR, HIDDEN = 30, 128, 0.05, 256
val_loader = TensorLoader(x_test, y_test, batch_size=2000, device=device)
results = {}  # run name -> numbers for the final table


NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}  # section 3


def make_mlp(norm=None, dropout=0.0):
    """784 -> 256 -> 256 -> 10 with ReLU; optionally a normalisation ("batch" or "layer") before and Dropout
    after each ReLU."""
    layers, width = [nn.Flatten()], 784
    for _ in range(2):
        layers.append(nn.Linear(width, HIDDEN))
        if norm is not None:
            layers.append(NORMS[norm](HIDDEN))
        layers.append(nn.ReLU())
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = HIDDEN
    layers.append(nn.Linear(width, 10))
    return nn.Sequential(*layers)


def run(name, x=None, y=None, val=None, norm=None, dropout=0.0, weight_decay=0.0, l1=0.0, augment=None,
        plot=False, seed=0):
    """Train a fresh MLP with the common recipe plus the given remedies; return (model, history)."""
    x = x_small if x is None else x
    y = y_small if y is None else y
    seed_everything(seed)  # the same initial weights and the same batches for every run (unless asked)
    model = make_mlp(norm, dropout).to(device)
    weights = [p for p in model.parameters() if p.dim() > 1]  # the weight matrices, not biases or γ, β
    others = [p for p in model.parameters() if p.dim() <= 1]
    optimizer = torch.optim.SGD([{"params": weights, "weight_decay": weight_decay},
                                 {"params": others, "weight_decay": 0.0}], lr=LR, momentum=0.9)
    loader = TensorLoader(x, y, batch_size=BATCH, shuffle=True, device=device, seed=seed)
    if augment is not None:
        loader = AugmentedLoader(loader, augment, group=8)  # section 6
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=EPOCHS * len(loader))

    def l1_penalty(model):  # section 4; fit adds it to the training loss only
        return l1 * sum(w.abs().sum() for w in weights)

    start = time.perf_counter()
    history = fit(model, loader, optimizer, EPOCHS, val_loader=val if val is not None else val_loader,
                  penalty=l1_penalty if l1 else None, scheduler=scheduler, device=device, plot=plot, progress=plot)
    seconds = time.perf_counter() - start
    clean = evaluate(model, TensorLoader(x, y, batch_size=1000, device=device))
    results[name] = {"train_acc": clean["acc"], "val_acc": history["val_acc"][-1],
                     "val_loss": history["val_loss"][-1], "history": history}
    lowest = min(history["val_loss"])
    print(f"{name}: train acc {clean['acc']:.1%}, val acc {history['val_acc'][-1]:.1%}, "
          f"gap {clean['acc'] - history['val_acc'][-1]:+.1%}, val loss {history['val_loss'][-1]:.3f} "
          f"(lowest {lowest:.3f} at epoch {history['val_loss'].index(lowest) + 1})  [{seconds:.1f} s]")
    return model, history


baseline, base_history = run("baseline", plot=True)

# %% [markdown]
# The same curves as numbers. By the last epoch the training accuracy is above 97 %, <!-- asserted -->
# and the validation loss ends more than 10 % above its lowest value: <!-- asserted -->

# %%
print(f"{'epoch':>5} {'train loss':>10} {'val loss':>9} {'train acc':>10} {'val acc':>8}")
for e in [1, 3, 5, 10, 15, 20, 25, 30]:
    print(f"{e:>5} {base_history['train_loss'][e - 1]:>10.3f} {base_history['val_loss'][e - 1]:>9.3f} "
          f"{base_history['train_acc'][e - 1]:>10.1%} {base_history['val_acc'][e - 1]:>8.1%}")
best_epoch = base_history["val_loss"].index(min(base_history["val_loss"]))  # 0-based
assert base_history["train_acc"][-1] > 0.97 and base_history["val_loss"][-1] > 1.1 * min(base_history["val_loss"])
assert best_epoch < 20 and abs(base_history["val_acc"][-1] - base_history["val_acc"][best_epoch]) < 0.02
assert results["baseline"]["train_acc"] - results["baseline"]["val_acc"] > 0.1  # a large gap

# %% [markdown]
# This is what overfitting looks like:
#
# - The **training** loss keeps falling towards 0 and the training accuracy gets close to perfect: the network
#   has memorised almost all of its 1 000 images.
# - The **validation** loss is lowest after a third of the training or earlier (`run` prints the epoch) and then
#   *rises* again, while the validation accuracy stays where it was. From then on the network is learning the
#   particular images, not clothes in general.
# - The **gap** between training and validation accuracy ends large (`run` prints it).
#
# Why does the validation loss rise while the validation accuracy stays flat? The cross-entropy
# $-\log p_{\text{correct}}$ also measures how *confident* the predictions are. The network keeps pushing its
# training predictions towards probability 1, so it also becomes very confident on the validation images,
# including the ones it gets wrong. A confidently wrong prediction costs a lot ($-\log 0.01 \approx 4.6$).
#
# Stopping at the lowest validation loss (**early stopping**) is the simplest remedy. The others change the
# data, the model or the loss so that memorising becomes harder. One caveat before we measure them: how much
# do the final numbers move when only the luck changes? The same run with two other seeds (other initial
# weights, other batches):

# %%
for seed in (1, 2):
    _ = run(f"baseline, seed {seed}", seed=seed)
seed_accs = [results[name]["val_acc"] for name in ("baseline", "baseline, seed 1", "baseline, seed 2")]
SEED_SPREAD = max(seed_accs) - min(seed_accs)
print(f"final validation accuracy over three seeds: {min(seed_accs):.1%} to {max(seed_accs):.1%}, "
      f"a spread of {100 * SEED_SPREAD:.1f} points")

# %% [markdown]
# Differences between runs that are not larger than this spread mean nothing.
#
# ## 2. Input normalisation
#
# The pixels were loaded in $[0, 1]$, but the network trained on **standardised** inputs $x' = (x - \mu)/\sigma$,
# with the mean $\mu$ and standard deviation $\sigma$ of the training pixels (printed in section 1). The notes say
# "subtract the mean and divide by the variance"; it is the standard deviation: divided by the variance $\sigma^2$,
# the data would have variance $1/\sigma^2$, not 1. (Computed on the training data only and then applied unchanged
# to validation and test data. Here one $\mu$ and one $\sigma$ for all pixels, which is what `image_tensors` does by
# default; for tabular data, where each column has its own units, one $\mu_j, \sigma_j$ per feature.) Standardising
# does not regularise. It makes optimisation easier, and it is the idea behind BatchNorm, so we start with it.
#
# ### 2.1 The condition number of a linear model's loss
#
# Take a linear model $\hat y = w^\top x$ with the squared loss $L(w) = \frac{1}{2N}\sum_i (w^\top x_i - y_i)^2$.
# Its Hessian (the matrix of second derivatives) does not depend on $w$:
#
# $$ H = \nabla^2 L = \frac1N \sum_i x_i x_i^\top = \mathbb{E}[x x^\top] = \Sigma + \mu\mu^\top, $$
#
# where $\Sigma$ is the covariance of the inputs and $\mu$ their mean. The level sets of $L$ are ellipses with
# axes along the eigenvectors of $H$; the eigenvalues $\lambda_i$ are the curvatures along them. Lecture 05
# showed what that means for gradient descent: it is stable only for $\alpha < 2/\lambda_{\max}$, and
# along the flattest direction it then makes progress at rate $\alpha\lambda_{\min} < 2\lambda_{\min}/\lambda_{\max}$
# per step. The **condition number** $\kappa = \lambda_{\max}/\lambda_{\min}$ counts the steps needed.
#
# - A **mean** far from 0 adds $\mu\mu^\top$, a large eigenvalue $\approx \lVert\mu\rVert^2$ along the direction
#   of $\mu$: all inputs point roughly the same way, so the weights' component along $\mu$ is very sensitive
#   while the others are not. **Centring** ($x - \mu$) removes it.
# - **Scaling** every input by $c$ multiplies all eigenvalues by $c^2$: it does not change $\kappa$, but it
#   moves the usable learning rate by $1/c^2$. Pixels in $[0, 255]$ instead of $[0, 1]$ need a learning rate
#   $255^2 = 65\,025$ times smaller, and the default learning rates of every library assume inputs of size
#   about 1.
# - Inputs with **different scales** stretch the ellipses along the large features. Dividing each
#   feature by its $\sigma_j$ fixes that.
#
# Two correlated features with mean $(3, 3)$ make the picture. Gradient descent on the raw and on the
# standardised data, 20 steps each, with the learning rate $1.8/\lambda_{\max}$ (nine tenths of the largest stable
# one) for each:

# %%
toy_gen = torch.Generator().manual_seed(0)
toy_x = torch.randn(200, 2, generator=toy_gen) @ torch.tensor([[1.0, 0.3], [0.0, 0.8]]) + 3.0
toy_w_true = torch.tensor([1.0, -0.5])
toy_y = toy_x @ toy_w_true + 0.1 * torch.randn(200, generator=toy_gen)


def toy_descent(x, y, steps=20):
    """Gradient descent on (1/2N)·||x w - y||² from w = 0 with α = 1.8/λ_max; return path, H, condition number."""
    hessian = x.T @ x / len(x)
    eigenvalues = torch.linalg.eigvalsh(hessian)
    lr = 1.8 / eigenvalues.max()
    w, path = torch.zeros(2), [torch.zeros(2)]
    for _ in range(steps):
        w = w - lr * (x.T @ (x @ w - y) / len(x))
        path.append(w)
    return torch.stack(path), hessian, (eigenvalues.max() / eigenvalues.min()).item()


toy_xs = (toy_x - toy_x.mean(0)) / toy_x.std(0)
toy_ys = toy_y - toy_y.mean()  # with centred inputs the bias is just the mean of y
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
kappas, gaps = [], []
for ax, (title, x, y) in zip(axes, [("raw inputs, mean (3, 3)", toy_x, toy_y),
                                    ("standardised inputs", toy_xs, toy_ys)]):
    path, hessian, kappa = toy_descent(x, y)
    w_best = torch.linalg.solve(hessian, x.T @ y / len(x))
    span = 1.6 * max(w_best.abs().max().item(), 0.5)
    g1, g2 = torch.meshgrid(torch.linspace(-span, span, 200), torch.linspace(-span, span, 200), indexing="xy")
    grid = torch.stack([g1.ravel(), g2.ravel()], 1)
    loss = ((x @ grid.T - y[:, None]) ** 2).mean(0).reshape(g1.shape) / 2
    ax.contour(g1, g2, loss, levels=torch.quantile(loss.ravel(), torch.linspace(0.002, 0.6, 12)), cmap="Blues_r")
    ax.plot(path[:, 0], path[:, 1], ".-", color="C3", label="gradient descent, 20 steps")
    ax.plot(*w_best, "*", color="gold", mec="k", ms=14, label="minimum")
    final = ((x @ path[-1] - y) ** 2).mean().item() / 2 - ((x @ w_best - y) ** 2).mean().item() / 2
    ax.set(xlabel="$w_1$", ylabel="$w_2$", title=f"{title}: κ = {kappa:.1f}", aspect="equal")
    ax.legend(fontsize=8, loc="lower left")
    print(f"{title:<24} λ = {[round(v, 3) for v in torch.linalg.eigvalsh(hessian).tolist()]}, κ = {kappa:5.1f}, "
          f"L - L* after 20 steps = {final:.2e}")
    kappas.append(kappa)
    gaps.append(final)
plt.tight_layout()
plt.show()
assert kappas[0] > 10 * kappas[1] and kappas[1] < 3 and gaps[0] > 100 * gaps[1]  # what the text below says

# %% [markdown]
# With the raw inputs the valley is a long thin ellipse (a large $\kappa$, in the title): the path zig-zags across
# it and after 20 steps is still far from the minimum. Standardised, the level sets are nearly round ellipses
# ($\kappa$ close to 1; the two features are still correlated, which standardising does not change) and
# gradient descent is at the minimum after a few steps. (The notes say the same in words: with
# data far from the origin, the slightest turn of the separating line changes every prediction.)
#
# ### 2.2 The same on Fashion-MNIST
#
# For images the picture has 785 dimensions (784 pixels and a constant 1 for the bias), but we can compute the
# eigenvalues of $\mathbb{E}[x x^\top]$ directly, on 5 000 training images. Pixels in the corners are almost
# always 0; they carry no information and give eigenvalues near 0, so instead of $\lambda_{\max}/\lambda_{\min}$
# we report $\lambda_1/\lambda_2$ and $\lambda_1/\lambda_{100}$:

# %%
x_spec01 = x_pool[:5000].flatten(1).double()
empty = (x_spec01.quantile(0.99, dim=0) < 0.05).sum().item()
print(f"pixels that are below 0.05 in 99 % of the images: {empty} of 784")
print(f"||μ||² of the [0, 1] pixels (the mean image): {x_spec01.mean(0).pow(2).sum():.1f}\n")
PREPROCESSING = {  # name -> function of the [0, 1] pixels
    "[0, 255]": lambda x: 255 * x,
    "[0, 1]": lambda x: x,
    "centred, x - μ": lambda x: x - MEAN,
    "standardised": lambda x: (x - MEAN) / STD,
}
print(f"{'inputs':<16} {'λ1':>10} {'λ2':>10} {'λ100':>9} {'λ1/λ2':>6} {'λ1/λ100':>8}")
spectra = {}
for name, transform in PREPROCESSING.items():
    z = transform(x_spec01)
    z = torch.cat([z, torch.ones(len(z), 1, dtype=z.dtype)], dim=1)  # the bias input
    lam = spectra[name] = torch.linalg.eigvalsh(z.T @ z / len(z)).flip(0)
    del z
    print(f"{name:<16} {lam[0]:>10.4g} {lam[1]:>10.4g} {lam[99]:>9.3g} {lam[0] / lam[1]:>6.1f} "
          f"{lam[0] / lam[99]:>8.0f}")
del x_spec01
raw, centred = spectra["[0, 1]"], spectra["centred, x - μ"]
print(f"centring: λ1/λ2 from {raw[0] / raw[1]:.1f} to {centred[0] / centred[1]:.1f}, λ1/λ100 "
      f"{(raw[0] / raw[99]) / (centred[0] / centred[99]):.1f} times smaller")
assert raw[0] / raw[1] > 5 and centred[0] / centred[1] < 4 and centred[0] / centred[99] < raw[0] / raw[99] / 2

# %% [markdown]
# - In $[0, 1]$ the largest eigenvalue stands far above the second: that is the mean direction $\mu\mu^\top$,
#   of size about $\lVert\mu\rVert^2$ (printed above). **Centring** removes it: $\lambda_1/\lambda_2$ drops to a
#   small number, and the condition number over the top 100 directions improves severalfold (printed).
# - **Scaling** changes no ratio, only the size of everything: from $[0, 1]$ to $[0, 255]$ all eigenvalues grow
#   $65\,025$-fold, and so must the learning rate shrink. Standardising multiplies them by $1/\sigma^2$.
#
# In a deep network this matrix is only one block of the Hessian (the first layer's), but the same holds: its
# inputs decide how well conditioned that layer's problem is. There is a second reason to want inputs of size
# about 1: PyTorch's default initialisation (and the usual learning rates) assume it. With inputs that are too
# small, every layer's outputs and gradients start too small; with inputs that are too large, too large.
#
# Let us train the same MLP with the same learning rate on pixels in $[0, 255]$, in $[0, 1]$, centred but not
# scaled ($x - \mu$), and standardised (the baseline):

# %%
def test_loader_for(x):
    return TensorLoader(x, y_test, batch_size=2000, device=device)


_ = run("pixels in [0, 255]", x=255 * x_small01, val=test_loader_for(255 * x_test01))
_ = run("pixels in [0, 1]", x=x_small01, val=test_loader_for(x_test01))
_ = run("pixels centred, x - μ", x=x_small01 - MEAN, val=test_loader_for(x_test01 - MEAN))

# %%
INPUT_RUNS = ["pixels in [0, 255]", "pixels in [0, 1]", "pixels centred, x - μ", "baseline"]
print(f"{'epoch':>5}" + "".join(f"{name:>22}" for name in INPUT_RUNS) + "   (training loss)")
for e in [1, 2, 3, 5, 10, 30]:
    print(f"{e:>5}" + "".join(f"{results[name]['history']['train_loss'][e - 1]:>22.4g}" for name in INPUT_RUNS))

fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, label in zip(INPUT_RUNS, ["[0, 255]", "[0, 1]", "centred, x - μ", "standardised"]):
    h = results[name]["history"]
    axes[0].plot(range(1, EPOCHS + 1), h["train_loss"], marker=".", label=label)
    axes[1].plot(range(1, EPOCHS + 1), h["val_acc"], marker=".", label=label)
axes[0].set(yscale="log", xlabel="epoch", ylabel="training loss", title="training loss (log scale)")
axes[1].set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy", ylim=(0, 0.9))
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend()
plt.tight_layout()
plt.show()

# What the text below says, checked on this run:
loss_of = {name: results[name]["history"]["train_loss"] for name in INPUT_RUNS}
raw255, unit, centred_run, standardised = (results[name] for name in INPUT_RUNS)
assert loss_of["pixels in [0, 255]"][0] > 1e3 and raw255["val_acc"] < 0.15                  # exploded, then chance
assert abs(loss_of["pixels in [0, 255]"][-1] - math.log(10)) < 0.05
assert loss_of["pixels in [0, 1]"][9] > 1.3 * loss_of["baseline"][9] and unit["train_acc"] < standardised["train_acc"]
assert abs(unit["val_acc"] - standardised["val_acc"]) < 0.02
assert sum(loss_of["pixels centred, x - μ"][4:]) < sum(loss_of["pixels in [0, 1]"][4:])

# %% [markdown]
# - On $[0, 255]$ the first steps are far too large: the training loss explodes in the first epoch. The network
#   never recovers: its ReLUs are dead, it predicts one class (chance accuracy) and the loss settles at
#   $\log 10 \approx 2.3$, chance level.
# - On $[0, 1]$ it trains, but more slowly: after 10 epochs its training loss is still well above the
#   standardised run's, and after 30 epochs it fits the training set less well. (Its smaller gap comes from
#   fitting the training set less well, not from generalising better: the validation accuracy is the same.)
# - Centring alone helps a little (from epoch 5 on, its training loss is lower than the $[0, 1]$ run's on average);
#   dividing by $\sigma$ as well, which brings the inputs to the size the initialisation expects, does most of the
#   rest. Standardised inputs train fastest with the same learning rate.
#
# So: always standardise the inputs, with statistics from the training set. It costs one line.
#
# ## 3. BatchNorm
#
# ### 3.1 Why the inner layers need it too
#
# Every layer of a network is itself a linear model followed by a nonlinearity, and its inputs are the
# previous layer's outputs. Nothing keeps them centred or scaled. Worse, they change during training: when the
# first layer's weights move, the second layer suddenly receives differently distributed inputs, although it
# was just adjusted to the old ones (the BatchNorm paper calls this *internal covariate shift*). Before
# BatchNorm the usual cure was a very small learning rate, so that each layer's inputs changed only slowly.
#
# Here are the inputs that each `Linear` layer of our MLP receives (on 2 000 validation images), before and
# after training:

# %%
def layer_inputs(model, x):
    """The input of every nn.Linear in `model` on the batch x, collected with forward hooks."""
    seen = []
    hooks = [m.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].detach()))
             for m in model if isinstance(m, nn.Linear)]
    model.eval()
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return seen


seed_everything(0)
untrained = make_mlp().to(device)  # the baseline's initial weights
probe = x_test[:2000].to(device)
print(f"{'input of':<10} {'mean before':>11} {'std before':>10} {'mean after':>11} {'std after':>10}  "
      f"(after = trained baseline)")
growth = []
for i, (before, after) in enumerate(zip(layer_inputs(untrained, probe), layer_inputs(baseline, probe))):
    print(f"Linear {i + 1:<3} {before.mean():>11.3f} {before.std():>10.3f} "
          f"{after.mean():>11.3f} {after.std():>10.3f}")
    growth.append(after.std().item() / before.std().item())
assert all(g > 2 for g in growth[1:])  # the inner layers' inputs grew severalfold (see below)

# %% [markdown]
# The first layer gets what we feed it: mean 0, standard deviation 1. The inner layers receive ReLU outputs,
# which are never negative, so their mean is far from 0, and during training their scale grew severalfold.
# By the argument of section 2, the inner layers' optimisation problems are badly conditioned, and they shift
# under each other's feet. We cannot standardise them once in advance, because they depend on the weights.
# The idea of **batch normalisation** (Ioffe and Szegedy, 2015) is to standardise them *inside* the network, on
# every mini-batch.
#
# ### 3.2 What BatchNorm computes
#
# For a mini-batch of $B$ vectors $x_1, \dots, x_B$, each feature (each channel $j$) separately:
#
# $$ \mu_B = \frac1B \sum_{i=1}^B x_i, \qquad \sigma_B^2 = \frac1B \sum_{i=1}^B (x_i - \mu_B)^2, \qquad
#    \hat x_i = \frac{x_i - \mu_B}{\sqrt{\sigma_B^2 + \varepsilon}}, \qquad y_i = \gamma\,\hat x_i + \beta. $$
#
# - $\hat x$ has mean 0 and variance 1 over the batch. $\varepsilon$ (PyTorch: $10^{-5}$) avoids a division by 0.
# - $\gamma$ and $\beta$ are **learned**, one pair per feature. Normalising may remove information the next
#   layer needs (a scale, an offset); with $\gamma = \sqrt{\sigma_B^2+\varepsilon}$ and $\beta = \mu_B$ the layer
#   could undo the normalisation entirely. The network picks the scale and offset it likes; it just does not
#   let them drift by accident.
# - At test time there may be no batch at all (one image), and a prediction must not depend on which other
#   images happen to share its batch. So during training BatchNorm keeps **running averages**
#   with momentum $m$ (PyTorch: $m = 0.1$):
#
# $$ \hat\mu \leftarrow (1-m)\,\hat\mu + m\,\mu_B, \qquad
#    \hat\sigma^2 \leftarrow (1-m)\,\hat\sigma^2 + m\,\tfrac{B}{B-1}\sigma_B^2 $$
#
#   (PyTorch stores the unbiased variance, hence the $\tfrac{B}{B-1}$), and in **eval mode** it uses
#   $\hat\mu, \hat\sigma^2$ instead of the batch's statistics. Careful: PyTorch's `momentum` is the weight of the
#   *new* value, the opposite of the optimizers' momentum in Lecture 05.
#
# `nn.BatchNorm1d` normalises each feature over the batch, `nn.BatchNorm2d` each channel over the batch *and*
# all positions $(h, w)$. Let us check every formula against `nn.BatchNorm1d` on a batch of 8 vectors with 3
# features of very different means and scales:

# %%
bn_gen = torch.Generator().manual_seed(0)
xb = torch.randn(8, 3, generator=bn_gen) * torch.tensor([1.0, 5.0, 0.2]) + torch.tensor([2.0, -1.0, 10.0])
bn = nn.BatchNorm1d(3)  # γ = 1, β = 0, running mean 0, running var 1, momentum 0.1, ε = 1e-5
print("γ =", bn.weight.data.tolist(), " β =", bn.bias.data.tolist(), " momentum =", bn.momentum, " ε =", bn.eps)

bn.train()
out_train = bn(xb)
mu_b, var_b = xb.mean(0), xb.var(0, unbiased=False)
by_hand = (xb - mu_b) / torch.sqrt(var_b + bn.eps) * bn.weight + bn.bias
print(f"train mode: max |nn.BatchNorm1d - formula| = {(out_train - by_hand).abs().max():.1e}")
print("  output mean per feature:", [round(v, 4) for v in out_train.mean(0).tolist()],
      " std:", [round(v, 4) for v in out_train.std(0, unbiased=False).tolist()])
print("running mean:", [round(v, 4) for v in bn.running_mean.tolist()],
      " = 0.9·0 + 0.1·μ_B:", [round(v, 4) for v in (0.1 * mu_b).tolist()])
print("running var: ", [round(v, 4) for v in bn.running_var.tolist()],
      " = 0.9·1 + 0.1·σ²_B·B/(B-1):", [round(v, 4) for v in (0.9 + 0.1 * xb.var(0, unbiased=True)).tolist()])

bn.eval()
out_eval = bn(xb)
by_hand_eval = (xb - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) * bn.weight + bn.bias
print(f"eval mode:  max |nn.BatchNorm1d - formula with running stats| = {(out_eval - by_hand_eval).abs().max():.1e}")
print("the same first vector", [round(v, 2) for v in xb[0].tolist()], "->")
print("  train mode:", [round(v, 3) for v in out_train[0].tolist()])
print("  eval mode: ", [round(v, 3) for v in out_eval[0].tolist()])
assert (out_train - by_hand).abs().max() < 1e-5 and (out_eval - by_hand_eval).abs().max() < 1e-5

# %% [markdown]
# The same input gives completely different outputs in the two modes. In train mode the batch's own mean and
# variance are used, and the outputs are exactly standardised. In eval mode BatchNorm uses its running
# averages, and after a single batch these are still mostly their initial values 0 and 1, so the outputs are
# hardly normalised at all. The running averages need many batches to converge: with $m = 0.1$ each average
# forgets its past with factor $0.9$ per batch, so it reflects about the last $1/m = 10$ to $30$ batches. After
# 50 batches from the same distribution the two modes agree:

# %%
bn.train()
for _ in range(50):
    bn(torch.randn(8, 3, generator=bn_gen) * torch.tensor([1.0, 5.0, 0.2]) + torch.tensor([2.0, -1.0, 10.0]))
print("running mean after 51 batches:", [round(v, 2) for v in bn.running_mean.tolist()], "(true mean 2, -1, 10)")
print("running std  after 51 batches:", [round(v, 2) for v in bn.running_var.sqrt().tolist()], "(true std 1, 5, 0.2)")
bn.eval()
print("first vector, eval mode now:", [round(v, 3) for v in bn(xb)[0].tolist()])

# %% [markdown]
# Two more consequences of using batch statistics in train mode:
#
# - An example's output depends on the *other* examples in its batch: replace the other seven and the first
#   output changes. This noise is a mild regulariser, and the reason why BatchNorm needs batches that are not
#   too small (with one example per batch, train mode cannot even compute a variance).
# - $\gamma$ and $\beta$ can undo the normalisation: with $\gamma = \sqrt{\sigma_B^2 + \varepsilon}$ and
#   $\beta = \mu_B$ the output equals the input.

# %%
bn.train()
other = torch.cat([xb[:1], 3 * torch.randn(7, 3, generator=bn_gen)])  # same first vector, different companions
print("first vector, train mode, original batch:", [round(v, 3) for v in bn(xb)[0].tolist()])
print("first vector, train mode, other batch:   ", [round(v, 3) for v in bn(other)[0].tolist()])
undo = nn.BatchNorm1d(3)
with torch.no_grad():
    undo.weight.copy_(torch.sqrt(var_b + undo.eps))
    undo.bias.copy_(mu_b)
print(f"γ = sqrt(σ²_B + ε), β = μ_B: max |output - input| = {(undo(xb) - xb).abs().max():.1e}")

# %% [markdown]
# ### 3.3 BatchNorm in the MLP
#
# We insert `nn.BatchNorm1d(256)` between each hidden `Linear` and its ReLU (where the original paper put it)
# and train with the common recipe. A second run feeds the BatchNorm network the raw pixels in $[0, 255]$,
# the inputs on which the plain MLP diverged:

# %%
bn_model, _ = run("BatchNorm", norm="batch")
_ = run("BatchNorm, pixels in [0, 255]", x=255 * x_small01, norm="batch", val=test_loader_for(255 * x_test01))

# %%
BN_RUNS = ["baseline", "BatchNorm", "BatchNorm, pixels in [0, 255]"]
print(f"{'epoch':>5}" + "".join(f"{name:>31}" for name in BN_RUNS) + "   (training loss)")
for e in [1, 2, 3, 5, 10, 30]:
    print(f"{e:>5}" + "".join(f"{results[name]['history']['train_loss'][e - 1]:>31.4f}" for name in BN_RUNS))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, style in zip(BN_RUNS, ["-", "-", "--"]):
    h = results[name]["history"]
    axes[0].plot(range(1, EPOCHS + 1), h["train_loss"], style, label=name)
    axes[1].plot(range(1, EPOCHS + 1), h["val_loss"], style, label=name)
axes[0].set(yscale="log", xlabel="epoch", title="training loss (log scale)")
axes[1].set(xlabel="epoch", title="validation loss")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
first_epoch = {name: results[name]["history"]["train_loss"][0] for name in BN_RUNS}
assert first_epoch["BatchNorm"] < 0.8 * first_epoch["baseline"]
# What the text below says, checked on this run:
bn_run, bn_raw, base_run = results["BatchNorm"], results["BatchNorm, pixels in [0, 255]"], results["baseline"]
assert bn_run["history"]["train_loss"][2] < 0.6 * base_run["history"]["train_loss"][2] and bn_run["train_acc"] > 0.99
assert all(abs(a - b) < 0.02 for a, b in zip(bn_raw["history"]["train_loss"], bn_run["history"]["train_loss"]))
bn_best = bn_run["history"]["val_loss"].index(min(bn_run["history"]["val_loss"]))
assert bn_best < best_epoch and bn_run["val_loss"] > base_run["val_loss"]
assert abs(bn_run["val_acc"] - base_run["val_acc"]) < 0.02

# %% [markdown]
# - BatchNorm makes training much faster: after 3 epochs its training loss is about half the baseline's,
#   and it fits (almost) every training image.
# - With BatchNorm the raw $[0, 255]$ pixels train exactly like standardised ones (the dashed line lies on the
#   solid one). The first `Linear` computes $W(ax + c) = a\,Wx + c\,W\mathbf{1}$; BatchNorm subtracts the batch mean,
#   which removes the constant $c\,W\mathbf{1}$, and divides by the batch standard deviation, which removes $a$.
#   (The gradients scale the same way, so even the training path is the same.)
# - BatchNorm is an *optimisation* method first. Its batch noise regularises only a little, and here it does
#   not prevent overfitting: the network memorises the training set faster, its validation loss is lowest
#   earlier than the baseline's and then rises higher, and the validation accuracy is about the same.
#   In deeper networks (Lecture 07) it is what makes training possible at all.
#
# ### 3.4 Train vs eval mode in the trained network
#
# `fit` switches modes for us (`model.train()` before each epoch, `model.eval()` in `evaluate`). In your own
# loops forgetting `model.eval()` is one of the most common bugs. Here is the trained BatchNorm network, on the
# same 8 validation images, in both modes; then its validation accuracy in eval mode and in train mode, with
# batches of 2 000 and of 8 images. (Each train-mode pass also updates the running averages, so we use a copy.)

# %%
eight = x_test[:8].to(device)
bn_model.eval()
with torch.no_grad():
    logits_eval = bn_model(eight)
    bn_model.train()
    logits_train = bn_model(eight)
bn_model.eval()
print("predictions, eval mode: ", logits_eval.argmax(1).tolist())
print("predictions, train mode:", logits_train.argmax(1).tolist())
print("true labels:            ", y_test[:8].tolist())
print(f"largest logit difference between the modes: {(logits_eval - logits_train).abs().max():.2f}")


@torch.no_grad()
def accuracy_in_train_mode(model, batch_size):
    """Validation accuracy with the model (a copy) left in train mode."""
    model = copy.deepcopy(model).train()
    correct = sum((model(xv).argmax(1) == yv).sum().item()
                  for xv, yv in TensorLoader(x_test, y_test, batch_size=batch_size, device=device))
    return correct / len(y_test)


bn_eval_acc = evaluate(bn_model, val_loader)["acc"]
bn_train_mode_acc = {size: accuracy_in_train_mode(bn_model, size) for size in [2000, 8]}
print(f"validation accuracy, eval mode:                 {bn_eval_acc:.1%}")
for size, acc in bn_train_mode_acc.items():
    print(f"validation accuracy, train mode, batches of {size:>4}: {acc:.1%}")
assert abs(bn_train_mode_acc[2000] - bn_eval_acc) < 0.01 and bn_train_mode_acc[8] < bn_eval_acc - 0.03

# %% [markdown]
# In train mode with large batches the batch statistics are close to the running ones and the accuracy barely
# changes. With batches of 8, every image is normalised with the mean and variance of 7 random companions, and
# the accuracy falls by several points. In production one image comes at a time: a model left in train mode
# would not work at all.
#
# ### 3.5 LayerNorm: each example normalised on its own
#
# BatchNorm's dependence on the batch has a price: train and eval mode differ, small batches give noisy
# statistics, and the running averages must be kept. **Layer normalisation** (Ba, Kiros and Hinton, 2016)
# standardises each example over its own features instead:
#
# $$ \mu_i = \frac1D \sum_{j=1}^D x_{ij}, \qquad \sigma_i^2 = \frac1D \sum_{j=1}^D (x_{ij} - \mu_i)^2, \qquad
#    y_{ij} = \gamma_j\,\frac{x_{ij} - \mu_i}{\sqrt{\sigma_i^2 + \varepsilon}} + \beta_j . $$
#
# It is BatchNorm's formula with the mean taken along the other axis of the $(B, D)$ matrix of activations:
# BatchNorm averages each *column* (one feature over the batch), LayerNorm each *row* (one example over its
# features); $\gamma_j, \beta_j$ are again learned per feature. An example's output therefore depends on that
# example alone: no running averages, the same computation in train and eval mode, and a batch of one is fine.
# That is why recurrent networks and transformers use it. A check against `nn.LayerNorm`, with the batch of
# 8 vectors from above and with the same first vector among other companions:

# %%
ln = nn.LayerNorm(3)  # γ = 1, β = 0, ε = 1e-5
mu_i, var_i = xb.mean(1, keepdim=True), xb.var(1, unbiased=False, keepdim=True)  # per row: over the features
ln_by_hand = (xb - mu_i) / torch.sqrt(var_i + ln.eps) * ln.weight + ln.bias
print(f"max |nn.LayerNorm - formula| = {(ln(xb) - ln_by_hand).abs().max():.1e}")
print("  output mean per example:", [round(v, 4) for v in ln(xb).mean(1).tolist()])
print("first vector, original batch:", [round(v, 3) for v in ln(xb)[0].tolist()])
print("first vector, other batch:   ", [round(v, 3) for v in ln(other)[0].tolist()])
ln.eval()
print("first vector, eval mode:     ", [round(v, 3) for v in ln(xb)[0].tolist()])
assert (ln(xb) - ln_by_hand).abs().max() < 1e-5 and torch.equal(ln(xb)[0], ln(other)[0])

# %% [markdown]
# The same MLP with `nn.LayerNorm(256)` where BatchNorm was, trained with the common recipe, and its validation
# accuracy with the model left in train mode, in batches of 8:

# %%
ln_model, _ = run("LayerNorm", norm="layer")
NORM_RUNS = ["baseline", "BatchNorm", "LayerNorm"]
print(f"{'epoch':>5}" + "".join(f"{name:>12}" for name in NORM_RUNS) + "   (training loss)")
for e in [1, 2, 3, 5, 10, 30]:
    print(f"{e:>5}" + "".join(f"{results[name]['history']['train_loss'][e - 1]:>12.4f}" for name in NORM_RUNS))
ln_eval_acc, ln_train_mode_acc = evaluate(ln_model, val_loader)["acc"], accuracy_in_train_mode(ln_model, 8)
print(f"LayerNorm validation accuracy: eval mode {ln_eval_acc:.1%}, train mode in batches of 8 {ln_train_mode_acc:.1%}")
# What the text below says, checked on this run:
base_loss, bn_loss, ln_loss = (results[name]["history"]["train_loss"] for name in NORM_RUNS)
assert ln_loss[0] < base_loss[0] and ln_loss[-1] < base_loss[-1] and sum(bn_loss) < sum(ln_loss) < sum(base_loss)
assert abs(ln_train_mode_acc - ln_eval_acc) < 1e-3

# %% [markdown]
# LayerNorm speeds up training too: its training loss falls faster than the baseline's, though here not as fast
# as BatchNorm's (the table). And with no batch statistics involved, the model gives the same predictions in train
# mode with batches of 8 as in eval mode. For a small MLP on images BatchNorm is the usual choice; LayerNorm
# is the choice where batches are small, vary in content, or are processed one example at a time.
#
# ## 4. Weight decay: L2, L1 and elastic net
#
# The oldest regulariser adds a penalty $R(w)$ on the size of the weights to the loss:
#
# $$ L_{\text{reg}}(w) = L(w) + \lambda R(w), \qquad
#    R_{L2}(w) = \tfrac12 \lVert w\rVert_2^2 = \tfrac12\sum_j w_j^2, \qquad
#    R_{L1}(w) = \lVert w\rVert_1 = \sum_j |w_j|, \qquad
#    R_{\text{elastic net}} = \lambda_1 \lVert w\rVert_1 + \tfrac{\lambda_2}{2} \lVert w\rVert_2^2 .$$
#
# A network with small weights computes a smoother function: its output cannot change much when an input
# changes a little, so it cannot fit each training point exactly. Usually only the weight matrices are
# penalised, not the biases (and not BatchNorm's $\gamma, \beta$), and so do we.
#
# - **L2.** The gradient of $\frac\lambda2\lVert w\rVert^2$ is $\lambda w$, so one SGD step becomes
#   $$ w \leftarrow w - \alpha(\nabla L + \lambda w) = (1 - \alpha\lambda)\,w - \alpha\nabla L : $$
#   before each step, every weight shrinks by a factor $1 - \alpha\lambda$. Hence the name **weight decay**,
#   and the `weight_decay` argument of `torch.optim.SGD`, which adds `weight_decay` $\cdot\, w$ to the gradient.
#   This lecture's convention, with the $\tfrac12$, is the one that makes the two numbers equal: the penalty
#   $\tfrac\lambda2\lVert w\rVert^2$ is `weight_decay=λ`. A penalty written without the $\tfrac12$,
#   $\lambda\lVert w\rVert^2$, has the gradient $2\lambda w$ and is `weight_decay=2λ`. (For Adam,
#   adding $\lambda w$ to the gradient is *not* the same as decaying the weights, because Adam rescales the
#   gradient per weight; `AdamW` decays them directly. Lecture 05.)
# - **L1.** The gradient of $\lambda|w_j|$ is $\lambda\,\mathrm{sign}(w_j)$: a constant pull towards 0, as strong
#   for a tiny weight as for a large one. Weights that the data does not need are pulled all the way to 0, so
#   L1 makes the weights **sparse**. (L2's pull $\lambda w_j$ vanishes as $w_j \to 0$: it makes weights small but
#   not zero.) With plain SGD the weights do not land exactly on 0, they jitter around it: the pull moves a weight
#   by $\alpha\lambda$ per step, momentum $\rho$ adds up to $1/(1-\rho)$ consecutive pulls, so a weight overshoots
#   zero by up to about $\alpha\lambda/(1-\rho)$. With our $\alpha = 0.05$, $\rho = 0.9$ and the
#   $\lambda_1 = 2\cdot 10^{-4}$ used below that is $10^{-4}$ (less at the end, where the schedule has shrunk
#   $\alpha$), so we count weights with $|w| < 10^{-3}$ as zero.
# - **Elastic net** uses both.
#
# First, a check that `weight_decay=λ` is the L2 penalty $\tfrac\lambda2\lVert w\rVert^2$: one SGD step each way,
# from the same weights and batch.

# %%
seed_everything(1)
layer_a = nn.Linear(784, 10)
layer_b = copy.deepcopy(layer_a)
xw, yw = x_small[:64].flatten(1), y_small[:64]
opt_a = torch.optim.SGD(layer_a.parameters(), lr=0.1, weight_decay=0.01)  # decays the bias too, as does the penalty
F.cross_entropy(layer_a(xw), yw).backward()
opt_a.step()
opt_b = torch.optim.SGD(layer_b.parameters(), lr=0.1)
(F.cross_entropy(layer_b(xw), yw) + 0.01 / 2 * sum(p.pow(2).sum() for p in layer_b.parameters())).backward()
opt_b.step()
print(f"max |weight_decay=0.01 - explicit penalty 0.01/2·||w||²| after one step: "
      f"{(layer_a.weight - layer_b.weight).abs().max():.1e}")
assert (layer_a.weight - layer_b.weight).abs().max() < 1e-6

# %% [markdown]
# Now the three penalties on our overfitting MLP. L2 through the optimizer, L1 through `fit(..., penalty=...)`,
# which adds it to the training loss only (so the validation loss stays a pure cross-entropy; `fit`'s training
# loss includes the penalty). The strengths were chosen by hand, as usual on a validation set: $\lambda = 10^{-2}$ for L2 and
# $\lambda_1 = 2\cdot 10^{-4}$ for L1 (the L1 penalty is a sum over about 269 000 weights, hence the smaller number).

# %%
l2_model, _ = run("L2 (weight decay 1e-2)", weight_decay=1e-2)
l1_model, _ = run("L1 (λ = 2e-4)", l1=2e-4)
en_model, _ = run("elastic net", weight_decay=5e-3, l1=1e-4)


# %%
def all_weights(model):
    return torch.cat([p.detach().flatten().cpu() for p in model.parameters() if p.dim() > 1])


WD_MODELS = {"baseline": baseline, "L2 (weight decay 1e-2)": l2_model, "L1 (λ = 2e-4)": l1_model,
             "elastic net": en_model}
print(f"{'run':<24} {'||w||_2':>8} {'mean |w|':>9} {'largest |w|':>11} {'|w| < 1e-3':>11}")
for name, model in WD_MODELS.items():
    w = all_weights(model)
    print(f"{name:<24} {w.norm():>8.2f} {w.abs().mean():>9.4f} {w.abs().max():>11.3f} "
          f"{(w.abs() < 1e-3).float().mean():>11.1%}")

fig, axes = plt.subplots(1, 2, figsize=(11, 3.4))
bins = torch.linspace(-0.25, 0.25, 101)
for name, model in WD_MODELS.items():
    w = all_weights(model)
    axes[0].hist(w.clamp(-0.25, 0.25), bins=bins, histtype="step", lw=1.3, label=name)
    axes[1].hist(w.abs().clamp_min(1e-7).log10(), bins=torch.linspace(-7, 0, 71), histtype="step", lw=1.3,
                 label=name)
axes[0].set(yscale="log", xlabel="weight", ylabel="count", title="all weights (log count)")
axes[1].axvline(-3, color="k", ls=":", lw=1)
axes[1].set(xlabel="log10 |w|", ylabel="count", title="|w| on a log scale: L1 piles weights up near 0")
for ax in axes:
    ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
def near_zero(model):
    return (all_weights(model).abs() < 1e-3).float().mean().item()


assert all_weights(l2_model).norm() < 0.75 * all_weights(baseline).norm() and near_zero(l2_model) < 0.1
assert near_zero(l1_model) > 3 * near_zero(baseline) and near_zero(l1_model) > 0.1

# %% [markdown]
# L2 shrinks all the weights (the histogram narrows, $\lVert w\rVert_2$ drops by more than a quarter) but leaves
# few near zero. L1 leaves the large weights roughly as they are but sends a large share of all weights (the
# last column) to within $10^{-3}$ of zero: the weights from the always-black border pixels, and others the data
# does not need. (Pruning them after training would lose nothing; a proximal "soft-thresholding" step would make
# them exactly 0.) The elastic net does some of both. The effect on the validation numbers is in the table at
# the end: all three shrink the gap and the validation loss, but hardly move the validation accuracy.
#
# ### Your turn: weight decay on a polynomial
#
# The same trade-off in a setting small enough to see: a polynomial of degree 14 (15 coefficients) fitted by
# least squares with an L2 penalty (ridge regression) to 15 noisy points of a sine. The closed-form solution is
# $w = (X^\top X + \lambda I)^{-1} X^\top y$, where row $i$ of $X$ is $(1, x_i, x_i^2, \dots, x_i^{14})$. Move the
# slider: with $\lambda \to 0$ the curve chases every point and swings wildly between them (overfitting; huge
# coefficients); with $\lambda$ large it is flat (underfitting); in between it follows the sine. The validation
# error is measured on 200 new points.

# %%
poly_gen = torch.Generator().manual_seed(1)
DEGREE = 14
poly_x = torch.linspace(-1, 1, 15, dtype=torch.float64)
poly_x = poly_x + 0.04 * torch.randn(15, generator=poly_gen, dtype=torch.float64)  # roughly evenly spread
poly_y = torch.sin(3 * poly_x) + 0.25 * torch.randn(15, generator=poly_gen, dtype=torch.float64)
poly_xv = torch.rand(200, generator=poly_gen, dtype=torch.float64) * 2 - 1
poly_yv = torch.sin(3 * poly_xv) + 0.25 * torch.randn(200, generator=poly_gen, dtype=torch.float64)


def features(x):
    return torch.stack([x**k for k in range(DEGREE + 1)], dim=1)  # 1, x, ..., x^14


def ridge(lam):
    X = features(poly_x)
    return torch.linalg.solve(X.T @ X + lam * torch.eye(DEGREE + 1, dtype=X.dtype), X.T @ poly_y)


def mse(w, x, y):
    return ((features(x) @ w - y) ** 2).mean().item()


def draw_ridge(log10_lambda=-3.0):
    lam = 10.0**log10_lambda
    w = ridge(lam)
    grid = torch.linspace(-1, 1, 300, dtype=torch.float64)
    fig, (ax, ax_w) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1.6, 1]})
    ax.plot(grid, torch.sin(3 * grid), "k--", lw=1, label="true function sin 3x")
    ax.plot(grid, features(grid) @ w, color="C3", label=f"degree {DEGREE}, λ = {lam:.0e}")
    ax.scatter(poly_x, poly_y, color="C0", zorder=3, label="15 training points")
    ax.set(ylim=(-2, 2), xlabel="x", title=f"train MSE {mse(w, poly_x, poly_y):.3f}, "
                                           f"validation MSE {mse(w, poly_xv, poly_yv):.3f}")
    ax.legend(fontsize=8, loc="upper left")
    ax_w.bar(range(DEGREE + 1), w.abs(), color="C3")
    ax_w.set(yscale="log", ylim=(1e-3, 1e4), xlabel="power k", title=f"|coefficients|, ||w|| = {w.norm():.3g}")
    plt.tight_layout()
    plt.show()


print(f"{'λ':>8} {'train MSE':>10} {'val MSE':>9} {'||w||':>10}")
LAMBDAS = [1e-10, 1e-6, 1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0]
ridge_errors = {}  # λ -> (train MSE, validation MSE, ||w||)
for lam in LAMBDAS:
    w = ridge(lam)
    ridge_errors[lam] = mse(w, poly_x, poly_y), mse(w, poly_xv, poly_yv), w.norm().item()
    print(f"{lam:>8.0e} {ridge_errors[lam][0]:>10.4f} {ridge_errors[lam][1]:>9.4f} {ridge_errors[lam][2]:>10.3g}")
best_lambda = min(LAMBDAS, key=lambda lam: ridge_errors[lam][1])
print(f"validation MSE: {ridge_errors[LAMBDAS[0]][1]:.3g} at λ = {LAMBDAS[0]:.0e}, "
      f"lowest {ridge_errors[best_lambda][1]:.3g} at λ = {best_lambda:.0e}, "
      f"{ridge_errors[LAMBDAS[-1]][1]:.3g} at λ = {LAMBDAS[-1]:.0e}")
train_errors = [ridge_errors[lam][0] for lam in LAMBDAS]
assert train_errors == sorted(train_errors) and LAMBDAS[0] < best_lambda < LAMBDAS[-1]  # the U-shape
assert ridge_errors[LAMBDAS[0]][2] > 1000 and ridge_errors[LAMBDAS[0]][1] > 10 * ridge_errors[best_lambda][1]
explore(draw_ridge, log10_lambda=FloatSlider(value=-10.0, min=-10.0, max=2.0, step=0.5, description="log10 λ"))

# %% [markdown]
# The table shows the classic U-shape: the training error only grows with $\lambda$, while the validation error
# first falls by orders of magnitude, to its lowest value at a moderate $\lambda$ (printed below the table), then
# rises again. The figure above (drawn with $\lambda = 10^{-10}$, almost no penalty) shows the overfitted curve
# and its coefficients in the thousands. In
# JupyterLab, move the slider to see the curve calm down as the coefficients shrink.
#
# ## 5. Dropout
#
# **Dropout** (Srivastava, Hinton et al., 2014) sets each activation to zero with probability $p$, independently,
# on every forward pass during training. A unit cannot rely on any particular other unit being present, so the
# network has to spread what it knows over many units, with some redundancy. The notes compare it to a
# kitchen where any cook may be ill on a given day: the dinner must not depend on one person. Every mini-batch
# trains a different random sub-network, and all of them share the weights, which is why dropout acts like
# training an ensemble.
#
# **Inverted scaling.** At test time we want a deterministic network with all units present. If we simply
# zeroed units during training, each unit would see inputs that are on average $(1-p)$ times smaller than at
# test time. PyTorch therefore scales the kept activations up during training:
#
# $$ \text{train: } y = \frac{m \odot x}{1 - p}, \quad m_j \sim \text{Bernoulli}(1-p), \qquad
#    \mathbb{E}[y_j] = \frac{(1-p)\,x_j}{1-p} = x_j ; \qquad \text{eval: } y = x. $$
#
# The expectation is preserved, and in eval mode dropout does nothing at all. Let us check:

# %%
torch.manual_seed(0)
drop = nn.Dropout(p=0.5)
ones = torch.ones(12)
drop.train()
print("train mode, dropout(ones):", drop(ones).tolist())
drop.eval()
print("eval mode,  dropout(ones):", drop(ones).tolist())

drop.train()
h = torch.rand(256) * 3  # some non-negative activations
draws = torch.stack([drop(h) for _ in range(20_000)])
print(f"mean of dropout(ones) over 1 000 000 entries: {drop(torch.ones(10**6)).mean():.4f} (expected 1)")
print(f"average of 20 000 dropout draws vs the input: max |difference| = {(draws.mean(0) - h).abs().max():.3f}, "
      f"mean |difference| = {(draws.mean(0) - h).abs().mean():.4f} (expected ≈ 0)")
print(f"fraction of zeros: {(draws == 0).float().mean():.4f} (expected p = 0.5)")

# %% [markdown]
# The survivors are doubled ($1/(1-0.5) = 2$) and the average over many draws recovers the input. Its error
# shrinks like $1/\sqrt{\text{draws}}$. Now the MLP with `nn.Dropout(0.5)` after each hidden ReLU:

# %%
dropout_model, _ = run("dropout p = 0.5", dropout=0.5)

# %% [markdown]
# In train mode the trained network is random: the same image gives different outputs on every call. In eval
# mode it is deterministic. (Averaging many train-mode passes, *Monte Carlo dropout*, is a cheap way to get an
# uncertainty estimate, but the normal prediction uses eval mode.)

# %%
one_image = x_test[:1].to(device)
with torch.no_grad():
    dropout_model.train()
    p_train = torch.stack([F.softmax(dropout_model(one_image), dim=1)[0] for _ in range(5)])
    dropout_model.eval()
    p_eval = torch.stack([F.softmax(dropout_model(one_image), dim=1)[0] for _ in range(2)])
label = y_test[0].item()
print(f"validation image 0 is a {CLASSES[label]!r}: probability of that class on repeated calls")
print("  train mode:", [round(v, 3) for v in p_train[:, label].tolist()])
print("  eval mode: ", [round(v, 3) for v in p_eval[:, label].tolist()])
print(f"validation accuracy, eval mode:  {evaluate(dropout_model, val_loader)['acc']:.1%}")
print(f"validation accuracy, train mode: {accuracy_in_train_mode(dropout_model, 2000):.1%}")
h_base, h_drop = base_history, results["dropout p = 0.5"]["history"]
print(f"fit's train_acc in the last epoch (measured with dropout on): {h_drop['train_acc'][-1]:.1%}; "
      f"on the clean training images in eval mode: {results['dropout p = 0.5']['train_acc']:.1%}")

# %% [markdown]
# Dropout changes the curves the most so far: the training accuracy (on clean images, in eval mode) stops lower
# than the baseline's, the gap shrinks by several points, and the validation loss no longer climbs after its
# minimum: it ends within 5 % of it. The validation accuracy changes by no more than a point or two, <!-- asserted -->
# the size of the seed-to-seed spread. Weight decay (green, for comparison) has a similar but weaker effect.

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
for name, colour in [("baseline", "C0"), ("dropout p = 0.5", "C3"), ("L2 (weight decay 1e-2)", "C2")]:
    h = results[name]["history"]
    axes[0].plot(range(1, EPOCHS + 1), h["val_loss"], color=colour, label=name)
    axes[1].plot(range(1, EPOCHS + 1), h["train_acc"], color=colour, ls=":", label=f"{name}, train (fit)")
    axes[1].plot(range(1, EPOCHS + 1), h["val_acc"], color=colour, label=f"{name}, val")
axes[0].set(xlabel="epoch", title="validation loss")
axes[1].set(xlabel="epoch", title="accuracy", ylim=(0.6, 1.01))
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
plt.tight_layout()
plt.show()


def gap(name):
    return results[name]["train_acc"] - results[name]["val_acc"]


drop_run, base_run = results["dropout p = 0.5"], results["baseline"]
assert drop_run["train_acc"] < base_run["train_acc"] - 0.02 and gap("dropout p = 0.5") < gap("baseline") - 0.03
assert drop_run["val_loss"] < 1.05 * min(drop_run["history"]["val_loss"])
assert abs(drop_run["val_acc"] - base_run["val_acc"]) < 0.02
assert gap("dropout p = 0.5") < gap("L2 (weight decay 1e-2)") < gap("baseline")

# %% [markdown]
# ## 6. Data augmentation
#
# The best regulariser is more data. **Augmentation** makes more of the data we have: each time an image is
# used, we change it in a way that does *not* change its label, so the network sees a slightly different
# image every epoch and cannot memorise the exact pixels. Which changes preserve the label depends on the
# task: a mirrored cat is still a cat, a mirrored 6 is not a 6 any more. For Fashion-MNIST we use
#
# - **horizontal flips** (a shirt mirrored is still a shirt),
# - **shifts** by up to 1 pixel and **rotations** by up to 5°.
#
# (Colour changes, the other family the notes mention, follow in section 6.1; for photos one would also add
# random crops with resizing.) `torchvision.transforms.v2` applies such transforms directly to tensors, on the
# CPU or the GPU. The empty area that a shift or rotation uncovers is filled with the background value, which
# after standardisation is $(0 - \mu)/\sigma$, not 0.
#
# One detail: a v2 transform draws its random parameters **once per call**. Called on a whole batch, it flips
# or shifts every image in the batch the same way:

# %%
BACKGROUND = (0 - MEAN) / STD
augment = v2.Compose([
    v2.RandomHorizontalFlip(p=0.5),
    v2.RandomAffine(degrees=5, translate=(1 / 28, 1 / 28), fill=BACKGROUND),  # ±5°, ±1 pixel
])
torch.manual_seed(0)
batch = x_small[:16]
for _ in range(4):
    flipped = (v2.RandomHorizontalFlip(p=0.5)(batch) == batch.flip(-1)).flatten(1).all(1)
    print(f"one call on a batch of 16: {flipped.sum().item():>2} of 16 images flipped")

# %% [markdown]
# Every image still gets a new random transform in every epoch, which is what matters, but the images of one
# batch are then not independent. `run` therefore wraps its loader in `AugmentedLoader(loader, augment,
# group=8)` from `course_utils`, which calls the transform on groups of 8 images: cheap (16 calls per batch of
# 128 instead of 128) and mostly independent. The original images in the top row, three random augmentations of
# each below:

# %%
torch.manual_seed(1)
originals = x_small[:8]
examples = torch.cat([originals] + [torch.stack([augment(img) for img in originals]) for _ in range(3)])
show_images(examples, labels=[CLASSES[i] for i in y_small[:8]] + [""] * 24, ncols=8, size=1.1)
plt.show()

# %% [markdown]
# Each shirt and shoe is still clearly the same thing. Now the same training run, with every batch augmented:

# %%
_ = run("augmentation", augment=augment)
aug_run = results["augmentation"]
regularised = ["BatchNorm", "LayerNorm", "L2 (weight decay 1e-2)", "L1 (λ = 2e-4)", "elastic net", "dropout p = 0.5"]
assert all(gap("augmentation") < gap(name) for name in regularised)                     # the smallest gap
assert aug_run["val_loss"] < 1.05 * min(aug_run["history"]["val_loss"])                 # stays near its minimum
assert aug_run["val_acc"] < base_run["val_acc"] + 0.01 and aug_run["train_acc"] < base_run["train_acc"] - 0.05

# %% [markdown]
# Augmentation closes the gap the most of all remedies (the table at the end compares them): the network sees
# 30 different versions of each image and no longer memorises them, and the validation loss stays near its
# minimum. But the validation accuracy does not rise above the baseline's, and the training accuracy (on clean
# images) ends well below the baseline's: within 30 epochs, the augmented task is harder to fit. Three
# reasons:
#
# - An MLP treats each pixel as a separate input, so an image shifted by one pixel is a new input to it. A
#   CNN (Lecture 04) is built to handle shifts, and that is where augmentation pays off most.
# - Fashion-MNIST's images are all centred, upright, and the shoes all point left. Shifted, rotated and
#   mirrored images never occur in the test set, so we train on variations we are never tested on.
#   Augmentation helps when it mimics the variation of real data.
# - With more variety to learn, the network needs more epochs.
#
# ### 6.1 Colour: brightness, contrast, saturation and hue
#
# Photos of one object differ in lighting and colour balance, so changing an image's colours is a label-preserving
# change too (AlexNet already trained with random colour shifts). `v2.ColorJitter` draws, on every call, a random
# factor for each of four properties:
#
# - **brightness** $b$: every pixel is multiplied by $b$;
# - **contrast** $c$: every pixel moves towards (for $c < 1$) or away from the image's mean grey level $\bar x$,
#   $x \mapsto c\,x + (1-c)\,\bar x$;
# - **saturation** and **hue**: how vivid the colours are, and a turn of the colour wheel (red towards yellow,
#   say). A grey image has no colour, so these two leave it unchanged.
#
# The transform works on pixels in $[0, 1]$ and clips its result to that range, so on standardised tensors it
# goes between undoing and redoing the standardisation (`in_pixel_range` below). Fashion-MNIST is grey: on its
# images brightness and contrast are what can change. To see all four, we also tint the same garments orange:

# %%
def in_pixel_range(transform):
    """A transform for pixels in [0, 1], applied to standardised images (as `run`'s loader holds them)."""
    return v2.Compose([v2.Lambda(lambda x: x * STD + MEAN), transform, v2.Lambda(standardise)])


grey_jitter = v2.ColorJitter(brightness=0.4, contrast=0.4)  # factors drawn from [0.6, 1.4]
colour_jitter = v2.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.6, hue=0.1)
TINT = torch.tensor([1.0, 0.55, 0.15])[:, None, None]  # grey -> orange: one colour image per garment
torch.manual_seed(3)
grey = x_small01[:8]
tinted = grey * TINT  # (8, 3, 28, 28)
def jittered_copies(transform, images):
    return torch.stack([transform(img) for img in images])  # one call per image: each its own random factors


rows = [grey, jittered_copies(grey_jitter, grey), jittered_copies(grey_jitter, grey),
        tinted, jittered_copies(colour_jitter, tinted), jittered_copies(colour_jitter, tinted)]
fig, axes = plt.subplots(len(rows), 8, figsize=(8.8, 6.8))
for row, (images, ax_row) in enumerate(zip(rows, axes)):
    for img, ax in zip(images, ax_row):
        ax.imshow(img.permute(1, 2, 0).clamp(0, 1) if img.shape[0] == 3 else img[0], cmap="gray", vmin=0, vmax=1)
        ax.axis("off")
    ax_row[0].set_title(["original", "brightness and contrast", "", "tinted original",
                         "all four", ""][row], fontsize=8, loc="left")
plt.tight_layout()
plt.show()

brightness, spread = rows[1].mean((1, 2, 3)), rows[1].std((1, 2, 3))
print("mean pixel of each image, original:", [round(v, 2) for v in grey.mean((1, 2, 3)).tolist()])
print("                        jittered:  ", [round(v, 2) for v in brightness.tolist()])
print("pixel std of each image, original: ", [round(v, 2) for v in grey.std((1, 2, 3)).tolist()])
print("                        jittered:  ", [round(v, 2) for v in spread.tolist()])
saturation_hue = v2.ColorJitter(saturation=0.6, hue=0.1)
print("saturation and hue change a grey image:", not torch.equal(saturation_hue(grey), grey))
assert torch.equal(saturation_hue(grey), grey) and not torch.equal(saturation_hue(tinted), tinted)
jittered = in_pixel_range(grey_jitter)(x_small[:8])  # on standardised images: the same in standardised units
assert jittered.shape == (8, 1, 28, 28) and (jittered * STD + MEAN).min() >= -1e-6

# %% [markdown]
# Brightness moves each image's mean pixel up or down, contrast its spread; the garments stay what they are.
# Saturation and hue left the grey images exactly as they were, while the tinted garments change colour from
# image to image, still recognisably the same things. A colour augmentation is worth it where the test images
# vary in the same way, as photos taken under different light do. Fashion-MNIST's images were all processed
# alike (cut out, scaled, converted to grey in the same pipeline), the same argument as for the shifts above, so
# we leave colour out of our runs. For a real photo data set, a common start is
# `v2.Compose([v2.RandomResizedCrop(size), v2.RandomHorizontalFlip(), v2.ColorJitter(0.4, 0.4, 0.4, 0.1)])`.
#
# ## 7. All the remedies side by side
#
# One more run as a yardstick: no remedy at all, but **4 times more data** (4 000 images, the first 1 000 being
# the usual ones), everything else unchanged.

# %%
rest = torch.randperm(POOL, generator=torch.Generator().manual_seed(1))
rest = rest[~torch.isin(rest, subset)][:3 * N_TRAIN]  # 3 000 images that are not in the subset
more_index = torch.cat([subset, rest])
_ = run("4× more data (4 000 images)", x=standardise(x_pool[more_index]), y=y_pool[more_index])

# %%
order = ["baseline", "pixels in [0, 255]", "pixels in [0, 1]", "pixels centred, x - μ", "BatchNorm", "LayerNorm",
         "L2 (weight decay 1e-2)", "L1 (λ = 2e-4)", "elastic net", "dropout p = 0.5", "augmentation",
         "4× more data (4 000 images)"]
print(f"{'run':<30} {'train acc':>9} {'val acc':>8} {'gap':>7} {'val loss':>9}")
for name in order:
    r = results[name]
    print(f"{name:<30} {r['train_acc']:>9.1%} {r['val_acc']:>8.1%} {r['train_acc'] - r['val_acc']:>+7.1%} "
          f"{r['val_loss']:>9.3f}")

shown = [name for name in order if name != "pixels in [0, 255]"]  # it diverged: 10 % everywhere
fig, axes = plt.subplots(1, 3, figsize=(15, 4.2), sharey=True)
ypos = torch.arange(len(shown)).float()
train_acc = [results[n]["train_acc"] for n in shown]
val_acc = [results[n]["val_acc"] for n in shown]
axes[0].barh(ypos - 0.2, train_acc, height=0.4, label="train (clean, eval mode)")
axes[0].barh(ypos + 0.2, val_acc, height=0.4, label="validation")
for y_, v in zip(ypos.tolist(), val_acc):
    axes[0].text(v + 0.003, y_ + 0.2, f"{v:.1%}", va="center", fontsize=7)
axes[0].set(xlim=(0.7, 1.0), xlabel="accuracy", title="final accuracy")
axes[0].legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.17), ncol=2)
axes[1].barh(ypos, [100 * (t - v) for t, v in zip(train_acc, val_acc)], color="C3")
axes[1].set(xlabel="train acc - val acc (points)", title="generalisation gap")
axes[2].barh(ypos, [results[n]["val_loss"] for n in shown], color="C2")
axes[2].axvline(results["baseline"]["val_loss"], color="k", ls=":", lw=1)
axes[2].set(xlabel="validation loss", title="final validation loss (lower is better)")
axes[0].set_yticks(ypos.tolist(), shown)
axes[0].invert_yaxis()
for ax in axes:
    ax.grid(alpha=0.3, axis="x")
plt.tight_layout()
plt.show()

# What the text below says, checked on this run:
penalties = ["L2 (weight decay 1e-2)", "L1 (λ = 2e-4)", "elastic net"]
for name in penalties + ["dropout p = 0.5", "augmentation"]:
    assert gap(name) < gap("baseline") and results[name]["val_loss"] < results["baseline"]["val_loss"], name
assert gap("augmentation") < gap("dropout p = 0.5") < min(gap(name) for name in penalties)
accuracies = [results[name]["val_acc"] for name in ["baseline", "BatchNorm", "LayerNorm", *penalties, "dropout p = 0.5",
                                                    "augmentation"]]
assert max(accuracies) - min(accuracies) < 0.025
assert results["4× more data (4 000 images)"]["val_acc"] > max(accuracies) + 0.02
assert gap("BatchNorm") > gap("baseline") - 0.02

# %% [markdown]
# What the table says, for this model and these 1 000 images:
#
# - **Every regulariser shrinks the gap and the validation loss**: the networks are less overconfident. The gap
#   shrinks a little with the weight penalties, more with dropout and the most with augmentation.
# - **The validation accuracy hardly moves**: the normalised and regularised runs all end within a few points
#   of each other, not far beyond the seed-to-seed spread of section 1. A regulariser cannot create information
#   that 1 000 images do not contain; it can only stop the network from fitting noise, which shows in the loss
#   (confidence) more than in the accuracy.
# - **More data** beats all of them: 4 times more images give a clearly higher validation accuracy.
# - **BatchNorm**, **LayerNorm** and **input normalisation** are about optimisation, not overfitting: they make
#   training faster and more robust (raw $[0, 255]$ pixels diverge without them), but the BatchNorm network
#   overfits just as much. (The $[0, 1]$ and centred runs have smaller gaps only because they fit the training set less
#   well in 30 epochs: a small gap is not a goal in itself, a high validation accuracy is.)
#
# In practice the remedies are combined, the strengths are tuned on a validation set (never on the test set),
# and training stops when the validation loss stops improving.
#
# ## Summary
#
# - **Overfitting** shows in the curves: the training loss keeps falling while the validation loss rises; a
#   gap opens between training and validation accuracy. Here an MLP with 269 k parameters fitted its 1 000
#   training images almost perfectly and the validation images far less well.
# - **Input normalisation** $x' = (x-\mu)/\sigma$ (training-set statistics) improves the conditioning of the
#   loss: centring removes the large eigenvalue $\lVert\mu\rVert^2$ of $\mathbb{E}[xx^\top]$, scaling brings the
#   inputs to the size that default initialisations and learning rates assume. With the same learning rate,
#   $[0, 255]$ pixels diverged, $[0, 1]$ trained slowly, standardised inputs fastest.
# - **BatchNorm** standardises every feature over the mini-batch, then applies a learned $\gamma, \beta$; it
#   keeps running averages $\hat\mu \leftarrow (1-m)\hat\mu + m\mu_B$ (unbiased variance) and uses them in
#   eval mode, so the same input gives different outputs in train and eval mode. It made training much faster
#   and the network insensitive to the input scale, but did not reduce overfitting here. **LayerNorm** normalises
#   each example over its features instead: no batch statistics, the same in train and eval mode.
# - **Weight decay**: L2 ($\frac\lambda2\lVert w\rVert^2$, which is `weight_decay=λ` in SGD:
#   $w \leftarrow (1-\alpha\lambda)w - \alpha\nabla L$; without the $\frac12$ it would be `weight_decay=2λ`) shrinks
#   all weights; L1 ($\lambda\lVert w\rVert_1$) pushes unneeded ones to zero; elastic net mixes both.
# - **Dropout** zeroes activations with probability $p$ and scales the rest by $1/(1-p)$ in train mode, which
#   preserves the expectation; in eval mode it is the identity.
# - **Augmentation** trains on label-preserving changes of the images (`transforms.v2`; one random draw per
#   call): flips, shifts, rotations, and brightness and contrast (saturation and hue for colour images). It
#   closed the gap the most but, for an MLP on centred images, did not raise the accuracy.
# - Regularisers trade training fit for a smaller gap and lower validation loss; more data remains the best cure.
#
# ## Try it yourself
#
# 1. Replace the MLP by a small CNN (`nn.Conv2d(1, 16, 3, padding=1)`, ReLU, max-pooling, twice, then a
#    classifier; Lecture 04) and rerun the baseline and the augmentation run (a few minutes on a CPU). Does
#    augmentation help the CNN, and does it help more with 60 epochs instead of 30? Try flips only, then shifts
#    of 2 pixels.
# 2. Vary the dropout probability ($p = 0.1, 0.3, 0.7$) and the weight decay ($10^{-3}$ to $10^{-1}$). Plot the
#    validation accuracy and the gap against the strength: where is the best value, and what happens to the
#    training accuracy when the regulariser is too strong?
# 3. Train the BatchNorm network with batch size 8 instead of 128. How do the training curves change, and how
#    large is the difference between train-mode and eval-mode validation accuracy now? What happens with
#    `nn.BatchNorm1d(256, momentum=0.01)`, or with batch size 1? And with LayerNorm (`norm="layer"`)?
# 4. Add brightness and contrast to the augmentation,
#    `run("augmentation + colour", augment=v2.Compose([in_pixel_range(grey_jitter), augment]))`. Does the
#    validation accuracy change by more than the seed-to-seed spread?
