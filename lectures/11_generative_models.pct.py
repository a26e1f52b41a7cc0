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
# # Lecture 11 — Generative models
#
# Every network so far was **discriminative**: given an image $x$ it learned $P(y\mid x)$, a label. A
# **generative** model learns the distribution of the images themselves, $P(x)$, well enough to draw new ones:
# digits nobody wrote, faces of people who do not exist. This lecture builds three of them on MNIST and measures
# them: an autoencoder, a variational autoencoder (VAE) and a generative adversarial network (GAN).
#
# Three models are a lot of training for a laptop CPU. Each one is trained here, briefly, in front of you; the
# figures that need a longer-trained model say so and come from the course's own checkpoints (`vae_mnist`,
# `gan_mnist`), trained by `scripts/train_checkpoints.py` with the same architectures and losses for longer,
# and checked by SHA-256 when they load.
#
# **Plan**
# 1. Discriminative vs generative: gradient ascent on $\log P(y\mid x)$ from noise.
# 2. The autoencoder of the notes, and a convolutional one.
# 3. The denoising autoencoder.
# 4. Anomaly detection by reconstruction error, measured as a ROC curve.
# 5. The VAE: $\mu$ and $\log\sigma^2$, the reparameterisation trick, the KL term checked by Monte Carlo,
#    $L = L_\text{rec} + \beta L_\text{KL}$ with a sweep over $\beta$; AE vs VAE latent spaces; a widget.
# 6. What a VAE's latent space gives: samples, interpolation, attribute vectors, and why VAEs blur.
# 7. The GAN: minimax and non-saturating losses, alternating updates, label smoothing and noise; mode collapse.
# 8. Evaluation: FID on a course classifier's features, and the leave-one-out 1-NN two-sample test.

# %%
import time

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Markdown, display
from ipywidgets import FloatSlider
from torch import nn
from torch.nn import functional as F
from tqdm.auto import tqdm

from sklearn.neighbors import NearestNeighbors
from torchmetrics.image.fid import FrechetInceptionDistance

from course_utils import (PixelFeatures, TensorLoader, build_model, checkpoint_info, choose_device, explore,
                          image_tensors, load_checkpoint, load_fashion_mnist, load_mnist, mlp_autoencoder,
                          seed_everything, select_classes, show_images)

# Small fully connected networks: one thread is faster than splitting each operation across two busy cores.
choice = choose_device(cpu_threads=1)
device = choice.device
print(choice.summary())
_ = seed_everything(0)
LECTURE_START = time.perf_counter()

# %% [markdown]
# The data: MNIST digits as **pixel values in $[0, 1]$** (`normalize=False`), because a generative model has to
# produce pixels. On a GPU the lecture trains on more images and evaluates on more samples.

# %%
CUDA = device.type == "cuda"
N_TRAIN = 60_000 if CUDA else 12_000  # training images
N_EVAL = 5_000 if CUDA else 1_000  # samples per set for FID and the 1-NN test (section 8)

x_train, y_train = image_tensors(load_mnist(train=True), limit=N_TRAIN, normalize=False)
x_test, y_test = image_tensors(load_mnist(train=False), normalize=False)
print(f"{len(x_train):,} training and {len(x_test):,} test digits, pixels in "
      f"[{x_train.min():.0f}, {x_train.max():.0f}], shape {tuple(x_train.shape[1:])}")

classifier_info = checkpoint_info("resnet8_mnist")
classifier = load_checkpoint("resnet8_mnist", device)  # SHA-256 checked, eval mode
PIXEL_MEAN, PIXEL_STD = classifier_info.normalization


def standardise(pixels: torch.Tensor) -> torch.Tensor:
    """Pixels in [0, 1] -> the standardised inputs the course's classifiers were trained on."""
    return (pixels - PIXEL_MEAN) / PIXEL_STD


def classify(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The classifier's digit and its probability for images in [0, 1]."""
    with torch.no_grad():
        probabilities = torch.cat([F.softmax(classifier(standardise(batch.to(device))), dim=1).cpu()
                                   for batch in images.split(1000)])
    return probabilities.argmax(1), probabilities.max(1).values


print(f"classifier {classifier_info.name}: {classifier_info.metrics['test_accuracy']:.2%} test accuracy "
      f"(from its manifest)")

# %% [markdown]
# ## 1. Discriminative vs generative
#
# A classifier knows $P(y\mid x)$. Can it draw a digit? The idea from the notes: start from noise and follow the
# gradient of $\log P(y = c\mid x)$ with respect to the **pixels** until the classifier is sure that $x$ is a $c$.
# We parameterise the pixels as $x = \operatorname{sigmoid}(w)$ so that they stay in $[0, 1]$, and ascend with
# Adam on $w$; the weights of the classifier do not change.

# %%
def ascend_class_probability(targets: torch.Tensor, steps: int = 100, lr: float = 0.3) -> torch.Tensor:
    """Images, starting from grey noise, that maximise log P(y = target | x) under the classifier."""
    generator = torch.Generator().manual_seed(0)
    w = (0.3 * torch.randn(len(targets), 1, 28, 28, generator=generator)).to(device).requires_grad_()
    optimizer = torch.optim.Adam([w], lr=lr)
    for _ in range(steps):
        log_p = F.log_softmax(classifier(standardise(torch.sigmoid(w))), dim=1)
        loss = -log_p[torch.arange(len(targets)), targets].sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return torch.sigmoid(w).detach()


digits = torch.arange(10, device=device)
ascended = ascend_class_probability(digits)
with torch.no_grad():
    confidence = F.softmax(classifier(standardise(ascended)), dim=1)[digits, digits].cpu()
class_means = torch.stack([x_train[y_train == c].mean(0) for c in range(10)])  # the "centre" of each class
show_images(torch.cat([ascended.cpu(), class_means]),
            labels=[f"{c}: P = {p:.3f}" for c, p in zip(range(10), confidence)] + [f"mean {c}" for c in range(10)],
            ncols=10, size=1.1)
plt.show()
print(f"the classifier's probability for the target digit: min {confidence.min():.4f}, "
      f"median {confidence.median():.4f}")
assert confidence.min() > 0.9

# %% [markdown]
# Top row: the classifier is almost certain (the code checks above $0.9$ for every digit) that each of these
# is the digit it was pushed towards, and yet they are noise to us. The classifier only learned what separates the
# classes, in a tiny part of pixel space where digits live; everywhere else its answers are arbitrary, and
# gradient ascent walks straight into that elsewhere. Bottom row: the notes' other idea, "go to the centre of the
# class", gives the average digit: a blur, not a sample.
#
# A generative model must learn *where the data is*: $P(x)$, or a way to sample from it. The usual way is a
# **latent space**: a function $f$ that maps an image to a few numbers $z = f(x)$ whose distribution is simple
# (say, normal), and a function $g$ back, such that $g(z)$ for a new $z$ looks like the data.
#
# ## 2. The autoencoder
#
# An **autoencoder** learns both functions at once: an **encoder** $f$ squeezes the image through a narrow
# **bottleneck** of `hidden_dim` numbers, a **decoder** $g$ rebuilds the image from them, and the loss is the
# difference between input and output. No labels are used. Here is the notes' class, unchanged:

# %%
class AE(nn.Module):
    def __init__(self, inp_dim, hidden_dim):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Linear(inp_dim, 256),
            nn.ReLU(),
            nn.Linear(256, 128),
            nn.ReLU(),
            nn.Linear(128, hidden_dim)
        )
        self.decoder = nn.Sequential(
            nn.Linear(hidden_dim, 128),
            nn.ReLU(),
            nn.Linear(128, 256),
            nn.ReLU(),
            nn.Linear(256, inp_dim)
        )

    def forward(self, x):
        shapes = x.shape
        x = x.view(x.size(0), -1)
        return self.decoder(self.encoder(x)).view(*shapes)

    def encode(self, x):
        x = x.view(x.size(0), -1)
        return self.encoder(x)


