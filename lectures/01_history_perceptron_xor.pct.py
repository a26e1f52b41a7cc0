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
# # Lecture 01 — History, the perceptron and XOR
#
# Deep learning is old. Its basic unit, an artificial neuron that adds up weighted inputs and fires when the
# sum is large enough, was written down in 1943, and the first learning machine built from it in 1958. This
# lecture follows that story and, at each step, runs the idea in a few lines of PyTorch.
#
# **Plan**
# 1. A short history: from the biological neuron (1891) to ResNet (2015), with the ImageNet error rates.
# 2. Before deep learning: hand-crafted features (HOG) and a classifier.
# 3. Linear regression, the single-layer perceptron and the step function; logistic regression and the log-loss.
# 4. The perceptron learning rule, and why it stops making mistakes on separable data.
# 5. XOR: a problem no single perceptron can solve. Try it yourself in a widget.
# 6. Two fixes: a new feature $x_1 x_2$, or a hidden layer (set by hand, then trained).
# 7. Stacked linear layers collapse into one; a nonlinearity is what makes depth useful.
# 8. Data as matrices: the notes' house-price table, mini-batches, and what the batch size changes.
# 9. Real data: logistic regression on MNIST, its learned templates, and a small MLP that halves its errors.

# %%
import math
import time

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from course_utils import (TensorLoader, choose_device, explore, fit, image_tensors, load_mnist, make_blobs,
                          make_xor, plot_decision_boundary, seed_everything, show_images, xor_truth_table)

# This lecture's tensors are small: on a CPU one thread is faster than splitting each operation.
choice = choose_device(cpu_threads=1)
print(choice.summary())
device = choice.device
_ = seed_everything(0)

# %% [markdown]
# ## 1. A short history of neural networks
#
# - **1891 — the neuron.** Anatomists had been staining nerve tissue with Camillo Golgi's silver method
#   (1873), and Santiago Ramón y Cajal's drawings showed separate cells. Wilhelm Waldeyer summarised this as
#   the *neuron doctrine* and coined the word **neuron**: the nervous system is made of discrete cells that
#   receive signals on their dendrites and send a signal down their axon.
# - **1943 — McCulloch and Pitts.** A neurophysiologist and a young logician describe an idealised neuron:
#   binary inputs, a weighted sum, a threshold, a binary output. Networks of such units can compute any
#   logical function. There is no learning yet: the weights are set by hand.
# - **1958 — Rosenblatt's perceptron.** The same unit, plus a rule that *learns* the weights from examples
#   by trial and error. The Mark I Perceptron was a machine with a 20×20 grid of photocells as its "retina"
#   that learned to tell simple visual patterns apart; the press promised thinking machines.
# - **1969 — Minsky and Papert, *Perceptrons*.** A careful book on what one layer of such units can and
#   cannot compute. The famous example: **XOR**, which no single perceptron can represent (Section 5). Multi-
#   layer networks could, but nobody knew how to train them; funding and interest dried up for a decade.
# - **1974 — Werbos: backpropagation.** Paul Werbos's PhD thesis computes the gradient of the error with
#   respect to every weight of a multi-layer network by the chain rule, applied backwards (Lecture 02). It
#   became widely known after Rumelhart, Hinton and Williams (1986) showed multi-layer networks learning useful
#   internal features with it. Networks are now cascades of *differentiable* transformations.
# - **1998 — LeNet-5.** Yann LeCun and colleagues train a convolutional network (Lecture 04) to read
#   handwritten digits; versions of it read a large share of the cheques in the US.
# - **The 2000s — loss of interest.** Support vector machines (1990s) and boosting (AdaBoost, gradient boosting
#   around 2000) came with theory, convex training and good results on the small datasets of the time. Neural
#   networks were slow to train on the computers of the day, needed many tricks, and overfitted the small
#   datasets (they memorise the training set instead of generalising). For about a decade most researchers
#   worked on other models.
# - **2009–2012 — ImageNet and AlexNet.** ImageNet (Deng, Fei-Fei Li et al.) is a set of over **14 million**
#   labelled images in more than 20 000 categories; its yearly challenge (ILSVRC, 2010–2017) used **1000
#   classes** and about 1.2 million training images. <!-- quoted -->
#   In 2012 **AlexNet** (Krizhevsky, Sutskever, Hinton), a convolutional network very much like LeNet, only
#   bigger, trained on two GPUs with ReLUs and dropout, won with **15.3 %** top-5 error; <!-- quoted -->
#   the 2011 winner had **25.8 %**. Enough data, GPU compute, and a model that exploits the structure of <!-- quoted -->
#   images: the deep learning boom started here.
# - **2015 — ResNet** (He et al.) reaches **3.57 %** top-5 error, <!-- quoted -->
#   below the ≈ 5 % measured for a trained human. (Lecture 07 takes these architectures apart.) <!-- quoted -->
#
# *Top-5 error* is the fraction of test images whose correct class is **not** among the model's five best
# guesses (many ImageNet photos contain several objects, so one guess is harsh).

# %%
EVENTS = [  # (year, label)
    (1891, "neuron doctrine\n(Waldeyer)"),
    (1943, "McCulloch–Pitts\nneuron"),
    (1958, "Rosenblatt:\nperceptron"),
    (1969, "Minsky & Papert:\nXOR"),
    (1974, "Werbos:\nbackpropagation"),
    (1986, "backprop popularised\n(Rumelhart, Hinton, Williams)"),
    (1998, "LeNet-5\n(LeCun et al.)"),
    (2009, "ImageNet"),
    (2012, "AlexNet"),
    (2015, "ResNet"),
]
QUIET = [(1969, 1982, "little interest after\n$Perceptrons$"), (2000, 2011, "SVMs and boosting\ndominate")]

fig, (ax_old, ax_new) = plt.subplots(1, 2, figsize=(12, 3.6), sharey=True, gridspec_kw={"width_ratios": [1, 7]})
for ax, (lo, hi) in ((ax_old, (1886, 1897)), (ax_new, (1938, 2019))):
    ax.axhline(0, color="k", lw=1.5)
    ax.set_xlim(lo, hi)
    ax.set_ylim(-2.3, 2.3)
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
for start, end, text in QUIET:
    ax_new.axvspan(start, end, color="grey", alpha=0.15)
    ax_new.text((start + end) / 2, -2.2, text, ha="center", va="bottom", fontsize=8, color="dimgrey")
for i, (year, label) in enumerate(EVENTS):
    ax = ax_old if year < 1900 else ax_new
    height = [1.0, 1.9, 1.0, -1.0, 1.9, -1.8, 1.0, 1.9, 1.0, 1.9][i]
    ax.plot([year, year], [0, height * 0.8], color="tab:blue", lw=1)
    ax.plot(year, 0, "o", color="tab:blue")
    ax.text(year, height * 0.8, f"{year}\n{label}", ha="center", va="bottom" if height > 0 else "top", fontsize=8)
ax_old.set_xticks([1891])
ax_new.set_xticks(range(1940, 2020, 10))
# the "//" marks of a broken axis
for ax, x in ((ax_old, 1), (ax_new, 0)):
    ax.plot([x], [0], marker=[(-1, -1), (1, 1)], markersize=12, color="k", transform=ax.transAxes, clip_on=False)
fig.suptitle("Neural networks: a timeline (the axis is broken between 1897 and 1938)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The ImageNet challenge made progress measurable. Here are the **winning top-5 error rates on the test set**,
# year by year. Which numbers we use, precisely:
#
# - 2010 NEC–UIUC 28.2 %, 2011 XRCE 25.8 %: <!-- quoted -->
#   hand-crafted local descriptors (SIFT, LBP), pooled into long vectors (super-vector or Fisher-vector coding)
#   and classified by linear SVMs: the pre-deep-learning pipeline of Section 2.
# - 2012 SuperVision (AlexNet) **15.3 %**: <!-- quoted -->
#   the team's best entry, an ensemble of 7 CNNs, two of them pre-trained on the larger ImageNet Fall 2011
#   release (extra data). Using the challenge data only, their ensemble of 5 CNNs scored 16.4 %; <!-- quoted -->
#   a single CNN had 18.2 % on the validation set. The runner-up had 26.2 %. <!-- quoted -->
# - 2013 Clarifai (Zeiler and Fergus, the "ZFNet" paper) 11.7 %, 2014 GoogLeNet 6.7 %, <!-- quoted -->
#   2015 ResNet (MSRA) 3.57 %: all deep CNNs, each deeper than the last. <!-- quoted -->
# - Human: 5.1 %, one trained annotator (Andrej Karpathy) on 1500 test images. <!-- quoted -->
#   One person's estimate, not a law of nature, but it shows that by 2015 machines matched careful humans on
#   this task.

# %%
years = ["2010", "2011", "2012", "2013", "2014", "2015"]
top5 = [28.2, 25.8, 15.3, 11.7, 6.7, 3.57]
winners = ["NEC-UIUC", "XRCE", "AlexNet", "Clarifai\n(ZFNet)", "GoogLeNet", "ResNet"]
colors = ["tab:grey", "tab:grey", "tab:blue", "tab:blue", "tab:blue", "tab:blue"]

fig, ax = plt.subplots(figsize=(7, 3.6))
bars = ax.bar(years, top5, color=colors)
for bar, value, name in zip(bars, top5, winners):
    ax.text(bar.get_x() + bar.get_width() / 2, value + 0.5, f"{value:g}%\n{name}", ha="center", va="bottom", fontsize=8)
ax.axhline(5.1, color="tab:red", ls="--", lw=1)
ax.text(-0.45, 5.6, "human ≈ 5.1%", color="tab:red", ha="left", fontsize=8)
ax.set(ylabel="top-5 error, %", ylim=(0, 35), title="ILSVRC winners (grey: hand-crafted features, blue: CNNs)")
plt.show()
print(f"AlexNet cut the 2011 winner's error by {25.8 - 15.3:.1f} points ({(25.8 - 15.3) / 25.8:.0%} relative); "
      f"from 2011 to 2015 the error fell {25.8 / 3.57:.1f}-fold.")

# %% [markdown]
# ## 2. Before deep learning: hand-crafted features + a classifier
#
# Until 2012, a typical image classifier had two separate stages. First, a **hand-designed feature extractor**
# turned pixels into a vector that an expert believed to be informative: edges, corners, SIFT descriptors, or
# **HOG** (*histograms of oriented gradients*, Dalal and Triggs, 2005). Second, a **classifier** (often a
# linear SVM) was trained on those vectors. Only the second stage learned from data; the quality of the
# first depended on human ingenuity, and features designed for pedestrians did not transfer to, say, X-rays.
#
# Deep learning **learns the features too**: every layer is a trainable transformation, and the whole chain,
# from pixels to class, is trained together by gradient descent. That is what "end to end" means.
#
# To see what a hand-crafted feature looks like, here is a crude HOG of one MNIST digit: compute the
# horizontal and vertical pixel differences (the gradient), split the 28×28 image into 4×4 cells of 7×7
# pixels, and in each cell build a 9-bin histogram of gradient *orientations* (0°–180°), each pixel voting
# with its gradient magnitude. The digit becomes $4\cdot 4\cdot 9 = 144$ numbers.

# %%
train_set, test_set = load_mnist(train=True), load_mnist(train=False)
print(f"MNIST: train {tuple(train_set.data.shape)}, test {tuple(test_set.data.shape)}, pixels 0-255 ({train_set.data.dtype})")

digit = train_set.data[0].float().numpy() / 255
grad_row, grad_col = np.gradient(digit)               # derivative down the rows and along the columns
magnitude = np.hypot(grad_row, grad_col)
orientation = np.arctan2(grad_row, grad_col) % np.pi  # unsigned orientation in [0, pi)

CELL, BINS = 7, 9
n_cells = 28 // CELL
bin_index = np.minimum((orientation / np.pi * BINS).astype(int), BINS - 1)
hog = np.zeros((n_cells, n_cells, BINS))
for r in range(28):
    for c in range(28):
        hog[r // CELL, c // CELL, bin_index[r, c]] += magnitude[r, c]
print(f"HOG feature vector: {hog.size} numbers (cells {n_cells}x{n_cells} x {BINS} bins); "
      f"label of this digit: {train_set.targets[0].item()}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
axes[0].imshow(digit, cmap="gray")
axes[0].set_title(f"an MNIST digit ('{train_set.targets[0].item()}')")
axes[1].imshow(magnitude, cmap="magma")
axes[1].set_title("gradient magnitude")
axes[2].imshow(digit, cmap="Greys", alpha=0.35)
centres = (np.arange(BINS) + 0.5) * np.pi / BINS
for r in range(n_cells):
    for c in range(n_cells):
        cy, cx = r * CELL + CELL / 2 - 0.5, c * CELL + CELL / 2 - 0.5
        if hog[r, c].sum() < 0.05 * hog.sum(axis=2).max():
            continue                                   # (almost) no ink in this cell: nothing to draw
        scale = 0.45 * CELL / hog[r, c].max()          # each cell's histogram scaled to its strongest bin
        for angle, weight in zip(centres, hog[r, c]):
            # an edge runs perpendicular to the gradient: draw each bin as an edge segment
            dx, dy = -np.sin(angle) * weight * scale, np.cos(angle) * weight * scale
            axes[2].plot([cx - dx, cx + dx], [cy - dy, cy + dy], color="tab:red", lw=1.5)
for edge in (6.5, 13.5, 20.5):                         # the cell borders
    axes[2].axhline(edge, color="grey", lw=0.5)
    axes[2].axvline(edge, color="grey", lw=0.5)
axes[2].set_title("HOG: 9 orientation bins per 7×7 cell", fontsize=10)
for ax in axes:
    ax.set_xticks([])
    ax.set_yticks([])
axes[2].set(xlim=(-0.5, 27.5), ylim=(27.5, -0.5))
fig.tight_layout()
plt.show()

# %% [markdown]
# Each cell's histogram is drawn as a star of segments, one per orientation bin, each as long as its bin is
# strong (scaled to the cell's strongest bin; cells with almost no ink are left empty). The segments follow the
# strokes: the descriptor records *which edge directions occur where*, and ignores absolute brightness. Every
# choice here (the cell size, 9 bins, unsigned angles) was made by a person. In Section 9, a linear classifier on
# raw pixels learns its own "templates" instead; in Lecture 04, a convolutional network learns edge detectors
# much like these gradient filters in its first layer.
#
# ## 3. From linear regression to the perceptron
#
# ### 3.1 Linear regression
#
# The simplest model with a parameter to learn: a line,
#
# $$\hat y = w_1 x + w_0 ,$$
#
# with input $x$, target $y$, weights $w_1$ (slope) and $w_0$ (bias, intercept). We fit it by minimising the
# mean squared error over $N$ examples,
#
# $$L(w_0, w_1) = \frac1N\sum_{i=1}^N (y_i - w_1 x_i - w_0)^2 .$$
#
# Two ways: the **closed form** (set both partial derivatives to zero and solve:
# $w_1 = \operatorname{cov}(x, y)/\operatorname{var}(x)$, $w_0 = \bar y - w_1 \bar x$), or **gradient descent**,
# which repeats $w \leftarrow w - \alpha\,\partial L/\partial w$ with a learning rate $\alpha$:
#
# $$\frac{\partial L}{\partial w_1} = -\frac2N\sum_i (y_i - \hat y_i)\,x_i, \qquad
# \frac{\partial L}{\partial w_0} = -\frac2N\sum_i (y_i - \hat y_i).$$
#
# Only gradient descent scales to neural networks, where no closed form exists. Both on 30 generated points
# from $y = 2.5x + 4$ plus noise:

# %%
g = torch.Generator().manual_seed(0)
x_lin = 10 * torch.rand(30, generator=g)
y_lin = 2.5 * x_lin + 4 + 2.0 * torch.randn(30, generator=g)

# closed form
w1_cf = ((x_lin - x_lin.mean()) * (y_lin - y_lin.mean())).mean() / x_lin.var(unbiased=False)
w0_cf = y_lin.mean() - w1_cf * x_lin.mean()

# gradient descent from w = 0
w1, w0, alpha, gd_loss = 0.0, 0.0, 0.02, []
for _ in range(2000):
    residual = y_lin - (w1 * x_lin + w0)
    gd_loss.append((residual ** 2).mean().item())
    w1 += alpha * 2 * (residual * x_lin).mean().item()  # w <- w - alpha * dL/dw
    w0 += alpha * 2 * residual.mean().item()

print(f"closed form      : w1 = {w1_cf:.4f}, w0 = {w0_cf:.4f}")
print(f"gradient descent : w1 = {w1:.4f}, w0 = {w0:.4f}  (2000 steps, alpha = {alpha}); "
      f"MSE {gd_loss[0]:.1f} -> {gd_loss[-1]:.3f}")
print("true line        : w1 = 2.5, w0 = 4 (the noise moves the best fit a little)")

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
grid = torch.linspace(0, 10, 2)
axes[0].scatter(x_lin, y_lin, s=20, label="data")
axes[0].plot(grid, w1_cf * grid + w0_cf, "k-", lw=3, alpha=0.4, label="closed form")
axes[0].plot(grid, w1 * grid + w0, "r--", label="gradient descent")
axes[0].set(xlabel="x", ylabel="y", title=r"$\hat y = w_1 x + w_0$")
axes[0].legend()
axes[1].semilogy(gd_loss)
axes[1].set(xlabel="gradient-descent step", ylabel="MSE (log scale)", title="training loss")
fig.tight_layout()
plt.show()

# %% [markdown]
# The two lines coincide. The slope converges quickly; the bias (intercept) takes longer, which is why the loss
# curve has a long flat tail: the two parameters are on very different scales (Lecture 06 explains why
# normalising inputs helps).
#
# ### 3.2 The single-layer perceptron
#
# With $N$ inputs the same formula becomes a weighted sum,
#
# $$\hat y = \sum_{i=1}^{N} x_i w_i + w_0 = \mathbf w^\top \mathbf x + w_0 .$$
#
# Drawn as a graph (the notes call it "the same formula in a different view"), each input $x_i$ is a node
# connected to one output node by an edge of weight $w_i$; the output node adds everything up. That is an
# artificial **neuron** (the notes' Russian: *нейрон*). For **classification**, Rosenblatt put a threshold on the sum:
# the **step activation**
#
# $$\hat y = \operatorname{step}(\mathbf w^\top\mathbf x + w_0), \qquad
# \operatorname{step}(z) = \begin{cases} 1 & z > 0 \\ 0 & z \le 0 \end{cases}$$
#
# The set where $\mathbf w^\top\mathbf x + w_0 = 0$ is a line in 2-D (a hyperplane in general): the
# **decision boundary**. Points on one side get class 1, on the other class 0; $\mathbf w$ is perpendicular
# to the boundary and points towards class 1.
#
# ### 3.3 Logistic regression: a soft step
#
# The step function is flat almost everywhere, so its derivative is useless for gradient descent. Logistic
# regression replaces it with the smooth **sigmoid** and reads the output as a probability:
#
# $$P(y = 1\mid \mathbf x) = \sigma(\mathbf w^\top\mathbf x + b), \qquad \sigma(z) = \frac{1}{1 + e^{-z}} .$$
#
# It is trained by minimising the **log-loss** (binary cross-entropy), the negative log-likelihood of the labels
# $y_i \in \{0, 1\}$, with $p_i = P(y = 1\mid \mathbf x_i)$:
#
# $$L = -\sum_i \Big[y_i \log p_i + (1 - y_i)\log(1 - p_i)\Big].$$
#
# A confident wrong answer ($p_i \to 0$ when $y_i = 1$) costs without bound; a confident right answer costs
# almost nothing.

# %%
z = torch.linspace(-6, 6, 400)
p = torch.linspace(0.001, 0.999, 400)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
axes[0].plot(z, (z > 0).float(), label="step(z)", lw=2)
axes[0].plot(z, torch.sigmoid(z), label=r"$\sigma(z) = 1/(1+e^{-z})$", lw=2)
axes[0].plot(z, torch.sigmoid(z) * (1 - torch.sigmoid(z)), "--", label=r"$\sigma'(z) = \sigma(1-\sigma)$")
axes[0].set(xlabel="z = w·x + b", title="activations")
axes[0].legend(fontsize=8)
axes[1].plot(p, -torch.log(p), label=r"$y=1$: $-\log p$")
axes[1].plot(p, -torch.log(1 - p), label=r"$y=0$: $-\log(1-p)$")
axes[1].set(xlabel=r"predicted $p = P(y=1\mid x)$", ylabel="loss", ylim=(0, 5), title="log-loss of one example")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()
for prob in (0.99, 0.5, 0.01):
    print(f"true label 1, predicted p = {prob:4}: log-loss = {-math.log(prob):.3f}")

# %% [markdown]
# The sigmoid's slope $\sigma'(z) = \sigma(z)(1 - \sigma(z))$ is never zero, so gradient descent always gets a
# signal. Its decision rule, $p > 0.5 \iff \mathbf w^\top\mathbf x + b > 0$, is the same straight line as the
# perceptron's: logistic regression is still a **linear classifier**.
#
# ## 4. The perceptron learning rule
#
# Rosenblatt's rule needs no derivatives at all. Go through the examples one at a time; for each,
# predict $\hat y = \operatorname{step}(\mathbf w^\top \mathbf x + w_0)$ and update
#
# $$\mathbf w \leftarrow \mathbf w + \eta\,(y - \hat y)\,\mathbf x, \qquad w_0 \leftarrow w_0 + \eta\,(y - \hat y).$$
#
# If the prediction is right, $y - \hat y = 0$ and nothing changes. If a class-1 point was called 0, the weights
# move *towards* $\mathbf x$, which raises $\mathbf w^\top\mathbf x$ next time; a class-0 point called 1 pushes
# them away. (Compare with the linear-regression gradient step above: the same "error × input" shape.)
#
# **Why it converges.** Suppose the data are **linearly separable**: some unit vector $\mathbf u$ (bias included
# as a weight on a constant input 1) puts every point on its correct side with margin at least $\gamma > 0$, and
# every (extended) input has length at most $R$. Each mistake increases $\mathbf w\cdot\mathbf u$ by at least
# $\eta\gamma$, while $\lVert \mathbf w\rVert^2$ grows by at most $\eta^2 R^2$; since
# $\mathbf w\cdot\mathbf u \le \lVert\mathbf w\rVert$, after $k$ mistakes $k\eta\gamma \le \eta R\sqrt{k}$.
# Hence **Novikoff's theorem (1962): the perceptron makes at most $(R/\gamma)^2$ mistakes, however many passes
# it makes over the data**, and then it never errs on the training set again.
#
# Our implementation (lecture-specific, plain tensors):

# %%
def step(z):
    return (z > 0).long()


def train_perceptron(x, y, epochs=20, lr=1.0, seed=0):
    """Rosenblatt's rule on (x: (N, d) float, y: (N,) in {0, 1}); returns w, b and mistakes per epoch."""
    g = torch.Generator().manual_seed(seed)
    w, b = torch.zeros(x.shape[1]), 0.0
    mistakes = []
    for _ in range(epochs):
        errors = 0
        for i in torch.randperm(len(x), generator=g).tolist():
            y_hat = step(x[i] @ w + b).item()
            if y_hat != y[i].item():
                w = w + lr * (y[i].item() - y_hat) * x[i]
                b = b + lr * (y[i].item() - y_hat)
                errors += 1
        mistakes.append(errors)
    return w, b, mistakes


def perceptron_predict(w, b):
    """A `predict(points) -> class ids` function for plot_decision_boundary."""
    return lambda points: step(points @ w + b)


# %% [markdown]
# Two Gaussian blobs of 50 points each, centred at $(0, 0)$ and $(1.5, 1.5)$. They are close, but (for this
# seed) still linearly separable:

# %%
x_blobs, y_blobs = make_blobs(n=100, centers=torch.tensor([[0.0, 0.0], [1.5, 1.5]]), std=0.5, seed=0)
w_blobs, b_blobs, mistakes_blobs = train_perceptron(x_blobs, y_blobs, epochs=15)
accuracy_blobs = (step(x_blobs @ w_blobs + b_blobs) == y_blobs).float().mean().item()
print("mistakes per epoch:", mistakes_blobs)
print(f"learned w = {[round(v, 3) for v in w_blobs.tolist()]}, b = {b_blobs:.1f}; "
      f"training accuracy {accuracy_blobs:.0%}")
assert mistakes_blobs[-1] == 0 and accuracy_blobs == 1.0

# Novikoff's bound. Search the best separator over 3600 directions w = (cos t, sin t); for each direction the best
# bias sits midway between the two classes' extreme projections. gamma is the margin of the unit vector (w, b)/|(w, b)|.
angles = torch.linspace(0, 2 * math.pi, 3601)[:-1]
directions = torch.stack([angles.cos(), angles.sin()], dim=1)           # (3600, 2), unit vectors
proj = x_blobs @ directions.T                                            # (100, 3600)
low1, high0 = proj[y_blobs == 1].min(0).values, proj[y_blobs == 0].max(0).values
bias = -(low1 + high0) / 2
gamma = ((low1 - high0) / 2 / torch.sqrt(1 + bias ** 2)).max().item()
radius = torch.cat([x_blobs, torch.ones(len(x_blobs), 1)], dim=1).norm(dim=1).max().item()
bound = (radius / gamma) ** 2
print(f"largest margin gamma = {gamma:.4f}, R = {radius:.2f}: at most (R/gamma)^2 = {bound:,.0f} mistakes "
      f"guaranteed; made {sum(mistakes_blobs)}, {bound / sum(mistakes_blobs):,.0f} times fewer")
assert sum(mistakes_blobs) <= bound / 10  # the bound is loose here (see below)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plot_decision_boundary(perceptron_predict(w_blobs, b_blobs), x_blobs, y_blobs, ax=axes[0],
                       title="perceptron on separable blobs")
mid = x_blobs.mean(0)
axes[0].annotate("", xy=(mid + w_blobs / w_blobs.norm()).tolist(), xytext=mid.tolist(),
                 arrowprops=dict(arrowstyle="->", lw=2))
axes[0].text(*(mid + 1.15 * w_blobs / w_blobs.norm()).tolist(), "w", fontsize=12, fontweight="bold")
axes[1].bar(range(1, len(mistakes_blobs) + 1), mistakes_blobs)
axes[1].set(xlabel="epoch", ylabel="mistakes", title="mistakes per epoch (100 points)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Several mistakes in the first epochs, fewer and fewer, then none: the points near the boundary keep nudging
# it until every point is on its side. The weight vector $\mathbf w$ (arrow) is perpendicular to the boundary and
# points into the red class.
#
# These blobs are *barely* separable (the widest possible gap between them is tiny), so Novikoff's guarantee is
# very loose here: the bound allows far more mistakes than the rule made (both are printed above). The bound is
# about the worst case. What it
# tells us is that the number of mistakes is finite and depends on the margin and the radius, not on the number
# of points or passes. Note that the rule stops as soon as every point is on the right side, even
# if the boundary passes close to some points; finding the boundary with the *largest* margin is what SVMs do.
#
# ## 5. Linear inseparability: XOR
#
# The four points of the XOR truth table: the output is 1 when exactly one input is 1.
#
# | $x_1$ | $x_2$ | XOR |
# |---|---|---|
# | 0 | 0 | 0 |
# | 0 | 1 | 1 |
# | 1 | 0 | 1 |
# | 1 | 1 | 0 |
#
# The two class-1 points sit on one diagonal of the square, the class-0 points on the other. No straight line
# puts both diagonals on different sides. Proof in one line: we would need $w_0 \le 0$ (row 1), $w_2 + w_0 > 0$ and
# $w_1 + w_0 > 0$ (rows 2, 3), and $w_1 + w_2 + w_0 \le 0$ (row 4). Adding rows 2 and 3 gives
# $w_1 + w_2 + 2w_0 > 0$, so $w_1 + w_2 + w_0 > -w_0 \ge 0$, contradicting row 4.
#
# The perceptron rule therefore never stops making mistakes:

# %%
x_xor, y_xor = xor_truth_table()
w_x, b_x, mistakes_xor = train_perceptron(x_xor, y_xor, epochs=20)
print("XOR, mistakes per epoch:", mistakes_xor)
print(f"final w = {w_x.tolist()}, b = {b_x}; accuracy {(step(x_xor @ w_x + b_x) == y_xor).float().mean():.0%}")
assert min(mistakes_xor) > 0

# %% [markdown]
# It cycles forever. And no linear threshold unit does better than 3 of the 4 points. We check it by brute force
# over 68 921 weight settings $(w_1, w_2, b) \in [-2, 2]^3$ on a grid, for XOR and for its easy cousins AND and OR:

# %%
values = torch.linspace(-2, 2, 41)
w_grid = torch.cartesian_prod(values, values, values)       # (68921, 3): w1, w2, b
predictions = step(x_xor @ w_grid[:, :2].T + w_grid[:, 2])  # (4 points, 68921 settings)
TABLES = {"XOR": y_xor,
          "AND": (x_xor[:, 0] * x_xor[:, 1]).long(),
          "OR": (x_xor.sum(1) > 0).long()}
for name, labels in TABLES.items():
    acc = (predictions == labels[:, None]).float().mean(0)
    print(f"{name:>3}: best accuracy of a single perceptron = {acc.max():.0%} "
          f"({(acc == 1).sum().item():,} of {len(w_grid):,} settings are perfect)")

# %% [markdown]
# ### Try it: move the perceptron yourself
#
# The widget draws $\operatorname{step}(w_1 x_1 + w_2 x_2 + b)$ on the plane (red: 1, blue: 0) and the four points
# of a truth table; misclassified points are circled. Pick AND or OR and find weights that get 4/4; then try XOR.
# (Executed without a live Jupyter server, for example when the notebook is rendered, it shows the default:
# the OR unit applied to XOR, which gets 3/4.)

# %%
def draw_perceptron(table, w1, w2, b):
    x, y = x_xor, TABLES[table]
    w = torch.tensor([w1, w2])
    y_hat = step(x @ w + b)
    fig, ax = plt.subplots(figsize=(4.6, 4.2))
    plot_decision_boundary(perceptron_predict(w, b), x, y, ax=ax, size=120)
    wrong = y_hat != y
    ax.scatter(x[wrong, 0], x[wrong, 1], s=450, facecolors="none", edgecolors="k", lw=2, label="misclassified")
    if abs(w2) > 1e-9:   # the boundary line w1 x1 + w2 x2 + b = 0
        xs = torch.tensor([-0.5, 1.5])
        ax.plot(xs, -(w1 * xs + b) / w2, "k-", lw=1)
    elif abs(w1) > 1e-9:
        ax.axvline(-b / w1, color="k", lw=1)
    ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5))
    ax.set_title(f"{table}: {(~wrong).sum().item()}/4 correct (w1={w1:.1f}, w2={w2:.1f}, b={b:.1f})", fontsize=10)
    plt.show()


explore(draw_perceptron,
        table=widgets.Dropdown(options=list(TABLES), value="XOR", description="truth table"),
        w1=widgets.FloatSlider(value=1.0, min=-2, max=2, step=0.1, description="w1"),
        w2=widgets.FloatSlider(value=1.0, min=-2, max=2, step=0.1, description="w2"),
        b=widgets.FloatSlider(value=-0.5, min=-2, max=2, step=0.1, description="b"))

# %% [markdown]
# Minsky and Papert's point was not that XOR matters in itself, but that a single layer cannot represent
# any function whose classes are not separated by a hyperplane, and most interesting ones are not. There are
# two ways out. Both are in the notes.
#
# ## 6. Two fixes for XOR
#
# ### 6.1 Fix 1: a new feature $x_1 x_2$
#
# Add the product of the inputs as a third input. In the space $(x_1, x_2, x_1 x_2)$ the point $(1, 1)$ is
# lifted to height 1 while the others stay at 0, and now a plane separates the classes. In fact XOR is
# *exactly* linear in these features:
#
# $$\operatorname{XOR}(x_1, x_2) = x_1 + x_2 - 2\,x_1 x_2 .$$
#
# The same perceptron rule, on three features:

# %%
def with_product(x):
    """(N, 2) -> (N, 3): append the feature x1 * x2."""
    return torch.cat([x, x[:, :1] * x[:, 1:]], dim=1)


w_f, b_f, mistakes_f = train_perceptron(with_product(x_xor), y_xor, epochs=20)
print("XOR with feature x1*x2, mistakes per epoch:", mistakes_f)
print(f"learned w = {w_f.tolist()} (on x1, x2, x1*x2), b = {b_f}")
print("predictions:", step(with_product(x_xor) @ w_f + b_f).tolist(), " targets:", y_xor.tolist())
assert mistakes_f[-1] == 0

# %%
fig = plt.figure(figsize=(10, 4))
ax3d = fig.add_subplot(1, 2, 1, projection="3d")
lifted = with_product(x_xor)
ax3d.scatter(lifted[:, 0], lifted[:, 1], lifted[:, 2], c=y_xor, cmap="coolwarm", s=80, edgecolors="k", depthshade=False)
gx, gy = torch.meshgrid(torch.linspace(-0.2, 1.2, 10), torch.linspace(-0.2, 1.2, 10), indexing="xy")
gz = -(w_f[0] * gx + w_f[1] * gy + b_f) / w_f[2]          # the separating plane w.x + b = 0
ax3d.plot_surface(gx.numpy(), gy.numpy(), gz.clamp(-0.5, 1.5).numpy(), alpha=0.25, color="grey")
ax3d.set(xlabel="$x_1$", ylabel="$x_2$", zlabel="$x_1 x_2$", title="lifted to 3-D: a plane separates")
ax3d.view_init(elev=20, azim=-60)
ax2d = fig.add_subplot(1, 2, 2)
plot_decision_boundary(lambda pts: step(with_product(pts) @ w_f + b_f), x_xor, y_xor, ax=ax2d,
                       title="the same rule back in the plane")
fig.tight_layout()
plt.show()

# %% [markdown]
# Seen back in the original plane, the linear rule on $(x_1, x_2, x_1x_2)$ draws a curved boundary
# (a hyperbola). This is how classical machine learning handled nonlinearity: invent features (polynomials,
# kernels in SVMs) by hand. It works when a human guesses the right feature. For images nobody can.
#
# ### 6.2 Fix 2: a hidden layer
#
# Instead of inventing features, let *other neurons* compute them. XOR is "OR, but not AND", i.e.
# $\operatorname{XOR} = \operatorname{AND}(\operatorname{OR}(x_1, x_2), \operatorname{NAND}(x_1, x_2))$, and each
# of the three is a single perceptron. A 2-2-1 network with hand-set weights:
#
# $$h_1 = \operatorname{step}(x_1 + x_2 - 0.5)\ \ (\text{OR}), \qquad
# h_2 = \operatorname{step}(-x_1 - x_2 + 1.5)\ \ (\text{NAND}), \qquad
# \hat y = \operatorname{step}(h_1 + h_2 - 1.5)\ \ (\text{AND}).$$

# %%
W1 = torch.tensor([[1.0, -1.0],    # column j holds the input weights of hidden unit j
                   [1.0, -1.0]])
b1 = torch.tensor([-0.5, 1.5])
W2 = torch.tensor([1.0, 1.0])
b2 = -1.5


def hand_xor(x):
    hidden = step(x @ W1 + b1).float()
    return step(hidden @ W2 + b2), hidden


out, hidden = hand_xor(x_xor)
print(" x1 x2 | h1=OR h2=NAND | y_hat  XOR")
for xi, hi, oi, ti in zip(x_xor.long().tolist(), hidden.long().tolist(), out.tolist(), y_xor.tolist()):
    print(f"  {xi[0]}  {xi[1]} |   {hi[0]}     {hi[1]}     |   {oi}     {ti}")
assert torch.equal(out, y_xor)

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
plot_decision_boundary(lambda pts: hand_xor(pts)[0], x_xor, y_xor, ax=axes[0], title="2-2-1 network, weights by hand")
xs = torch.tensor([-0.5, 1.5])
for j, name in enumerate(["h1 (OR)", "h2 (NAND)"]):
    axes[0].plot(xs, -(W1[0, j] * xs + b1[j]) / W1[1, j], "--", label=f"{name} boundary")
axes[0].legend(fontsize=8, loc="upper right")
jitter = 0.04 * torch.tensor([[-1.0, 0.0], [0.0, 1.0], [0.0, -1.0], [1.0, 0.0]])  # to see the overlapping points
axes[1].scatter(*(hidden + jitter).T, c=y_xor, cmap="coolwarm", s=120, edgecolors="k")
for xi, hi in zip(x_xor.long().tolist(), (hidden + jitter).tolist()):
    axes[1].annotate(f"x=({xi[0]},{xi[1]})", hi, textcoords="offset points", xytext=(8, -4), fontsize=8)
axes[1].plot(xs, 1.5 - xs, "k-", label="output unit: h1 + h2 = 1.5")
axes[1].set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), xlabel="$h_1$", ylabel="$h_2$", title="the hidden layer's view")
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Left: each hidden unit draws one line; the output unit keeps the band between them. Right: in the
# coordinates $(h_1, h_2)$ computed by the hidden layer, the two XOR-true inputs land on $(1, 1)$ and the
# others on $(1, 0)$ or $(0, 1)$, and one line separates them. **The hidden layer computes a new representation
# in which the problem is linear.** That is what deep networks do, many layers deep.
#
# We set those weights by reasoning. With smooth activations, gradient descent (and backpropagation, Lecture 02)
# finds them by itself. We train on 200 noisy XOR points: a hidden layer of 4 $\tanh$ units (4 instead of 2 so
# that training does not depend on a lucky start), one output logit, the logistic loss, full-batch gradient
# steps with Adam:

# %%
x_noisy, y_noisy = make_xor(n=200, noise=0.15, seed=0)


def train_full_batch(model, x, y, steps=300, lr=0.05):
    """Full-batch training of a one-logit binary classifier with the log-loss; returns the loss per step."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(model(x).squeeze(1), y.float())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def binary_accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).squeeze(1) > 0).long().eq(y).float().mean().item()


seed_everything(0)
xor_net = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
losses = train_full_batch(xor_net, x_noisy, y_noisy)
print(f"log-loss {losses[0]:.3f} -> {losses[-1]:.4f} after {len(losses)} steps; "
      f"training accuracy {binary_accuracy(xor_net, x_noisy, y_noisy):.1%}, "
      f"truth table {binary_accuracy(xor_net, x_xor, y_xor):.0%}")
assert binary_accuracy(xor_net, x_xor, y_xor) == 1.0

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
plot_decision_boundary(lambda pts: (xor_net(pts).squeeze(1) > 0).long(), x_noisy, y_noisy, ax=axes[0],
                       title="trained 2-4-1 tanh network")
axes[1].plot(losses)
axes[1].set(xlabel="full-batch step", ylabel="log-loss", title="training loss")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 7. Stacking linear layers stays linear
#
# Why do we need the step, sigmoid or tanh between the layers? Write a batch of inputs as the rows of a matrix
# $X$. A layer without activation computes $XW_1 + b_1$; a second one on top gives
#
# $$(XW_1 + b_1)W_2 + b_2 = X\underbrace{W_1W_2}_{W} + \underbrace{b_1W_2 + b_2}_{b} .$$
#
# One linear layer with $W = W_1 W_2$ and $b = b_1 W_2 + b_2$, and by induction the same for any depth: the
# notes' $(\dots((XW^{(1)})W^{(2)})\dots)\mathbf w^{(M)}$ is still a linear function of $X$. Numerically, with a
# 2 → 16 → 16 → 1 purely linear network (PyTorch's `nn.Linear` stores $W^\top$, hence the `.T`):

# %%
seed_everything(0)
deep_linear = nn.Sequential(nn.Linear(2, 16), nn.Linear(16, 16), nn.Linear(16, 1))
Ws = [layer.weight.T for layer in deep_linear]
bs = [layer.bias for layer in deep_linear]
W = Ws[0] @ Ws[1] @ Ws[2]                                  # (2, 1)
b = (bs[0] @ Ws[1] + bs[1]) @ Ws[2] + bs[2]                # (1,)
X_test = torch.randn(1000, 2)
with torch.no_grad():
    difference = (deep_linear(X_test) - (X_test @ W + b)).abs().max().item()
print(f"3 linear layers, {sum(p.numel() for p in deep_linear.parameters())} parameters, equal one layer with "
      f"W = {[round(v, 4) for v in W.detach().squeeze().tolist()]}, b = {b.item():.4f}")
print(f"max |deep(X) - (X W + b)| over 1000 random inputs: {difference:.1e}  (float32 rounding)")
assert difference < 1e-5

# %% [markdown]
# So a deep network without nonlinearities is a perceptron in disguise, and it cannot solve XOR however long we
# train it. Put a ReLU, $\max(0, z)$, after each hidden layer and the same architecture solves it.
# Both trained identically on the noisy XOR points:

# %%
def xor_model(activation=None):
    act = [activation()] if activation else []
    return nn.Sequential(nn.Linear(2, 16), *act, nn.Linear(16, 16), *act, nn.Linear(16, 1))


results, final_losses = {}, {}
for name, activation in [("linear (no activation)", None), ("ReLU", nn.ReLU)]:
    seed_everything(0)
    model = xor_model(activation)
    losses = train_full_batch(model, x_noisy, y_noisy, steps=300, lr=0.02)
    results[name] = model
    print(f"{name:>22}: final log-loss {losses[-1]:.3f}, training accuracy {binary_accuracy(model, x_noisy, y_noisy):.1%}, "
          f"truth table {binary_accuracy(model, x_xor, y_xor):.0%}")
    final_losses[name] = losses[-1]

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, (name, model) in zip(axes, results.items()):
    plot_decision_boundary(lambda pts, m=model: (m(pts).squeeze(1) > 0).long(), x_noisy, y_noisy, ax=ax,
                           title=f"2-16-16-1, {name}")
fig.tight_layout()
plt.show()
assert abs(final_losses["linear (no activation)"] - math.log(2)) < 0.05          # no better than guessing
assert binary_accuracy(results["ReLU"], x_xor, y_xor) == 1.0

# %% [markdown]
# The linear network's boundary is a straight line whatever its depth (and its log-loss stays near
# $\log 2 \approx 0.693$, the loss of guessing 50/50). With ReLUs, each hidden unit bends the function along its
# own line, and together they carve out the XOR regions. The general recipe of a fully connected network is
#
# $$\hat y = f_M\big(\dots f_2\big(f_1(XW^{(1)})\,W^{(2)}\big)\dots \mathbf w^{(M)}\big)$$
#
# with a nonlinear activation $f_k$ at every layer (sigmoid, tanh, ReLU, …; Lecture 03 compares them).
#
# ## 8. Data as matrices: mini-batches
#
# The notes' regression example: predict the **price of a house** from a table of **1500 examples** (rows) with
# **80 features** each (columns: number of rooms, floor, lot area, …, distance from the centre). As tensors:
#
# - the data $X$ is a $1500 \times 80$ matrix, the targets $y$ a $1500 \times 1$ column;
# - a linear layer with one output has weights $W$ of shape $80 \times 1$ and one bias;
#   a hidden layer with $M$ units has $W^{(1)}$ of shape $80 \times M$;
# - we do not feed the rows one at a time. A **batch** of $B$ rows, $X_B$ of shape $B \times 80$, goes through in
#   one matrix product: $X_B W$ is $B \times 1$, one prediction per row. The notes draw this as "many networks
#   with the same weights", one copy per row; the matrix product computes all the copies at once.

# %%
N, D, B, M = 1500, 80, 64, 32
X_house = torch.randn(N, D)                 # stand-in for the (standardised) table
layer = nn.Linear(D, 1)                     # W: 80 x 1 (stored transposed), b: 1
hidden_layer = nn.Linear(D, M)
batch = X_house[:B]
print(f"X: {tuple(X_house.shape)},  W: {tuple(layer.weight.T.shape)},  b: {tuple(layer.bias.shape)}")
print(f"one batch X_B: {tuple(batch.shape)}  ->  prediction X_B W + b: {tuple(layer(batch).shape)}")
print(f"hidden layer W1: {tuple(hidden_layer.weight.T.shape)}  ->  hidden batch: {tuple(hidden_layer(batch).shape)}")
print(f"1500 rows in batches of {B}: {math.ceil(N / B)} batches per epoch (the last one has {N % B} rows)")

# %% [markdown]
# **How much data per gradient step?** The loss is an average over examples, $L = \frac1N\sum_i \ell_i$, so its
# gradient is an average too. Three choices:
#
# - **full-batch** gradient descent: the exact gradient over all $N$ rows, one update per epoch (pass over the data);
# - **stochastic** (single-sample) gradient descent: the gradient of one row, $N$ noisy updates per epoch;
# - **mini-batch** gradient descent: average over $B$ rows (typically 32–512), $N/B$ updates per epoch. The
#   gradient estimate is unbiased, its noise shrinks like $1/\sqrt B$, and a matrix product over $B$ rows costs
#   far less than $B$ separate ones on vectorised hardware.
#
# A measured experiment on a generated house-price-like set ($1500\times 80$, linear target plus noise). For the
# squared error of a linear model the gradient has a closed form,
# $\nabla_{\mathbf w} = \frac{2}{B}X_B^\top(X_B\mathbf w + b - y_B)$, so we write the loop by hand. Same learning
# rate ($\alpha = 0.005$) and number of epochs (10) for every batch size:

# %%
g = torch.Generator().manual_seed(0)
X_reg = torch.randn(N, D, generator=g)
w_true = torch.randn(D, 1, generator=g)
y_reg = X_reg @ w_true + 3.0 + 0.5 * torch.randn(N, 1, generator=g)


def minibatch_gd(batch_size, epochs=10, lr=0.005, seed=0):
    """Linear regression by (mini-batch) gradient descent; returns the full-data MSE and the seconds spent, per epoch."""
    g = torch.Generator().manual_seed(seed)
    w, b = torch.zeros(D, 1), torch.zeros(1)
    curve, seconds = [((X_reg @ w + b - y_reg) ** 2).mean().item()], [0.0]
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(N, generator=g)
        for i in range(0, N, batch_size):
            idx = order[i:i + batch_size]
            xb, yb = X_reg[idx], y_reg[idx]
            error = xb @ w + b - yb                          # (B, 1)
            w -= lr * 2 / len(idx) * (xb.T @ error)          # (80, 1)
            b -= lr * 2 * error.mean(0)
        seconds.append(seconds[-1] + time.perf_counter() - start)  # training time only, not the evaluation
        curve.append(((X_reg @ w + b - y_reg) ** 2).mean().item())
    return curve, seconds


EPOCHS = 10
noise_floor = ((X_reg @ w_true + 3.0 - y_reg) ** 2).mean().item()
curves = {}
print(f"{'batch size':>10} {'updates/epoch':>14} {'time/epoch':>11} {'MSE after 1 epoch':>18} {'after 10':>9}")
for batch_size in (1, 32, N):
    curve, seconds = minibatch_gd(batch_size, EPOCHS)
    curves[batch_size] = (curve, seconds)
    print(f"{batch_size:>10} {math.ceil(N / batch_size):>14} {1000 * seconds[-1] / EPOCHS:>9.1f}ms "
          f"{curve[1]:>18.3f} {curve[-1]:>9.3f}")
print(f"noise floor (MSE of the true weights): {noise_floor:.3f}")
(single, single_s), (mini, mini_s), (full, full_s) = curves[1], curves[32], curves[N]
# What the text below says, checked on this run:
assert full[-1] > 10 * noise_floor                           # the full batch has barely started
assert single[1] < min(mini[1], full[1], 2 * noise_floor)    # single samples get close within one epoch
assert single_s[-1] > max(mini_s[-1], full_s[-1])            # but single samples are by far the slowest
assert noise_floor < mini[-1] < single[-1]                   # and noisier: above the mini-batches' loss

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
for batch_size, (curve, seconds) in curves.items():
    label = {1: "single sample (B=1)", 32: "mini-batch (B=32)", N: f"full batch (B={N})"}[batch_size]
    axes[0].semilogy(range(EPOCHS + 1), curve, marker="o", label=label)
    axes[1].loglog(seconds[1:], curve[1:], marker="o", label=label)
axes[0].set(xlabel="epoch", ylabel="MSE on all 1500 rows", title="loss after each epoch")
axes[1].set(xlabel="training seconds (log scale)", ylabel="MSE", title="the same points against compute time")
for ax in axes:
    ax.axhline(noise_floor, color="grey", ls=":", lw=1)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# Per epoch, the full batch makes only one small, exact step: after 10 epochs it has barely started (it would need
# a much larger learning rate, or hundreds of epochs). Single samples make 1500 steps per epoch and get close
# within the first epoch, but each step is a tiny matrix product dominated by Python overhead, so an epoch is by far
# the slowest, and the noisy updates keep the loss jittering above the noise floor (dotted line, the MSE of the
# true weights). Mini-batches get most of both: many updates per epoch, each cheap and much less noisy. This is
# what everyone uses; `TensorLoader` below serves shuffled mini-batches of 256 images.
#
# ## 9. Real data: logistic regression on MNIST
#
# Now a real task: the 70 000 handwritten digits of MNIST (28×28 grey pixels, 10 classes). The simplest neural
# classifier is **multinomial logistic regression**: flatten each image into a vector of 784 pixels and apply one
# linear layer, $\mathbf z = W^\top\mathbf x + \mathbf b$ with $W$ of shape $784 \times 10$, giving one score
# (logit) per class. The **softmax** turns the scores into probabilities,
#
# $$P(y = k\mid\mathbf x) = \frac{e^{z_k}}{\sum_{j=1}^{10} e^{z_j}},$$
#
# and the loss is the cross-entropy $-\log P(y = y_{\text{true}}\mid\mathbf x)$, the 10-class version of the
# log-loss above (PyTorch's `F.cross_entropy` applies the softmax itself, so the model outputs raw scores).
# One layer, no hidden units: a linear classifier, like the perceptron, but with 10 outputs.

# %%
x_train, y_train = image_tensors(train_set)   # float32 (60000, 1, 28, 28), standardised; int64 labels
x_test, y_test = image_tensors(test_set)
train_loader = TensorLoader(x_train, y_train, batch_size=256, shuffle=True, device=device, seed=0)
test_loader = TensorLoader(x_test, y_test, batch_size=1000, device=device)
print(f"train {tuple(x_train.shape)}, test {tuple(x_test.shape)}; {len(train_loader)} batches of 256 per epoch")
fig = show_images(x_train[:16], labels=y_train[:16].tolist(), ncols=16, size=0.8)
plt.show()

# %% [markdown]
# Two epochs of mini-batch SGD (with momentum $\rho = 0.9$, which averages the recent gradients to smooth the
# steps; Lecture 05 covers it) over all 60 000 training images, evaluated on the 10 000 test images after each
# epoch. A single linear layer already gets more than 90 % of the test digits right. <!-- asserted -->
# `fit` shows progress bars and the curves:

# %%
seed_everything(0)
log_reg = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 10))
nn.init.zeros_(log_reg[1].weight)  # see below: makes the learned weights easier to look at
optimizer = torch.optim.SGD(log_reg.parameters(), lr=0.01, momentum=0.9)
start = time.perf_counter()
history = fit(log_reg, train_loader, optimizer, epochs=2, val_loader=test_loader, device=device)
print(f"logistic regression: {sum(p.numel() for p in log_reg.parameters()):,} parameters, test accuracy "
      f"{history['val_acc'][0]:.2%} after one epoch, {history['val_acc'][-1]:.2%} after two "
      f"({time.perf_counter() - start:.1f} s)")
assert history["val_acc"][-1] > 0.90
assert abs(history["val_acc"][1] - history["val_acc"][0]) < 0.02  # it has levelled off

# %% [markdown]
# What did the linear layer learn? Each class $k$ has its own 784 weights: reshaped to 28×28 they form a
# **template**, and the score $z_k$ is the dot product of the image with it (plus a bias). Red pixels vote for
# the class, blue against (each template on its own symmetric colour scale).
#
# We started the weights at zero rather than at small random numbers, and that shows at the border. A pixel
# that is background in every training image has the same value $c$ in all of them ($c \approx -0.42$ after
# standardisation), so the loss sees its weight $w_{kp}$ only through $c\,w_{kp}$, exactly like a second bias:
# every such weight receives the same gradient, $c\,\partial L/\partial b_k$, and the differences between them
# never change. The loss is flat in those directions. Whatever speckle a random start had put there would stay
# in the templates for good, however long we trained; from zero, the border stays one uniform colour. (Convexity
# does not make the start irrelevant: the log-loss is convex but not *strictly* convex, so its minima form a
# flat valley, and where in it training ends depends on where it began. And two epochs of SGD are not at a
# minimum anyway: the templates show where training got to, not where it would end.)

# %%
templates = log_reg[1].weight.detach().cpu().reshape(10, 28, 28)
fig, axes = plt.subplots(1, 10, figsize=(12, 1.7))
for k, ax in enumerate(axes):
    lim = templates[k].abs().max().item()
    ax.imshow(templates[k], cmap="RdBu_r", vmin=-lim, vmax=lim)
    ax.set_title(str(k))
    ax.axis("off")
fig.suptitle("learned weight templates of logistic regression (red: +, blue: −)", y=1.05, fontsize=10)
plt.show()

# %% [markdown]
# The templates are not pictures of average digits: they are *discriminative*. The "0" wants ink on a ring and
# none in the centre (where a "1" would have it); the "1" wants a vertical bar and nothing on either side of it.
# One template per class is all a linear model can have, and a digit written in an unusual way matches the wrong
# template. That is why its accuracy levels off after the first epoch.
#
# Add one hidden layer of 256 ReLU units (784 → 256 → 10) and train it on the same batches with the Adam optimiser,
# for 3 epochs (logistic regression has already levelled off: compare its two epochs, printed above):

# %%
seed_everything(0)
mlp = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 256), nn.ReLU(), nn.Linear(256, 10))
optimizer = torch.optim.Adam(mlp.parameters(), lr=1e-3)
train_loader.generator.manual_seed(0)  # the same batch order as for logistic regression
start = time.perf_counter()
mlp_history = fit(mlp, train_loader, optimizer, epochs=3, val_loader=test_loader, device=device)
mlp_acc = mlp_history["val_acc"][-1]
print(f"{'model':<28} {'parameters':>10} {'test accuracy':>14} {'test errors':>12}")
for name, model, acc in [("logistic regression", log_reg, history["val_acc"][-1]),
                         ("MLP 784-256-10 (ReLU)", mlp, mlp_acc)]:
    print(f"{name:<28} {sum(p.numel() for p in model.parameters()):>10,} {acc:>14.2%} "
          f"{round((1 - acc) * len(y_test)):>12}")
print(f"(MLP trained in {time.perf_counter() - start:.1f} s)")
assert 1 - mlp_acc < (1 - history["val_acc"][-1]) / 2  # fewer than half the test errors

# %% [markdown]
# The hidden layer cuts the number of test errors by more than half. Like the hidden units of the XOR network,
# its 256 units compute new features, learned, not designed, and the output layer is a linear classifier on
# top of them. (Lecture 04 shows that convolutional layers, which know that images have neighbouring pixels, do
# better still.)
#
# ## Summary
#
# - **History.** Neuron doctrine (1891) → McCulloch–Pitts neuron (1943) → Rosenblatt's learning perceptron (1958) →
#   Minsky–Papert's XOR critique (1969) → backpropagation (Werbos 1974; popular from 1986) → LeNet (1998) → a decade
#   of SVMs and boosting → ImageNet and AlexNet (2012, 15.3 % vs 25.8 % top-5) → <!-- quoted -->
#   ResNet (3.57 %, below the ≈ 5 % of a human). Data, compute and learned features made the difference. <!-- quoted -->
# - A **perceptron** is a linear function followed by a step: $\hat y = \operatorname{step}(\mathbf w^\top\mathbf x + w_0)$;
#   logistic regression replaces the step with a sigmoid and trains on the log-loss. Both draw a straight
#   decision boundary.
# - The **perceptron rule** $\mathbf w \leftarrow \mathbf w + \eta(y - \hat y)\mathbf x$ stops after at most
#   $(R/\gamma)^2$ mistakes on separable data (Novikoff); on our blobs the mistakes stopped after a few epochs.
# - **XOR** is not linearly separable: at most 3/4 correct for any single perceptron, and the rule cycles forever.
#   It is solved by a **new feature** $x_1x_2$ (hand-made) or by a **hidden layer** (OR, NAND → AND by hand; or trained).
# - **Linear layers collapse**: $XW_1W_2 = XW$ (numerically equal up to float32 rounding), so depth needs **nonlinear
#   activations** between layers.
# - Data are matrices: 1500 × 80 houses, a batch $B \times 80$ gives $B \times 1$ predictions. **Mini-batches** give many
#   cheap, moderately noisy updates per epoch.
# - On MNIST, one linear layer with softmax gets most digits right and learns one template per digit; one
#   hidden layer more than halves its test errors.
#
# ## Try it yourself
#
# 1. Run `train_perceptron` on blobs that overlap (`make_blobs(n=100, std=1.0, seed=0)`). What happens to the
#    mistakes per epoch? Does the final accuracy depend on when you stop? (Hint: print the accuracy after each epoch.)
# 2. Train the **2-2-1** version of `xor_net` (`nn.Linear(2, 2)`) with seeds 0–9. How often does it solve the truth
#    table? Plot a failed run's decision boundary: what did gradient descent get stuck on?
# 3. Replace the ReLUs of the 2-16-16-1 network by `nn.Sigmoid` and by `nn.Tanh`, and rerun Section 7. Then try
#    the MLP on MNIST with 16 hidden units: how much does a small hidden layer already help over logistic regression?