# %% [markdown]
# Training is the same loop for every model of this lecture: Adam on a loss that is a function of the model and a
# batch of images, with a progress bar; it returns the mean loss of every epoch.

# %%
def train(model: nn.Module, loss_fn, images: torch.Tensor, epochs: int, lr: float = 1e-3, seed: int = 0,
          description: str = "train") -> list[float]:
    """Adam on `loss_fn(model, batch)` over `images`; the mean loss per epoch."""
    seed_everything(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    for epoch in tqdm(range(epochs), desc=description):
        total = 0.0
        for (batch,) in TensorLoader(images, batch_size=128, shuffle=True, device=device, seed=seed * 1000 + epoch):
            loss = loss_fn(model, batch)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history.append(total / len(images))
    return history


def reconstruction_error(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None) -> torch.Tensor:
    """Mean squared error per image between the model's output for `inputs` and `targets` (default: the inputs)."""
    targets = inputs if targets is None else targets
    with torch.no_grad():
        outputs = torch.cat([model.eval()(batch) for batch in inputs.to(device).split(1000)])
    return (outputs.cpu() - targets).square().flatten(1).mean(1)


def mse_loss(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(model(batch), batch)


AE_EPOCHS = 8 if CUDA else 2
LATENT = 16
ae = AE(28 * 28, LATENT).to(device)
ae_history = train(ae, mse_loss, x_train, AE_EPOCHS, description="MLP autoencoder")
ae_error = reconstruction_error(ae, x_test[:N_EVAL])
print(f"MLP autoencoder, {LATENT} numbers per image: {sum(p.numel() for p in ae.parameters()):,} parameters, "
      f"train loss {ae_history[-1]:.4f} after {AE_EPOCHS} epochs, test MSE per pixel {ae_error.mean():.4f}")

# %% [markdown]
# A **convolutional autoencoder** uses the image's structure: strided convolutions halve the resolution
# ($28 \to 14 \to 7$), a linear layer maps to the code, and **transposed convolutions** (Lecture 09) double it
# back. It has far fewer parameters than the MLP and sees the same pixels.

# %%
class ConvAE(nn.Module):
    def __init__(self, hidden_dim: int):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),  # 28 -> 14
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),  # 14 -> 7
            nn.Flatten(), nn.Linear(16 * 7 * 7, hidden_dim))
        self.decoder = nn.Sequential(
            nn.Linear(hidden_dim, 16 * 7 * 7), nn.ReLU(), nn.Unflatten(1, (16, 7, 7)),
            nn.ConvTranspose2d(16, 8, 4, stride=2, padding=1), nn.ReLU(),  # 7 -> 14
            nn.ConvTranspose2d(8, 1, 4, stride=2, padding=1))  # 14 -> 28

    def forward(self, x):
        return self.decoder(self.encoder(x))


conv_ae = ConvAE(LATENT).to(device)
conv_history = train(conv_ae, mse_loss, x_train, AE_EPOCHS, description="conv autoencoder")
conv_error = reconstruction_error(conv_ae, x_test[:N_EVAL])
print(f"conv autoencoder, {LATENT} numbers per image: {sum(p.numel() for p in conv_ae.parameters()):,} parameters, "
      f"test MSE per pixel {conv_error.mean():.4f} (MLP: {ae_error.mean():.4f})")
with torch.no_grad():
    shown = x_test[:8].to(device)
    rows = [shown.cpu(), ae.eval()(shown).cpu(), conv_ae.eval()(shown).cpu()]
show_images(torch.cat(rows).clamp(0, 1), labels=["input"] * 8 + ["MLP AE"] * 8 + ["conv AE"] * 8, ncols=8, size=1.0)
plt.show()

# %% [markdown]
# Both rebuild recognisable digits from sixteen numbers, a compression of $784/16 = 49$ times; both lose the
# fine detail. Which one is better after this short training is printed above; the convolutional one does it with
# a fraction of the parameters.
#
# ## 3. The denoising autoencoder
#
# The notes' second use: a signal arrives corrupted, and we want the clean one back. A **denoising autoencoder**
# gets a corrupted image $\tilde x$ as input and the clean $x$ as target, $L = \lVert g(f(\tilde x)) - x\rVert^2$.
# It cannot copy its input, so it must learn what digits look like. The corruption here is heavy: Gaussian noise
# with $\sigma = 0.5$, and a random half of the pixels set to zero.

# %%
def corrupt(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Pixels with Gaussian noise (σ = 0.5) and half of them dropped to 0, clipped to [0, 1]."""
    noise = torch.randn(x.shape, generator=generator).to(x.device)
    keep = (torch.rand(x.shape, generator=generator) > 0.5).to(x.device)
    return ((x + 0.5 * noise) * keep).clamp(0, 1)


def denoising_loss(model: nn.Module, batch: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(model(corrupt(batch)), batch)


denoiser = AE(28 * 28, LATENT).to(device)
train(denoiser, denoising_loss, x_train, AE_EPOCHS, description="denoising autoencoder")
noisy_test = corrupt(x_test[:N_EVAL], torch.Generator().manual_seed(1))
errors = {"the corrupted input itself": (noisy_test - x_test[:N_EVAL]).square().flatten(1).mean(1),
          "plain autoencoder (section 2)": reconstruction_error(ae, noisy_test, x_test[:N_EVAL]),
          "denoising autoencoder": reconstruction_error(denoiser, noisy_test, x_test[:N_EVAL])}
for name, error in errors.items():
    print(f"{name:>30}: MSE to the clean digits {error.mean():.4f}")
with torch.no_grad():
    shown = noisy_test[:8].to(device)
    rows = [x_test[:8], shown.cpu(), ae(shown).cpu(), denoiser.eval()(shown).cpu()]
show_images(torch.cat(rows).clamp(0, 1), labels=["clean"] * 8 + ["corrupted"] * 8 + ["plain AE"] * 8
            + ["denoising AE"] * 8, ncols=8, size=1.0)
plt.show()
assert errors["denoising autoencoder"].mean() < errors["plain autoencoder (section 2)"].mean()

# %% [markdown]
# The plain autoencoder never saw noise and rebuilds much of it; the denoising autoencoder was trained for exactly
# this and gets closest to the clean digits (the code checks that it beats the plain one). At this level of noise
# neither is perfect: where the corruption hides what the digit was, the denoiser draws the digit it finds most
# likely, sometimes another one. The same recipe works for audio, text or any signal where the corruption can be
# simulated.
#
# ## 4. Anomaly detection by reconstruction error
#
# An autoencoder trained on one kind of image rebuilds that kind well and anything else badly. So the
# reconstruction error is an **anomaly score**: train on normal data only, flag inputs it cannot rebuild (the
# notes' example: a fur seal shown to a model of cats and dogs). We train on the digits 0–4 and score test images
# of 0–4 (normal), of the unseen digits 5–9, and of Fashion-MNIST clothes.
#
# A threshold on the score trades false alarms against missed anomalies. The **ROC curve** draws that trade-off
# for every threshold: true positive rate (anomalies caught) against false positive rate (normal images flagged).
# The area under it, the **AUC**, is the probability that a random anomaly scores higher than a random normal
# image: $1$ is perfect, $\tfrac12$ is a coin. Sorting the scores gives the whole curve at once: lowering the
# threshold past one image moves the curve up (an anomaly) or right (a normal image). The code checks an AUC
# above 0.8 for the clothes and above 0.6 for the unseen digits. <!-- asserted -->

# %%
def roc(normal: torch.Tensor, anomalous: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, float]:
    """False and true positive rates for every threshold on the scores, and the area under that curve."""
    scores = torch.cat([normal, anomalous])
    is_anomaly = torch.cat([torch.zeros(len(normal)), torch.ones(len(anomalous))])
    flagged = is_anomaly[scores.argsort(descending=True)]  # lower the threshold one image at a time
    true_positive = torch.cat([torch.zeros(1), flagged.cumsum(0) / len(anomalous)])
    false_positive = torch.cat([torch.zeros(1), (1 - flagged).cumsum(0) / len(normal)])
    return false_positive, true_positive, torch.trapezoid(true_positive, false_positive).item()


NORMAL_DIGITS, UNSEEN_DIGITS = [0, 1, 2, 3, 4], [5, 6, 7, 8, 9]
x_normal_train, _ = select_classes(x_train, y_train, NORMAL_DIGITS)
normal_ae = AE(28 * 28, LATENT).to(device)
train(normal_ae, mse_loss, x_normal_train, AE_EPOCHS, description="AE on digits 0-4")

x_normal_test, _ = select_classes(x_test, y_test, NORMAL_DIGITS)
x_unseen_test, y_unseen_test = select_classes(x_test, y_test, UNSEEN_DIGITS)
x_fashion = image_tensors(load_fashion_mnist(train=False), limit=N_EVAL, normalize=False)[0]
normal_scores = reconstruction_error(normal_ae, x_normal_test[:N_EVAL])
anomalies = {"digits 5–9": x_unseen_test[:N_EVAL], "Fashion-MNIST": x_fashion}

fig, ax = plt.subplots(figsize=(4.5, 4))
auc = {}
for name, images in anomalies.items():
    false_positive, true_positive, auc[name] = roc(normal_scores, reconstruction_error(normal_ae, images))
    ax.plot(false_positive, true_positive, label=f"{name}: AUC {auc[name]:.3f}")
ax.plot([0, 1], [0, 1], "k:", label="a coin")
ax.set(xlabel="false positive rate (normal flagged)", ylabel="true positive rate (anomaly caught)",
       title="anomalies for an AE trained on digits 0–4")
ax.legend(fontsize=8)
plt.show()

unseen_scores = reconstruction_error(normal_ae, x_unseen_test[:N_EVAL])
per_digit = {}
for index, digit in enumerate(UNSEEN_DIGITS):
    per_digit[digit] = roc(normal_scores, unseen_scores[y_unseen_test[:N_EVAL] == index])[2]
print("AUC: " + ", ".join(f"{name} {value:.3f}" for name, value in auc.items()))
print("AUC per unseen digit: " + ", ".join(f"{d}: {a:.3f}" for d, a in per_digit.items()))
assert auc["Fashion-MNIST"] > 0.8 and auc["digits 5–9"] > 0.6 and auc["Fashion-MNIST"] > auc["digits 5–9"]

# %% [markdown]
# Clothes are easier to flag (also checked): little in them looks like a digit. Unseen *digits* are harder, and how
# hard depends on the digit (the per-digit AUCs are printed): the shapes of 5–9 share strokes with 0–4, and an
# autoencoder generalises to strokes it has seen in other places. Reconstruction error is a simple and useful
# baseline, not a guarantee; a rare but simple image (a thin 1) can be rebuilt *better* than a normal but complex
# one.
#
# ## 5. The variational autoencoder
#
# An autoencoder's codes land wherever training puts them: the code space has gaps and no known distribution, so
# a random $z$ usually decodes to garbage. The **VAE** (Kingma and Welling, 2013) makes the code space a
# distribution we can sample from.
#
# - The encoder outputs, for each of the $d$ latent components, the parameters of a normal distribution:
#   $\mu_i(x)$ and $\log\sigma_i^2(x)$ (the log keeps the variance positive without a constraint).
# - A **sampler** draws $z \sim \mathcal N(\mu, \operatorname{diag}\sigma^2)$, and the decoder rebuilds $x$ from
#   $z$. So one image is encoded as a small cloud of codes, not one point.
# - A second loss term pulls every cloud towards the **prior** $\mathcal N(0, I)$. After training, new images are
#   decoded from $z \sim \mathcal N(0, I)$.
#
# **The reparameterisation trick.** Sampling is not differentiable in $\mu$ and $\sigma$. Write the sample as a
# deterministic function of them and of noise that does not depend on them:
#
# $$z = \mu + \sigma \odot \varepsilon, \qquad \varepsilon \sim \mathcal N(0, I), \qquad
# \sigma = \exp\left(\tfrac12 \log\sigma^2\right),$$
#
# so $\partial z/\partial\mu = 1$ and $\partial z/\partial \log\sigma^2 = \tfrac12\sigma\varepsilon$, and
# backpropagation reaches the encoder.

# %%
def reparameterise(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """A sample of N(mu, exp(log_var)) written as mu + sigma * eps, differentiable in mu and log_var."""
    return mu + torch.exp(0.5 * log_var) * torch.randn_like(mu)


mu = torch.tensor([0.5, -1.0], requires_grad=True)
log_var = torch.tensor([0.0, 2.0], requires_grad=True)
torch.manual_seed(0)
z = reparameterise(mu, log_var)
z.sum().backward()
torch.manual_seed(0)
eps = torch.randn(2)
print(f"z = {z.detach().numpy().round(3)}, dz/dmu = {mu.grad.numpy()}, dz/dlog_var = {log_var.grad.numpy().round(3)}, "
      f"sigma * eps / 2 = {(0.5 * torch.exp(0.5 * log_var) * eps).detach().numpy().round(3)}")
assert torch.allclose(log_var.grad, 0.5 * torch.exp(0.5 * log_var.detach()) * eps)

# %% [markdown]
# **The KL term.** How far is the encoder's $q(z\mid x) = \mathcal N(\mu, \sigma^2)$ from the prior
# $p(z) = \mathcal N(0, 1)$? The **Kullback–Leibler divergence**
#
# $$\mathrm{KL}(q\,\|\,p) = \mathbb E_{z\sim q}\left[\log\frac{q(z)}{p(z)}\right]
# = -\sum_z q(z)\log\frac{p(z)}{q(z)}$$
#
# is zero only for $q = p$ and positive otherwise. For two normal distributions it has a closed form, summed over
# the $d$ independent components:
#
# $$L_\text{KL} = \sum_{i=1}^{d} \tfrac12\left(\sigma_i^2 - \log\sigma_i^2 - 1 + \mu_i^2\right).$$
#
# The notes write it with $\sigma_i$ in place of $\sigma_i^2$; that is not the KL divergence of this encoder (it
# would be if $\sigma_i$ were the variance, not the standard deviation), and the Monte Carlo estimate below tells
# the two apart. The notes also list the
# "properties of a divergence" as those of a distance; KL is not one: it is **asymmetric** (in general, not always,
# $\mathrm{KL}(p\|q) \ne \mathrm{KL}(q\|p)$) and it does **not** satisfy the triangle inequality.
#
# We check the formula against the definition, estimated by Monte Carlo: the mean of $\log q(z) - \log p(z)$
# over many samples $z \sim q$.

# %%
def kl_to_standard_normal(mu: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(log_var)) || N(0, 1)) per component: (sigma^2 - log sigma^2 - 1 + mu^2) / 2."""
    return 0.5 * (log_var.exp() - log_var - 1 + mu.square())


def kl_monte_carlo(mu: float, var: float, samples: int = 200_000) -> float:
    q, p = torch.distributions.Normal(mu, var**0.5), torch.distributions.Normal(0.0, 1.0)
    z = q.sample((samples,))
    return (q.log_prob(z) - p.log_prob(z)).mean().item()


torch.manual_seed(0)
rows = ["| $\\mu$ | $\\sigma^2$ | analytic KL | Monte Carlo | notes' formula with $\\sigma$ |", "|---|---|---|---|---|"]
kl_checks = []
for m, var in [(0.0, 1.0), (0.0, 4.0), (1.0, 0.25), (-2.0, 0.5)]:
    analytic = kl_to_standard_normal(torch.tensor(m), torch.tensor(var).log()).item()
    monte_carlo = kl_monte_carlo(m, var)
    notes = 0.5 * (var**0.5 - np.log(var**0.5) - 1 + m**2)
    kl_checks.append((analytic, monte_carlo))
    rows.append(f"| {m:g} | {var:g} | {analytic:.4f} | {monte_carlo:.4f} | {notes:.4f} |")
display(Markdown("\n".join(rows)))
assert all(abs(a - mc) < 0.02 + 0.01 * a for a, mc in kl_checks)

# %% [markdown]
# The analytic value and the Monte Carlo estimate agree (the code checks it); the notes' variant agrees only at
# $\sigma^2 = 1$.
#
# **The loss.** The decoder outputs one logit per pixel, read as the probability that the pixel is ink (a Bernoulli
# distribution; MNIST's grey values serve directly as the targets, a common shortcut): the reconstruction term is
# the binary cross-entropy **summed over the pixels**. Both terms are sums over one image and the loss is their
# mean over the batch:
#
# $$L = L_\text{rec} + \beta\,L_\text{KL}, \qquad L_\text{rec} = -\sum_{j=1}^{784}\left[x_j\log\hat x_j +
# (1 - x_j)\log(1 - \hat x_j)\right].$$
#
# With $\beta = 1$ this is the negative **ELBO**, a lower bound on $\log P(x)$, in nats per image. The reduction
# matters: averaging the reconstruction over pixels instead of summing divides it by 784 and so acts like a
# $\beta$ 784 times larger. The model is `mlp_autoencoder` from `course_utils`: an MLP encoder with $2d$ outputs
# ($\mu$, then $\log\sigma^2$) and an MLP decoder, the architecture of the `vae_mnist` checkpoint.

# %%
def vae_terms(model: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, KL), each summed over one image and averaged over the batch."""
    mu, log_var = model.encoder(x).chunk(2, dim=1)
    logits = model.decoder(reparameterise(mu, log_var))
    reconstruction = F.binary_cross_entropy_with_logits(logits, x.flatten(1), reduction="sum") / len(x)
    return reconstruction, kl_to_standard_normal(mu, log_var).sum() / len(x)


def vae_loss(beta: float):
    def loss(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
        reconstruction, kl = vae_terms(model, x)
        return reconstruction + beta * kl
    return loss


def decode(model: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Images in [0, 1] from latent codes: the decoder's Bernoulli means."""
    with torch.no_grad():
        return torch.sigmoid(model.decoder(z.to(device))).view(-1, 1, 28, 28).cpu()


def encode_means(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([model.encoder(batch).chunk(2, dim=1)[0] for batch in x.to(device).split(1000)]).cpu()


# %% [markdown]
# **A sweep over $\beta$**, with a two-dimensional latent space so that we can look at it. Each VAE is trained
# briefly from the same seed; we measure both terms on test digits.

# %%
BETAS = [0.1, 1.0, 4.0]
VAE_EPOCHS = 10 if CUDA else 3
vaes_2d, beta_kl, beta_reconstruction = {}, {}, {}
beta_rows = ["| $\\beta$ | reconstruction (nats) | KL (nats) | negative ELBO |", "|---|---|---|---|"]
for beta in BETAS:
    vae = mlp_autoencoder(latent_dim=2, hidden=[256, 128]).to(device)
    train(vae, vae_loss(beta), x_train, VAE_EPOCHS, description=f"VAE, beta = {beta}")
    vaes_2d[beta] = vae.eval()
    torch.manual_seed(0)
    with torch.no_grad():
        reconstruction, kl = (t.item() for t in vae_terms(vae, x_test[:N_EVAL].to(device)))
    beta_kl[beta], beta_reconstruction[beta] = kl, reconstruction
    beta_rows.append(f"| {beta} | {reconstruction:.1f} | {kl:.2f} | {reconstruction + kl:.1f} |")
display(Markdown("\n".join(beta_rows)))
assert beta_kl[0.1] > beta_kl[1.0] > beta_kl[4.0] and beta_reconstruction[4.0] > beta_reconstruction[0.1]

z_grid = torch.stack(torch.meshgrid(torch.linspace(-2, 2, 7), torch.linspace(2, -2, 7), indexing="xy"), -1)
fig, axes = plt.subplots(1, len(BETAS), figsize=(11, 3.8))
for ax, beta in zip(axes, BETAS):
    grid = decode(vaes_2d[beta], z_grid.reshape(-1, 2)).view(7, 7, 28, 28).permute(0, 2, 1, 3).reshape(7 * 28, 7 * 28)
    ax.imshow(grid, cmap="gray", extent=(-2, 2, -2, 2))
    ax.set(title=f"β = {beta}: decoded grid", xlabel="$z_1$", ylabel="$z_2$")
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the table from top to bottom: the KL term shrinks as $\beta$ grows (the code checks it) and the
# reconstruction gets worse, most clearly at the largest $\beta$ (also checked): a large $\beta$ presses the codes
# onto the prior and pays with blurrier, more confused digits. The grids decode the square $[-2, 2]^2$ of the latent
# space, where the prior puts most of its mass: with a small $\beta$ the codes spread far beyond it (a large KL),
# so the square shows only part of the digits; with a large $\beta$ they all crowd into it and merge. $\beta = 1$
# is the ELBO; $\beta > 1$ (the "$\beta$-VAE") is used when disentangled, smooth latent spaces matter more than
# sharp reconstructions.
#
# **AE vs VAE latent spaces.** The same two-dimensional picture for a plain autoencoder (the notes' class with
# `hidden_dim=2`) next to the VAE with $\beta = 1$, each point a test digit coloured by its label, which neither
# model saw:

# %%
ae_2d = AE(28 * 28, 2).to(device)
train(ae_2d, mse_loss, x_train, AE_EPOCHS, description="2-D autoencoder")
with torch.no_grad():
    ae_codes = torch.cat([ae_2d.eval().encode(b) for b in x_test[:2 * N_EVAL].to(device).split(1000)]).cpu()
vae_codes = encode_means(vaes_2d[1.0], x_test[:2 * N_EVAL])
labels = y_test[:2 * N_EVAL]
fig, axes = plt.subplots(1, 2, figsize=(10, 4.3))
for ax, codes, title in zip(axes, [ae_codes, vae_codes], ["autoencoder", "VAE (β = 1): the means μ"]):
    points = ax.scatter(codes[:, 0], codes[:, 1], c=labels, cmap="tab10", s=4, vmin=-0.5, vmax=9.5)
    ax.set(title=title, xlabel="$z_1$", ylabel="$z_2$")
fig.colorbar(points, ax=axes, ticks=range(10), label="digit")
plt.show()
prior_draws = torch.randn(1000, 2, generator=torch.Generator().manual_seed(0))
for name, codes in [("autoencoder", ae_codes), ("VAE", vae_codes)]:
    gap = torch.cdist(prior_draws, codes).min(dim=1).values.mean()
    print(f"{name:>11}: codes have mean {codes.mean(0).numpy().round(2)} and standard deviation "
          f"{codes.std(0).numpy().round(2)}; a draw from N(0, I) lands {gap:.3f} from the nearest test code")

# %% [markdown]
# Nothing in the autoencoder's loss says where its codes should lie: their layout and scale are whatever training
# happened to give them (printed above; with other seeds or longer training they drift), with arms and gaps
# between the classes. The VAE's KL term pulls its means towards the origin on the scale of the prior, and the
# noise of its sampler forces neighbouring codes to decode to similar images, so the space between the classes is
# used too. The last number printed is what matters for sampling: how far a draw from $\mathcal N(0, I)$ lands
# from the nearest code of a real digit. The notes say the KL term "moves the data apart"; more precisely it keeps
# the codes packed where the prior will sample them.
#
# **Explore the latent space.** Move the two sliders: the point on the left moves through the VAE's latent space,
# the image on the right is what the decoder makes of it.

# %%
vae_2d = vaes_2d[1.0]


def draw_latent_point(z1=0.0, z2=0.0):
    fig, (left, right) = plt.subplots(1, 2, figsize=(8, 3.6), gridspec_kw={"width_ratios": [1.4, 1]})
    left.scatter(vae_codes[:, 0], vae_codes[:, 1], c=labels, cmap="tab10", s=3, vmin=-0.5, vmax=9.5)
    left.plot(z1, z2, "k*", markersize=16)
    left.set(xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), xlabel="$z_1$", ylabel="$z_2$", title="test digits' μ")
    right.imshow(decode(vae_2d, torch.tensor([[z1, z2]]))[0, 0], cmap="gray", vmin=0, vmax=1)
    right.set(title=f"decoder(z = ({z1:.1f}, {z2:.1f}))")
    right.axis("off")
    plt.show()


explore(draw_latent_point, z1=FloatSlider(value=0.5, min=-3, max=3, step=0.1, description="z₁"),
        z2=FloatSlider(value=-0.5, min=-3, max=3, step=0.1, description="z₂"))

# %% [markdown]
# ## 6. What a VAE's latent space gives
#
# Two numbers per digit are too few for good images. The course's `vae_mnist` checkpoint has a 16-dimensional
# latent space and the same loss with $\beta = 1$; its architecture is the one above with `latent_dim=16`. First
# the same architecture trained briefly here, then the checkpoint: **the figures of this section and the VAE rows
# of section 8 marked "checkpoint" come from `vae_mnist`.**

# %%
vae_info = checkpoint_info("vae_mnist")
vae_brief = build_model("vae_mnist").to(device)  # the checkpoint's architecture, fresh weights
VAE_BRIEF_EPOCHS = 10 if CUDA else 1
train(vae_brief, vae_loss(1.0), x_train, VAE_BRIEF_EPOCHS, description="16-D VAE, brief")
vae_brief.eval()
vae = load_checkpoint("vae_mnist", device)
LATENT_VAE = vae_info.arguments["latent_dim"]
print(f"vae_mnist: {vae_info.description}")
print(f"trained for {vae_info.training['epochs']} epochs on {vae_info.training['train_images']:,} images "
      f"({vae_info.training['seconds']} s on {vae_info.training['threads']} CPU thread); its test negative ELBO: "
      f"{vae_info.metrics['test_negative_elbo_nats']} nats per image (from its manifest)")
torch.manual_seed(0)
with torch.no_grad():
    for name, model in [(f"trained here (epochs: {VAE_BRIEF_EPOCHS})", vae_brief), ("checkpoint", vae)]:
        print(f"{name:>30}: test negative ELBO "
              f"{sum(vae_terms(model, x_test[:N_EVAL].to(device))).item():.1f} nats per image")

prior_z = torch.randn(16, LATENT_VAE, generator=torch.Generator().manual_seed(0))
show_images(torch.cat([decode(vae_brief, prior_z), decode(vae, prior_z)]),
            labels=["brief"] * 16 + ["checkpoint"] * 16, ncols=16, size=0.75)
plt.show()

# %% [markdown]
# Samples from the prior, $z \sim \mathcal N(0, I)$, the same sixteen codes through both decoders: the checkpoint
# (bottom) draws mostly legible digits. The briefly trained VAE (top) is far behind (compare the two negative
# ELBOs); on a CPU, after a single epoch, its samples are still close to one average, blurred digit: early in
# training the decoder has not yet learned to use $z$.
#
# **Interpolation.** The notes' example turns a dog into a bird. Blending two images pixel by pixel,
# $(1-\lambda)x_a + \lambda x_b$, fades one into the other through images that are neither. Blending their
# **codes** and decoding moves through digits all the way.

# %%
STEPS = torch.linspace(0, 1, 9)
a, b = x_test[3:4], x_test[2:3]  # a 0 and a 1
mu_a, mu_b = encode_means(vae, a), encode_means(vae, b)
pixel_blend = torch.cat([(1 - t) * a + t * b for t in STEPS])
latent_blend = decode(vae, torch.cat([(1 - t) * mu_a + t * mu_b for t in STEPS]))
show_images(torch.cat([pixel_blend, latent_blend]), labels=[f"pixels λ={t:.2f}" for t in STEPS]
            + [f"codes λ={t:.2f}" for t in STEPS], ncols=9, size=1.0)
plt.show()

# %% [markdown]
# **Attribute vectors.** The notes' smile vector: average the codes of smiling faces, subtract the average of
# non-smiling ones, and add the difference to any face. MNIST has no smiles, but it has **stroke thickness**. Within
# each digit class take the test digits with the most ink (top fifth by mean pixel value) and the least (bottom
# fifth); the difference of their mean codes, averaged over the ten classes, is a "bold" vector. (Across all digits
# at once the difference would also point from thin digits, 1 and 7, to inky ones, 0 and 8, and change the digit.)
# Adding multiples of it to other digits' codes:

# %%
ink = x_test.mean(dim=(1, 2, 3))
test_codes = encode_means(vae, x_test)
class_differences = []
for digit in range(10):
    codes, amounts = test_codes[y_test == digit], ink[y_test == digit]
    thick, thin = amounts >= amounts.quantile(0.8), amounts <= amounts.quantile(0.2)
    class_differences.append(codes[thick].mean(0) - codes[thin].mean(0))
bold = torch.stack(class_differences).mean(0)
AMOUNTS = [-1.0, -0.5, 0.0, 0.5, 1.0]
examples = torch.tensor([0, 1, 4, 7])  # a 7, a 2, a 4 and a 9
edited = torch.cat([decode(vae, test_codes[i] + torch.tensor(AMOUNTS)[:, None] * bold) for i in examples])
show_images(edited, labels=[f"{amount:+.1f} bold" for _ in examples for amount in AMOUNTS], ncols=len(AMOUNTS),
            size=1.0)
plt.show()
ink_after = edited.mean(dim=(1, 2, 3)).view(len(examples), len(AMOUNTS))
print("mean ink of the edited digits (rows: examples, columns: amounts):")
print(ink_after.numpy().round(3))
same_digit = (classify(edited)[0].view(len(examples), len(AMOUNTS)) == y_test[examples][:, None]).float().mean()
print(f"the classifier reads the original digit in {same_digit:.0%} of the edited images")
assert (ink_after[:, -1] > ink_after[:, 0]).all() and same_digit > 0.75

# %% [markdown]
# The rows keep their digits and change their strokes: the ink grows along each row, and the classifier still reads
# the original digit in more than three quarters of the edited images (the code checks both).
# No label for "bold" was ever given: the direction was found by averaging codes, and it is roughly the same
# direction for every digit. Arithmetic with other attributes works the same way (slant, a loop closed or open),
# as long as they vary smoothly within the data.
#
# **Why VAEs blur.** The decoder outputs, for each pixel, the *mean* of $P(x_j\mid z)$. When several different
# images share nearby codes (a 4 and a 9 that the encoder could not keep apart, or a stroke that may be a little
# to the left or to the right), the loss-minimising answer is their average: a grey smear, just as the best single
# guess for a fair coin coded 0 or 1 is $0.5$ (the notes' example). The noise of the sampler makes codes overlap on
# purpose, and the KL term limits how much information a code carries, so some averaging is built in. We measure
# blur as the share of **grey pixels** (values between $0.1$ and $0.9$) among the pixels with any ink:

# %%
def grey_share(images: torch.Tensor) -> float:
    """Among pixels above 0.1 (some ink), the share below 0.9 (not solid): higher means blurrier."""
    inked = images > 0.1
    return ((images < 0.9) & inked).sum().item() / inked.sum().item()


vae_samples = decode(vae, torch.randn(N_EVAL, LATENT_VAE, generator=torch.Generator().manual_seed(1)))
vae_reconstructions = decode(vae, encode_means(vae, x_test[:N_EVAL]))
blur = {"real test digits": grey_share(x_test[:N_EVAL]), "VAE reconstructions": grey_share(vae_reconstructions),
        "VAE samples": grey_share(vae_samples)}
for name, share in blur.items():
    print(f"{name:>20}: {share:.1%} of the inked pixels are grey")
assert min(blur["VAE samples"], blur["VAE reconstructions"]) > blur["real test digits"]

# %% [markdown]
# Even reconstructions of real digits have many more grey pixels than the digits themselves. Sharper samples
# need a model that is not rewarded for averaging. The GAN's loss never compares its output with a particular
# image at all.
#
# ## 7. Generative adversarial networks
#
# A GAN (Goodfellow et al., 2014) drops the encoder. A **generator** $G$ maps noise $z \sim \mathcal N(0, I)$ to an
# image; a **discriminator** $D$ maps an image to the probability that it is real. They play a game:
#
# $$\min_G \max_D \; V(D, G) = \mathbb E_{x\sim P_\text{data}}\left[\log D(x)\right] +
# \mathbb E_{z}\left[\log\left(1 - D(G(z))\right)\right].$$
#
# $D$ wants $D(x) \to 1$ on real images and $D(G(z)) \to 0$ on generated ones: that is just the binary
# cross-entropy of a real/fake classifier. For a fixed $G$ the best discriminator is
# $D^*(x) = P_\text{data}(x) / (P_\text{data}(x) + P_G(x))$, and against it the generator minimises the
# Jensen–Shannon divergence between $P_\text{data}$ and $P_G$, which is zero only when they are equal. On a batch
# the expectations become means over $B$ images and $B$ noise vectors, as in the notes.
#
# **The non-saturating loss.** Early in training $D$ easily spots the fakes, $D(G(z)) \approx 0$, and
# $\log(1 - D(G(z)))$ is flat there: the generator gets almost no gradient. In practice the generator
# maximises $\log D(G(z))$ instead, the same fixed point with strong gradients where they are needed. With
# $D = \operatorname{sigmoid}(s)$ for the discriminator's logit $s$:

# %%
d_of_fake = torch.linspace(0.001, 0.999, 400)
logit = torch.logit(d_of_fake)
minimax_gradient = d_of_fake  # |d/ds log(1 - sigmoid(s))| = sigmoid(s)
non_saturating_gradient = 1 - d_of_fake  # |d/ds -log sigmoid(s)| = 1 - sigmoid(s)
s = logit.clone().requires_grad_()
torch.log1p(-torch.sigmoid(s)).sum().backward()
assert torch.allclose(s.grad.abs(), minimax_gradient, atol=1e-5)
fig, ax = plt.subplots(figsize=(5, 3.2))
ax.plot(d_of_fake, minimax_gradient, label="minimax: $\\log(1 - D(G(z)))$")
ax.plot(d_of_fake, non_saturating_gradient, label="non-saturating: $-\\log D(G(z))$")
ax.axvspan(0, 0.1, color="C3", alpha=0.1, label="early training")
ax.set(xlabel="$D(G(z))$", ylabel="|gradient| w.r.t. the logit", title="the generator's learning signal")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **One training step** alternates the two players, as in the notes:
#
# 1. draw $z$, make fakes $G(z)$; update **only $D$** on real images labelled "real" and fakes labelled "fake"
#    (the fakes are `detach`ed, so no gradient reaches $G$);
# 2. update **only $G$**: the fakes labelled "real", through $D$, whose parameters receive gradients here but
#    are not stepped (and are zeroed before $D$'s next step).
#
# Two tricks from the notes' "label noise": **one-sided label smoothing** (the real label is $0.9$ instead of $1$, so
# $D$ is never rewarded for unlimited confidence) and **instance noise** (a little Gaussian noise on every image
# $D$ sees, real or fake, so the two distributions overlap and $D$'s gradients stay informative). Both slow the
# discriminator down so that the generator keeps learning. The generator's last layer gives logits; a sigmoid
# makes them pixels in $[0, 1]$.

# %%
REAL_LABEL, INSTANCE_NOISE = 0.9, 0.1


def generate(model: nn.Module, n: int, seed: int | None = None) -> torch.Tensor:
    """n images in [0, 1] from the generator, on the model's device."""
    generator = torch.Generator().manual_seed(seed) if seed is not None else None
    z = torch.randn(n, model.generator[0].in_features, generator=generator).to(device)
    return torch.sigmoid(model.generator(z)).view(n, 1, 28, 28)


def gan_step(gan: nn.Module, real: torch.Tensor, optimizer_d: torch.optim.Optimizer,
             optimizer_g: torch.optim.Optimizer) -> dict[str, float]:
    """One discriminator update, then one generator update (non-saturating loss)."""
    discriminator = gan.discriminator

    def judge(images):  # the discriminator's logits, on images with a little instance noise
        return discriminator(images + INSTANCE_NOISE * torch.randn_like(images))

    fake = generate(gan, len(real))
    real_logits, fake_logits = judge(real), judge(fake.detach())
    loss_d = (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, REAL_LABEL))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    optimizer_d.zero_grad()
    loss_d.backward()
    optimizer_d.step()

    fake_logits = judge(fake)
    loss_g = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))  # -log D(G(z))
    optimizer_g.zero_grad()
    loss_g.backward()
    optimizer_g.step()
    return {"D loss": loss_d.item(), "G loss": loss_g.item(), "D(x)": torch.sigmoid(real_logits).mean().item(),
            "D(G(z))": torch.sigmoid(fake_logits).mean().item()}


# %% [markdown]
# The architecture is the `gan_mnist` checkpoint's (`mlp_gan` in `course_utils`: MLPs with LeakyReLU, and
# BatchNorm in the generator, which DCGAN found essential against collapse), trained here from scratch with Adam
# ($\mathrm{lr} = 2\cdot10^{-4}$, $\beta_1 = 0.5$, the DCGAN settings). First a check that each half of the step
# touches only its own player:

# %%
_ = seed_everything(0)
gan_brief = build_model("gan_mnist").to(device)
optimizer_d = torch.optim.Adam(gan_brief.discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
optimizer_g = torch.optim.Adam(gan_brief.generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
before = {name: p.detach().clone() for name, p in gan_brief.named_parameters()}
gan_step(gan_brief, x_train[:128].to(device), optimizer_d, optimizer_g)
changed = {name.split(".")[0] for name, p in gan_brief.named_parameters() if not torch.equal(p, before[name])}
print(f"after one step, parameters changed in: {sorted(changed)}")
assert changed == {"generator", "discriminator"}

GAN_STEPS = 3000 if CUDA else 300
loader_seed, history = 0, {key: [] for key in ["D loss", "G loss", "D(x)", "D(G(z))"]}
progress = tqdm(total=GAN_STEPS, desc="GAN, brief")
while progress.n < GAN_STEPS:
    for (real,) in TensorLoader(x_train, batch_size=128, shuffle=True, drop_last=True, device=device, seed=loader_seed):
        for key, value in gan_step(gan_brief, real, optimizer_d, optimizer_g).items():
            history[key].append(value)
        progress.update()
        if progress.n == GAN_STEPS:
            break
    loader_seed += 1
progress.close()


def smooth(values: list[float], width: int = 25) -> np.ndarray:
    return np.convolve(values, np.ones(width) / width, mode="valid")


fig, axes = plt.subplots(1, 2, figsize=(10, 3.2))
for key in ["D loss", "G loss"]:
    axes[0].plot(smooth(history[key]), label=key)
for key in ["D(x)", "D(G(z))"]:
    axes[1].plot(smooth(history[key]), label=key)
axes[0].set(xlabel="step", title="losses (moving average)")
axes[1].set(xlabel="step", title="the discriminator's mean output")
for ax in axes:
    ax.legend(fontsize=8)
plt.show()
gan_brief.eval()
with torch.no_grad():
    show_images(generate(gan_brief, 16, seed=0).cpu(), ncols=16, size=0.75)
plt.show()

# %% [markdown]
# The losses do not fall together as in every earlier lecture: each player's loss rises when the other improves,
# which is why, as the notes say, the loss alone cannot tell us whether training is going well. After a few hundred
# steps on a CPU (the number is `GAN_STEPS`) the samples above are faint, noisy smudges that look alike. The
# checkpoint `gan_mnist` is the same architecture trained for many more steps: **the next figures come from it.**

# %%
gan_info = checkpoint_info("gan_mnist")
gan = load_checkpoint("gan_mnist", device)
print(f"gan_mnist: {gan_info.description}")
print(f"trained for {gan_info.training['epochs']} epochs on {gan_info.training['train_images']:,} images "
      f"({gan_info.training['seconds']} s on {gan_info.training['threads']} CPU thread; {gan_info.training['recipe']})")
with torch.no_grad():
    gan_samples = torch.cat([generate(gan, 1000, seed=seed).cpu() for seed in range(-(-N_EVAL // 1000))])[:N_EVAL]
    gan_brief_samples = torch.cat([generate(gan_brief, 1000, seed=seed).cpu()
                                   for seed in range(-(-N_EVAL // 1000))])[:N_EVAL]
show_images(gan_samples[:32], ncols=16, size=0.75)
plt.show()
blur["GAN samples"] = grey_share(gan_samples)
print(f"grey share of the inked pixels: GAN samples {blur['GAN samples']:.1%}, VAE samples "
      f"{blur['VAE samples']:.1%}, real digits {blur['real test digits']:.1%}")
assert blur["GAN samples"] < blur["VAE samples"]

# %% [markdown]
# The checkpoint's digits are sharp where the VAE's are smeared: far fewer of their inked pixels are grey (printed
# above; the code checks that the share is below the VAE's). Their flaws are of another kind: broken strokes,
# specks, shapes that are no digit.
#
# **Mode collapse.** Nothing in the GAN's loss asks it to cover *all* of the data: a generator that draws one
# convincing digit over and over can fool the discriminator for a while. Then the discriminator learns to reject
# that digit, the generator jumps to another, and so on. Partial collapse, some digits much more frequent than
# others, is common. The evidence: ask the course classifier which digit each sample is and count.

# %%
def digit_shares(images: torch.Tensor) -> torch.Tensor:
    return torch.bincount(classify(images)[0], minlength=10) / len(images)


sources = {"real test digits": x_test[:N_EVAL], "VAE (checkpoint)": vae_samples, "GAN (checkpoint)": gan_samples,
           "GAN trained here": gan_brief_samples}
shares = {name: digit_shares(images) for name, images in sources.items()}
fig, ax = plt.subplots(figsize=(9, 3))
width = 0.8 / len(shares)
for index, (name, share) in enumerate(shares.items()):
    ax.bar(np.arange(10) + (index - 1.5) * width, share, width, label=name)
ax.axhline(0.1, color="k", linestyle=":", linewidth=1)
ax.set(xticks=range(10), xlabel="digit (as the classifier reads it)", ylabel="share of the samples")
ax.legend(fontsize=8)
plt.show()
entropy = {}
for name, share in shares.items():
    entropy[name] = -(share[share > 0] * share[share > 0].log2()).sum().item()
    confident = (classify(sources[name])[1] > 0.9).float().mean().item()
    print(f"{name:>24}: digit entropy {entropy[name]:.2f} bits (uniform: {np.log2(10):.2f}), most common digit "
          f"{share.argmax().item()} at {share.max():.1%}, read with probability > 0.9: {confident:.0%}")
assert entropy["GAN trained here"] < entropy["GAN (checkpoint)"] < entropy["real test digits"]

# %% [markdown]
# Read the printout: the real digits are close to uniform, $\log_2 10$ bits. A generator whose histogram has tall
# bars and an entropy well below that has partly collapsed onto some digits and drops others. Both GANs are below
# the real digits, the briefly trained one far below (the code checks this order): early in training, collapse onto
# one or two shapes is the rule; longer training spreads the samples out, but not evenly. The share of samples
# the classifier reads confidently is a rough quality measure of each sample; neither number alone is enough, which
# is what the next section is about. Remedies that are used in practice: minibatch statistics in the discriminator
# (so it can see a lack of variety), Wasserstein losses with a gradient penalty, and spectral normalisation.
#
# ## 8. Evaluation: FID and the 1-NN two-sample test
#
# Judging by eye works for a handful of samples, but it does not scale and it misses missing modes. Two measures
# compare the *sets* of real and generated images, both in the **feature space** of a trained network, where
# distances mean more than between pixels.
#
# **The Fréchet distance.** Fit a Gaussian to the features of each set (means $\mu_x, \mu_g$, covariances
# $\Sigma_x, \Sigma_g$) and compute the Fréchet (2-Wasserstein) distance between the two Gaussians:
#
# $$\mathrm{FID}(x, g) = \lVert \mu_x - \mu_g\rVert_2^2 + \operatorname{Tr}\left(\Sigma_x + \Sigma_g -
# 2\left(\Sigma_x\Sigma_g\right)^{1/2}\right).$$
#
# Lower is better, zero only for identical statistics. It penalises bad samples (the mean moves) and missing
# variety (the covariance shrinks). $(\Sigma_x\Sigma_g)^{1/2}$ is a **matrix** square root, not an elementwise one;
# only its trace is needed, the sum of $\sqrt{\lambda_i}$ over the eigenvalues $\lambda_i$ of $\Sigma_x\Sigma_g$.
# We use torchmetrics' `FrechetInceptionDistance`, which takes these eigenvalues of the (non-symmetric) product
# directly. The symmetric matrix $\Sigma_x^{1/2}\Sigma_g\Sigma_x^{1/2}$ has the same eigenvalues, real and
# non-negative, and stays stable when the covariances are nearly singular (few samples, many features): in
# Assignment 11 you compute FID that way yourself.
#
# The "I" in FID stands for **Inception**: the standard score uses the 2048 pool features of an Inception-v3
# network trained on ImageNet. Those weights are not available offline, and a network for 299×299 colour photos
# is a poor judge of 28×28 digits anyway, so we use the 64 penultimate features of the course's MNIST classifier
# `resnet8_mnist` (`PixelFeatures` standardises pixels in $[0, 1]$ and returns those features; torchmetrics
# accepts any network as its `feature`). The formula is the same; the numbers are on another scale and are **not
# comparable** with published FIDs. With Inception features the score would measure what an ImageNet network notices (textures,
# object parts) and need far more samples for stable covariances; with a digit classifier's features it measures
# what distinguishes digits, which is blind to things a digit classifier ignores (for example the exact stroke
# texture).
#
# **The leave-one-out 1-NN two-sample test** (Lopez-Paz and Oquab, 2017): pool $n$ real and $n$ generated
# feature vectors, classify each one by its nearest neighbour among all the *others*, and report the accuracy.
# About one half means the two sets cannot be told apart; near one means they are separated; well below one half
# would mean that each sample has a near copy in the real set, a generator that memorised its training data.
# scikit-learn's `NearestNeighbors(...).fit(X).kneighbors()`, called without query points, leaves each point out
# of its own neighbours.
#
# The sets, $n$ = `N_EVAL` each: real test digits as the reference; other real test digits; and samples of every
# model. The plain autoencoder has no prior, so we sample it the obvious way: fit a Gaussian to its training codes
# and decode draws from it.

# %%
pixel_features = PixelFeatures("resnet8_mnist", device)


def classifier_features(images: torch.Tensor) -> torch.Tensor:
    return torch.cat([pixel_features(batch.to(device)).cpu() for batch in images.split(1000)])


def fid(real: torch.Tensor, generated: torch.Tensor) -> float:
    """torchmetrics' FID between two sets of images in [0, 1], in the features of `resnet8_mnist`."""
    metric = FrechetInceptionDistance(feature=pixel_features, normalize=True).to(device)
    for images, is_real in [(real, True), (generated, False)]:
        for batch in images.split(1000):
            metric.update(batch.to(device), real=is_real)
    return metric.compute().item()


def one_nn_accuracy(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """Leave-one-out 1-NN accuracy: how often a point's nearest *other* point comes from its own set."""
    points = torch.cat([features_a, features_b]).double().numpy()
    labels = torch.cat([torch.zeros(len(features_a)), torch.ones(len(features_b))]).numpy()
    _, nearest = NearestNeighbors(n_neighbors=1).fit(points).kneighbors()  # no query: each point is left out
    return float((labels[nearest[:, 0]] == labels).mean())


with torch.no_grad():
    train_codes = torch.cat([ae.encode(batch) for batch in x_train.to(device).split(1000)]).cpu()
code_gaussian = torch.distributions.MultivariateNormal(train_codes.mean(0), torch.cov(train_codes.T))
torch.manual_seed(2)
with torch.no_grad():
    ae_samples = ae.decoder(code_gaussian.sample((N_EVAL,)).to(device)).view(-1, 1, 28, 28).clamp(0, 1).cpu()
vae_brief_samples = decode(vae_brief, torch.randn(N_EVAL, LATENT_VAE, generator=torch.Generator().manual_seed(1)))
uniform_noise = torch.rand(N_EVAL, 1, 28, 28, generator=torch.Generator().manual_seed(3))

reference_images = x_test[:N_EVAL]
reference = classifier_features(reference_images)
candidates = {"real digits (other test digits)": x_test[N_EVAL:2 * N_EVAL],
              "autoencoder (Gaussian on its codes)": ae_samples,
              "VAE trained here": vae_brief_samples, "VAE (checkpoint)": vae_samples,
              "GAN trained here": gan_brief_samples, "GAN (checkpoint)": gan_samples,
              "uniform noise": uniform_noise}
scores, candidate_features = {}, {}
for name, images in tqdm(candidates.items(), desc="FID and 1-NN"):
    candidate_features[name] = classifier_features(images)
    scores[name] = (fid(reference_images, images), one_nn_accuracy(reference, candidate_features[name]))
table = ["| samples | FID (`resnet8_mnist` features) | 1-NN accuracy |", "|---|---|---|"]
table += [f"| {name} | {fid:.2f} | {one_nn:.3f} |" for name, (fid, one_nn) in scores.items()]
display(Markdown("\n".join(table) + f"\n\n{N_EVAL:,} samples per set, compared with {N_EVAL:,} test digits; trained "
                 f"here: the VAE for {VAE_BRIEF_EPOCHS} epoch(s), the GAN for {GAN_STEPS} steps."))
real_fid, real_one_nn = scores["real digits (other test digits)"]
assert 0.4 < real_one_nn < 0.6 and real_fid < min(fid for name, (fid, _) in scores.items() if "real" not in name)
assert scores["GAN (checkpoint)"][0] < scores["GAN trained here"][0]
assert scores["VAE (checkpoint)"][0] < scores["VAE trained here"][0]
closest = min((name for name in scores if "real" not in name), key=lambda name: abs(scores[name][1] - 0.5))
print(f"closest to the real digits by the 1-NN test: {closest}, accuracy {scores[closest][1]:.3f} (one half: "
      f"indistinguishable); lowest FID: {min((n for n in scores if 'real' not in n), key=lambda n: scores[n][0])}")

# %% [markdown]
# Real against real sets the floor: a small FID, not zero (two finite samples never have identical statistics),
# and a 1-NN accuracy near one half (the code checks between 0.4 and 0.6, <!-- asserted -->
# and that every model's FID is above the real one). Longer training helps both models (the checkpoints beat their
# brief versions, also checked). Compare the models' rows with what your eyes said in sections 6 and 7, and note
# where the two measures disagree: FID looks only at means and covariances, the 1-NN test at every sample. The
# 1-NN test is strict: an accuracy well above one half means that a nearest-neighbour classifier still tells most
# generated digits from real ones (the model closest to one half is printed under the table).
#
# **FID depends on the number of samples.** It is a biased estimate: with fewer samples the covariances are
# noisier and even two sets of real digits look further apart. Only compare FIDs computed with the same $n$:

# %%
real_pool = candidates["real digits (other test digits)"]
real_sizes = [n for n in [100, 300, 1000, 3000] if n <= N_EVAL]
fid_by_size = {n: fid(reference_images[:n], real_pool[:n]) for n in real_sizes}
print("FID between two sets of real test digits: " + ", ".join(f"n = {n}: {v:.2f}" for n, v in fid_by_size.items()))
assert fid_by_size[real_sizes[0]] > fid_by_size[real_sizes[-1]]
print(f"whole lecture: {time.perf_counter() - LECTURE_START:.0f} s on {device}")

# %% [markdown]
# ## Summary
#
# - A **discriminative** model learns $P(y\mid x)$; following its gradient from noise gives images it is sure
#   about and we are not: it knows nothing about where the data lies. A **generative** model learns $P(x)$, usually
#   through a **latent space** $z$ and a decoder.
# - An **autoencoder** compresses through a bottleneck and rebuilds; as a **denoising** autoencoder it removes
#   corruption it was trained on, and its **reconstruction error** is an anomaly score (measure it with a ROC
#   curve and its AUC).
# - A **VAE** encodes $\mu$ and $\log\sigma^2$, samples $z = \mu + \sigma\varepsilon$ (**reparameterisation**),
#   and adds $\beta\cdot\tfrac12\sum(\sigma^2 - \log\sigma^2 - 1 + \mu^2)$, the KL divergence to $\mathcal N(0, I)$,
#   to a reconstruction loss summed over pixels. Its latent space can be sampled, interpolated and edited with
#   **attribute vectors**; its decoder averages, so its images **blur**. $\beta$ trades reconstruction against
#   a regular latent space.
# - A **GAN** trains a generator against a discriminator with alternating updates; the generator uses the
#   **non-saturating** loss $-\log D(G(z))$; label smoothing and instance noise keep the discriminator in check.
#   GAN samples are sharper; **mode collapse** drops parts of the data.
# - **Evaluate** sets, not single images: **FID** (Gaussian statistics of features, a matrix square root, biased
#   by $n$, comparable only with the same features and $n$) and the **1-NN two-sample test** (one half is ideal).
#
# ## Try it yourself
#
# 1. **KL with $\sigma$.** Train the 2-D VAE with the notes' formula, $\tfrac12(\sigma - \log\sigma - 1 + \mu^2)$,
#    where $\sigma = \exp(\tfrac12\log\sigma^2)$. What happens to the scatter of the codes and to the samples from
#    the prior? Why?
# 2. **A convolutional VAE.** Give `ConvAE` an encoder with $2d$ outputs and train it with `vae_loss`. Does its
#    FID beat the MLP's after the same number of epochs?
# 3. **Anomalies per digit.** Train the anomaly autoencoder on all digits but one, for each digit in turn. Which
#    digit is the hardest to flag, and does it match the per-digit AUCs of section 4?
# 4. **Without the tricks.** Train the brief GAN with `REAL_LABEL = 1.0` and `INSTANCE_NOISE = 0`, and once with the
#    minimax generator loss $\log(1 - D(G(z)))$. Compare the losses, the samples and the digit histogram.
# 5. **Memorisation.** For a few GAN samples find the nearest training digit in feature space and show both. How
#    would the 1-NN accuracy look for a generator that returns its training images?
