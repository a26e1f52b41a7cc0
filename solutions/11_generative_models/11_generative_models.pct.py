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
# # Assignment 11 — Generative models
#
# Lecture 11 trained a VAE and a GAN and scored them with library code. In this assignment you write the pieces
# yourself, in the lecture's notation:
#
# | part | what you write | points |
# |---|---|---|
# | 1 | `reparameterise` with an explicit random generator, and `kl_diagonal`: the KL divergence between diagonal Gaussians | 2 |
# | 2 | `vae_loss`: the negative ELBO $L_\text{rec} + \beta L_\text{KL}$, stable for any logits | 2 |
# | 3 | `gan_step`: one alternating discriminator and generator update (non-saturating loss) | 2 |
# | 4 | `frechet_distance`: FID from two sets of features, with symmetric matrix square roots | 2 |
# | 5 | `one_nn_accuracy`: the leave-one-out 1-NN two-sample test | 2 |
#
# **How grading works.** Write your code where it says `# YOUR CODE HERE` (delete the
# `raise NotImplementedError()` line). Each part ends with a locked test cell. The tests you see there are small
# examples you can check by hand: run them as often as you like. When your notebook is graded, a grader
# outside your notebook calls your functions on many random cases of its own (other shapes, float32 and float64,
# huge logits, stale gradients, singular covariances, duplicated points and ties) and compares the results with
# its own reference. A part scores its points only if all of its checks pass: make your code correct for every
# input the instructions allow, not just for the examples.
#
# Some more rules:
#
# - The parts are graded independently: a part you skip costs only its own points (do not call one part's
#   function from another).
# - Do not rename the functions or change their arguments, and do not edit the test cells.
# - Your functions must not modify their inputs.
# - Code that interferes with grading (rebinding library functions, reading other files) sends the
#   submission to manual review.
# - Before you submit: *Kernel → Restart Kernel and Run All Cells*. The whole notebook runs in a few seconds.

# %% nbgrader={"grade": false, "grade_id": "setup", "locked": true, "schema_version": 3, "solution": false, "task": false}
import math

import torch
from torch import nn
from torch.nn import functional as F

from course_utils import choose_device, load_checkpoint, show_images

# Small tensors and MLPs: one thread is fastest on a busy CPU.
choice = choose_device(cpu_threads=1)
print(choice.summary())

# %% [markdown] nbgrader={"grade": false, "grade_id": "part1_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 1 — Reparameterisation and the KL divergence of diagonal Gaussians (2 points)
#
# The encoder of a VAE outputs $\mu$ and $\log\sigma^2$. The **reparameterisation trick** writes a sample of
# $\mathcal N(\mu, \operatorname{diag}\sigma^2)$ as a differentiable function of them and of noise:
#
# $$z = \mu + \sigma \odot \varepsilon, \qquad \sigma = \exp\left(\tfrac12 \log\sigma^2\right), \qquad
#   \varepsilon \sim \mathcal N(0, I).$$
#
# **`reparameterise(mu, log_var, generator)`**
# - `mu` and `log_var` are tensors of the same shape and floating dtype; `generator` is a `torch.Generator`.
# - Draw the noise **exactly once, exactly like this**:
#   `eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)`. The grader draws the
#   same numbers from its own generator with the same seed, and checks that your call used up exactly these
#   numbers (the generator's next numbers after your call must be the ones after a single draw).
# - Return $z$ (same shape and dtype), differentiable with respect to `mu` and `log_var`.
#
# The **KL divergence** between two diagonal Gaussians, per component and then summed over the last dimension:
#
# $$\mathrm{KL}\left(\mathcal N(\mu, \sigma^2) \,\|\, \mathcal N(\mu_p, \sigma_p^2)\right)
#   = \tfrac12 \left[\log\sigma_p^2 - \log\sigma^2 + \frac{\sigma^2 + (\mu - \mu_p)^2}{\sigma_p^2} - 1\right].$$
#
# With the standard prior ($\mu_p = 0$, $\sigma_p^2 = 1$) this is the lecture's $\tfrac12(\sigma^2 - \log\sigma^2
# - 1 + \mu^2)$.
#
# **`kl_diagonal(mu, log_var, prior_mu, prior_log_var)`**
# - `mu`, `log_var`: shape `(..., d)`; `prior_mu`, `prior_log_var`: tensors that broadcast to that shape (for
#   example `(d,)`, or the full shape), same dtype.
# - Return the KL summed over the last dimension: shape `(...)` (a 0-dimensional tensor for a 1-D input),
#   differentiable with respect to all four arguments. Work with `log_var` directly (no `log(exp(...))`).

# %% nbgrader={"grade": false, "grade_id": "reparam", "locked": false, "schema_version": 3, "solution": true, "task": false}
def reparameterise(mu: torch.Tensor, log_var: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """z = mu + exp(log_var / 2) * eps, eps drawn once with torch.randn(mu.shape, generator=generator, ...)."""
    ### BEGIN SOLUTION
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * log_var) * eps
    ### END SOLUTION


def kl_diagonal(mu: torch.Tensor, log_var: torch.Tensor, prior_mu: torch.Tensor,
                prior_log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(log_var)) || N(prior_mu, exp(prior_log_var))) summed over the last dimension."""
    ### BEGIN SOLUTION
    ratio = (log_var.exp() + (mu - prior_mu).square()) / prior_log_var.exp()
    return 0.5 * (prior_log_var - log_var + ratio - 1).sum(dim=-1)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_reparam", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# reparameterise: the same seed gives the same eps; sigma = exp(log_var / 2)
mu, log_var = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, 2.0, -2.0])
z = reparameterise(mu, log_var, torch.Generator().manual_seed(0))
T.assert_type(z, torch.Tensor, "reparameterise(...)")
eps = torch.randn(3, generator=torch.Generator().manual_seed(0))
T.assert_close(z, mu + torch.tensor([1.0, math.e, 1 / math.e]) * eps,
               name="z = mu + sigma * eps with sigma = exp(log_var / 2) = (1, e, 1/e)")
generator = torch.Generator().manual_seed(1)
reparameterise(mu.double(), log_var.double(), generator)
follow_up = torch.Generator().manual_seed(1)
torch.randn(3, generator=follow_up, dtype=torch.float64)
assert torch.equal(torch.randn(4, generator=generator), torch.randn(4, generator=follow_up)), \
    "draw eps exactly once, with torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)"
# gradients: dz/dmu = 1, dz/dlog_var = sigma * eps / 2
leaf_mu, leaf_log_var = mu.clone().requires_grad_(), log_var.clone().requires_grad_()
reparameterise(leaf_mu, leaf_log_var, torch.Generator().manual_seed(0)).sum().backward()
T.assert_close(leaf_mu.grad, torch.ones(3), name="dz/dmu")
T.assert_close(leaf_log_var.grad, 0.5 * torch.exp(0.5 * log_var) * eps, name="dz/dlog_var = sigma * eps / 2")

# kl_diagonal: zero for equal Gaussians; the standard prior gives the lecture's formula
zeros = torch.zeros(2, 4)
T.assert_close(kl_diagonal(zeros, zeros, torch.zeros(4), torch.zeros(4)), [0.0, 0.0],
               name="KL(N(0, 1) || N(0, 1)) summed over 4 components, for 2 rows")
T.assert_close(kl_diagonal(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([0.0])), 0.5,
               name="KL(N(1, 1) || N(0, 1)) = mu^2 / 2")
T.assert_close(kl_diagonal(torch.tensor([0.0]), torch.tensor([math.log(4.0)]), torch.tensor([0.0]),
                           torch.tensor([0.0])), 0.5 * (4 - math.log(4) - 1),
               name="KL(N(0, 4) || N(0, 1)) = (sigma^2 - log sigma^2 - 1) / 2, with sigma^2 (not sigma) = 4")
# a general prior: N(1, 1) against N(3, 4): (log 4 - 0 + (1 + 4) / 4 - 1) / 2
T.assert_close(kl_diagonal(torch.tensor([1.0]), torch.tensor([0.0]), torch.tensor([3.0]),
                           torch.tensor([math.log(4.0)])), 0.5 * (math.log(4) + 5 / 4 - 1),
               name="KL(N(1, 1) || N(3, 4))")
# against Monte Carlo: the mean of log q(z) - log p(z) over samples z ~ q
g = torch.Generator().manual_seed(2)
m, lv, pm, plv = (torch.randn(5, generator=g, dtype=torch.float64) for _ in range(4))
samples = m + (0.5 * lv).exp() * torch.randn(400_000, 5, generator=g, dtype=torch.float64)
log_ratio = (torch.distributions.Normal(m, (0.5 * lv).exp()).log_prob(samples)
             - torch.distributions.Normal(pm, (0.5 * plv).exp()).log_prob(samples)).sum(dim=-1)
T.assert_close(kl_diagonal(m, lv, pm, plv), log_ratio.mean(), atol=0.05, rtol=0.02,
               name="kl_diagonal against a Monte Carlo estimate")
print("✓ Part 1: reparameterise and kl_diagonal pass the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part2_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 2 — The VAE loss (2 points)
#
# The decoder outputs **logits** $s_j$ (the pixel is $\hat x_j = \operatorname{sigmoid}(s_j)$). The loss of one
# image is the reconstruction's binary cross-entropy **summed** over its pixels plus $\beta$ times the KL to the
# standard prior **summed** over the latent dimensions; the batch's loss is the **mean** over its images:
#
# $$L = \frac1B \sum_{b=1}^{B}\left(L_\text{rec}^{(b)} + \beta\,L_\text{KL}^{(b)}\right), \qquad
#   L_\text{rec} = -\sum_j\left[x_j\log\hat x_j + (1 - x_j)\log(1 - \hat x_j)\right], \qquad
#   L_\text{KL} = \sum_i \tfrac12\left(\sigma_i^2 - \log\sigma_i^2 - 1 + \mu_i^2\right).$$
#
# **`vae_loss(x, logits, mu, log_var, beta)`**
# - `x`: targets in $[0, 1]$, shape `(B, ...)` (e.g. `(B, 1, 28, 28)` or `(B, 784)`); `logits`: the same shape;
#   `mu`, `log_var`: `(B, d)`; `beta`: a float $\ge 0$. All tensors have the same floating dtype.
# - Return $L$ as a 0-dimensional tensor, differentiable with respect to `logits`, `mu` and `log_var`.
# - **Numerically stable** for any logits: with $s = \pm 10^4$ the loss must be finite and exact. Computing
#   $\log(\operatorname{sigmoid}(s))$ in two steps gives $\log 0 = -\infty$: use the logits directly
#   (`F.binary_cross_entropy_with_logits`, or $\max(s, 0) - s x + \log(1 + e^{-|s|})$).
# - Write the KL term here (do not call Part 1's function: the parts are graded independently).

# %% nbgrader={"grade": false, "grade_id": "vae_loss", "locked": false, "schema_version": 3, "solution": true, "task": false}
def vae_loss(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
             beta: float) -> torch.Tensor:
    """Mean over the batch of (BCE summed over pixels) + beta * (KL to N(0, I) summed over latents)."""
    ### BEGIN SOLUTION
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).sum(dim=1)
    kl = 0.5 * (log_var.exp() - log_var - 1 + mu.square()).sum(dim=1)
    return (reconstruction + beta * kl).mean()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_vae_loss", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand: logits 0 mean x_hat = 1/2, so every pixel costs log 2 whatever x is; mu = 0, log_var = 0 cost nothing
x = torch.tensor([[0.0, 1.0, 0.5, 1.0]])
loss = vae_loss(x, torch.zeros(1, 4), torch.zeros(1, 2), torch.zeros(1, 2), beta=1.0)
T.assert_type(loss, torch.Tensor, "vae_loss(...)")
assert loss.dim() == 0, f"the loss is one number (a 0-dimensional tensor), got shape {tuple(loss.shape)}"
T.assert_close(loss, 4 * math.log(2), name="4 pixels at x_hat = 1/2: the BCE is SUMMED over pixels (not averaged)")
# the KL term: mu = (1, 0), log_var = 0 -> KL = 1/2, weighted by beta (and only the KL is weighted)
mu, log_var = torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2)
T.assert_close(vae_loss(x, torch.zeros(1, 4), mu, log_var, beta=3.0), 4 * math.log(2) + 3 * 0.5,
               name="L_rec + beta * L_KL with beta = 3 (beta multiplies the KL term only)")
# the batch: the MEAN over images of their summed losses
x2 = torch.stack([x[0], torch.ones(4)])
two = vae_loss(x2, torch.zeros(2, 4), torch.tensor([[1.0, 0.0], [0.0, 0.0]]), torch.zeros(2, 2), beta=1.0)
T.assert_close(two, 4 * math.log(2) + 0.5 / 2, name="two images: the mean over the batch")
# image-shaped inputs: sum over every pixel of an image
images = torch.rand(3, 1, 4, 4, generator=torch.Generator().manual_seed(0))
flat = vae_loss(images.flatten(1), torch.zeros(3, 16), torch.zeros(3, 2), torch.zeros(3, 2), 1.0)
T.assert_close(vae_loss(images, torch.zeros(3, 1, 4, 4), torch.zeros(3, 2), torch.zeros(3, 2), 1.0), flat,
               name="(B, 1, 4, 4) images give the loss of the same pixels flattened to (B, 16)")
# stability: a confident, right decoder costs 0; a confident, wrong one costs |s| per pixel
huge = torch.tensor([[1e4, -1e4, 1e4, -1e4]])
target = torch.tensor([[1.0, 0.0, 0.0, 1.0]])
value = vae_loss(target, huge, torch.zeros(1, 2), torch.zeros(1, 2), beta=1.0)
assert torch.isfinite(value), "logits of ±1e4 give an infinite or nan loss: log(sigmoid(s)) in two steps is " \
                              "log(0); compute the BCE from the logits (binary_cross_entropy_with_logits)"
T.assert_close(value, 2e4, name="two pixels right with logits ±1e4 (cost 0), two wrong (cost 1e4 each)")
print("✓ Part 2: vae_loss passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part3_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 3 — One GAN training step (2 points)
#
# The generator $G$ maps noise to fakes; the discriminator $D$ maps an input to one **logit** $s$ (real if
# $\operatorname{sigmoid}(s)$ is near 1). One step alternates the two players, as in the lecture (without its
# label smoothing and instance noise):
#
# 1. `fake = generator(noise)`.
# 2. **Discriminator update.** $L_D$ = the mean binary cross-entropy of $D$'s logits on `real` with label 1
#    **plus** the mean binary cross-entropy of $D$'s logits on the **detached** fakes with label 0. Zero $D$'s
#    gradients, backpropagate $L_D$, step `d_opt`.
# 3. **Generator update** with the **non-saturating** loss: $L_G$ = the mean binary cross-entropy of the
#    *updated* $D$'s logits on the fakes (not detached) with label **1**, i.e. $-\log D(G(z))$ (not
#    $\log(1 - D(G(z)))$). Zero $G$'s gradients, backpropagate $L_G$, step `g_opt`. You may reuse `fake` from
#    step 1 or recompute it from `noise`: $G$ has not changed.
# 4. Return `(d_loss, g_loss)`: $L_D$ (before $D$'s step) and $L_G$, as Python floats.
#
# **`gan_step(generator, discriminator, g_opt, d_opt, real, noise)`**
# - `generator`, `discriminator`: `nn.Module`s; `d_opt` holds exactly $D$'s parameters, `g_opt` exactly $G$'s.
# - `real`: `(B, ...)` real inputs; `noise`: `(B, d_z)`; the discriminator returns `(B, 1)` logits.
# - The parameters may hold **stale gradients** when you are called: zero the gradients before each backward.
#   $D$'s step must not change $G$, and $G$'s step must not change $D$ (only `g_opt.step()` changes $G$, only
#   `d_opt.step()` changes $D$).
# - Use `F.binary_cross_entropy_with_logits` (stable). The grader runs your step two or three times in a row on
#   float64 MLPs with SGD with momentum and compares every parameter with its own step.

# %% nbgrader={"grade": false, "grade_id": "gan_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gan_step(generator: nn.Module, discriminator: nn.Module, g_opt: torch.optim.Optimizer,
             d_opt: torch.optim.Optimizer, real: torch.Tensor, noise: torch.Tensor) -> tuple[float, float]:
    """One discriminator update (real -> 1, detached fakes -> 0), then one generator update (fakes -> 1)."""
    ### BEGIN SOLUTION
    fake = generator(noise)
    real_scores, fake_scores = discriminator(real), discriminator(fake.detach())  # logits
    d_loss = (F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
              + F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores)))
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()

    fooled = discriminator(fake)
    g_loss = F.binary_cross_entropy_with_logits(fooled, torch.ones_like(fooled))
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return d_loss.item(), g_loss.item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_gan_step", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand: D(x) = w * x[:, 0] + c starts at w = c = 0, so every logit is 0 and each BCE is log 2:
# L_D = log 2 + log 2; then L_G is computed with the updated D
g_net, d_net = nn.Linear(1, 2, bias=False), nn.Linear(2, 1)
with torch.no_grad():
    g_net.weight.copy_(torch.tensor([[1.0], [0.0]]))  # fake = (z, 0)
    d_net.weight.zero_()
    d_net.bias.zero_()
g_opt, d_opt = torch.optim.SGD(g_net.parameters(), lr=0.5), torch.optim.SGD(d_net.parameters(), lr=0.5)
for p in [*g_net.parameters(), *d_net.parameters()]:
    p.grad = torch.full_like(p, 100.0)  # stale gradients: must not count
real, noise = torch.tensor([[2.0, 1.0], [2.0, 1.0]]), torch.tensor([[-2.0], [-2.0]])
result = gan_step(g_net, d_net, g_opt, d_opt, real, noise)
assert isinstance(result, tuple) and len(result) == 2 and all(isinstance(v, float) for v in result), \
    "gan_step returns (d_loss, g_loss) as two Python floats (.item())"
d_loss, g_loss = result
T.assert_close(d_loss, 2 * math.log(2), name="L_D with all logits 0: log 2 for the reals + log 2 for the fakes")
# D's gradient: d/dw of the BCE means = (sigmoid(0) - 1) * 2 + (sigmoid(0) - 0) * (-2) = -2 for w_0, -0.5 for w_1,
# 0 for the bias; one SGD step with lr 0.5 gives w = (1, 0.25), c = 0
T.assert_close(d_net.weight.detach(), [[1.0, 0.25]],
               name="D's weight after its step (stale gradients zeroed first; the fakes are (-2, 0))")
T.assert_close(d_net.bias.detach(), [0.0], name="D's bias after its step")
# G's loss on the UPDATED D: logit = 1 * (-2) + 0.25 * 0 = -2 -> -log sigmoid(-2) = log(1 + e^2)
T.assert_close(g_loss, math.log(1 + math.e ** 2),
               name="L_G = -log D(G(z)) with the updated D (non-saturating: label 1 for the fakes)")
# G's gradient: dL_G/ds = sigmoid(-2) - 1, times D's updated weight (1, 0.25), times z = -2, for each row of G
sig = 1 / (1 + math.e ** 2)
T.assert_close(g_net.weight.detach(), [[1 - 0.5 * (sig - 1) * 1.0 * -2], [0 - 0.5 * (sig - 1) * 0.25 * -2]],
               name="G's weight after its step (through the updated D)")
print("✓ Part 3: gan_step passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part4_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 4 — The Fréchet distance from features (2 points)
#
# FID fits a Gaussian to each set of features and measures the Fréchet distance between the two Gaussians:
#
# $$d^2 = \lVert \mu_a - \mu_b\rVert_2^2 + \operatorname{Tr}\left(\Sigma_a + \Sigma_b -
#   2\left(\Sigma_a^{1/2}\,\Sigma_b\,\Sigma_a^{1/2}\right)^{1/2}\right).$$
#
# The lecture wrote the last term as $(\Sigma_a\Sigma_b)^{1/2}$. $\Sigma_a\Sigma_b$ is not symmetric, and a
# general eigen-decomposition of it (`torch.linalg.eig`) gives complex numbers and is unstable when the
# covariances are singular (fewer samples than features). The symmetric matrix $\Sigma_a^{1/2}\Sigma_b\Sigma_a^{1/2}$
# has the same eigenvalues, real and $\ge 0$: its trace's square root is what you need.
#
# **The symmetric PSD square root** of a symmetric matrix $S = V \operatorname{diag}(\lambda) V^\top$
# (`torch.linalg.eigh`) is $V \operatorname{diag}(\sqrt{\max(\lambda, 0)})\, V^\top$: rounding leaves tiny
# negative eigenvalues, clamp them at 0.
#
# **`frechet_distance(features_a, features_b)`**
# - `features_a`: `(N_a, D)`, `features_b`: `(N_b, D)`, $N_a, N_b \ge 2$, float32 or float64. Compute in
#   **float64**. $N$ may be smaller than $D$, and columns may be constant or duplicated (singular covariances).
# - Means over the rows; covariances with $N - 1$ (`torch.cov(features.T)` is fine).
# - The square roots with `torch.linalg.eigh` and clamping, as above (symmetrise a product before `eigh`:
#   `(M + M.T) / 2`). **Not allowed:** `torch.linalg.eig` / `eigvals` (the grader checks which operations run),
#   `scipy.linalg.sqrtm`, torchmetrics.
# - Return a Python float (rounding may leave a value like $-10^{-13}$ for identical sets; that is fine).

# %% nbgrader={"grade": false, "grade_id": "frechet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def frechet_distance(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    """||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a^1/2 S_b S_a^1/2)^1/2), in float64, with eigh."""
    ### BEGIN SOLUTION
    a, b = features_a.detach().double(), features_b.detach().double()
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], a.shape[1]), torch.cov(b.T).reshape(b.shape[1], b.shape[1])
    values, vectors = torch.linalg.eigh((cov_a + cov_a.T) / 2)
    root_a = (vectors * values.clamp(min=0).sqrt()) @ vectors.T
    middle = root_a @ cov_b @ root_a
    cross = torch.linalg.eigvalsh((middle + middle.T) / 2).clamp(min=0).sqrt().sum()
    distance = (a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross
    return distance.item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_frechet", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# 1-D Gaussians: d^2 = (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2
a = torch.tensor([[0.0], [2.0]])               # mean 1, variance 2 (N - 1 = 1)
b = torch.tensor([[4.0], [8.0], [6.0]])         # mean 6, variance (4 + 4 + 0) / 2 = 4
value = frechet_distance(a, b)
T.assert_type(value, float, "frechet_distance(...)")
T.assert_close(value, (1 - 6) ** 2 + (math.sqrt(2) - 2) ** 2, atol=1e-9,
               name="1-D: (mu_a - mu_b)^2 + (sigma_a - sigma_b)^2, covariances with N - 1")
# a set against itself: 0; the distance is symmetric
g = torch.Generator().manual_seed(0)
x = torch.randn(50, 3, generator=g, dtype=torch.float64) @ torch.randn(3, 3, generator=g, dtype=torch.float64)
x = x - x.mean(dim=0)  # mean 0, covariance S
T.assert_close(frechet_distance(x, x), 0.0, atol=1e-9, name="a set against itself")
y = 2 * x + 1  # mean (1, 1, 1), covariance 4 S: Tr(S + 4 S - 2 (S^1/2 4 S S^1/2)^1/2) = Tr(S)
T.assert_close(frechet_distance(x, y), 3 + torch.cov(x.T).trace().item(), atol=1e-9,
               name="x against 2x + 1 (the cross term is a MATRIX square root: (4 S^2)^1/2 = 2 S)")
T.assert_close(frechet_distance(y, x), frechet_distance(x, y), atol=1e-9, name="the distance is symmetric")
# diagonal covariances: sum of (sqrt(va) - sqrt(vb))^2
va, vb = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 1.0, 0.25])
signs = torch.tensor([[1.0], [-1.0]]).repeat(2, 1)  # 4 rows: mean 0, variance 4/3 per unit scale
xa, xb = signs * va.sqrt() * math.sqrt(3 / 4), signs * vb.sqrt() * math.sqrt(3 / 4)
T.assert_close(frechet_distance(xa, xb), ((va.sqrt() - vb.sqrt()) ** 2).sum().item(), atol=1e-9,
               name="diagonal covariances (1, 4, 9) and (4, 1, 0.25), equal means")
# singular covariances: 5 samples of 20 features, float32 in, a finite float out; no general eigensolver
few = torch.randn(5, 20, generator=g)
with T.forbidden("aten.linalg_eig", "torch.linalg.eig", "torch.linalg.eigvals"):
    far = frechet_distance(few, few + 1)
assert math.isfinite(far), "5 samples of 20 features (singular covariances) give a non-finite distance"
T.assert_close(far, 20.0, atol=1e-6, name="a singular set against itself shifted by 1 in 20 features")
print("✓ Part 4: frechet_distance passes the visible tests")

# %% [markdown] nbgrader={"grade": false, "grade_id": "part5_md", "locked": true, "schema_version": 3, "solution": false, "task": false}
# ## Part 5 — The leave-one-out 1-NN two-sample test (2 points)
#
# Pool the real and the generated feature vectors, `points = torch.cat([real, fake])` (real first), and
# classify each point by its **nearest other point** (Euclidean distance): the prediction is correct when that
# neighbour comes from the same set. The accuracy over all $N_r + N_f$ points is about $\tfrac12$ when the sets
# cannot be told apart and $1$ when they are separated.
#
# **`one_nn_accuracy(real, fake)`**
# - `real`: `(N_r, D)`, `fake`: `(N_f, D)`, same floating dtype, $N_r + N_f \ge 2$ (one of them may have a
#   single row).
# - **Leave one out:** a point is never its own neighbour. Another point at distance 0 (a duplicate) is a
#   neighbour like any other.
# - **Ties:** among equally near points, the one with the **lower index in `points`** wins (`argmin` does this).
# - Return the accuracy as a Python float. Write it with tensor operations (`torch.cdist` is fine).

# %% nbgrader={"grade": false, "grade_id": "one_nn", "locked": false, "schema_version": 3, "solution": true, "task": false}
def one_nn_accuracy(real: torch.Tensor, fake: torch.Tensor) -> float:
    """Share of the points of [real; fake] whose nearest other point (ties: lower index) is from their own set."""
    ### BEGIN SOLUTION
    points = torch.cat([real, fake]).double()
    labels = torch.cat([torch.zeros(len(real)), torch.ones(len(fake))])
    distances = torch.cdist(points, points, compute_mode="donot_use_mm_for_euclid_dist")
    distances.fill_diagonal_(math.inf)
    nearest = distances.argmin(dim=1)
    return (labels[nearest] == labels).double().mean().item()
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "test_one_nn", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
from course_utils import testing as T

# By hand on a line: real {0, 1}, fake {10, 11}: every nearest other point is in the same set
real, fake = torch.tensor([[0.0], [1.0]]), torch.tensor([[10.0], [11.0]])
value = one_nn_accuracy(real, fake)
T.assert_type(value, float, "one_nn_accuracy(...)")
T.assert_close(value, 1.0, name="two separated pairs")
# interleaved: real {0, 2}, fake {1, 3}: 0 -> 1 (fake, wrong), 2 -> 1 or 3 (tie: index 2 (the 1) wins, wrong),
# 1 -> 0 or 2 (tie: index 0 wins, wrong), 3 -> 2 (real, wrong)
T.assert_close(one_nn_accuracy(torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [3.0]])), 0.0,
               name="interleaved points (ties broken toward the lower index)")
# leave one out: a set against an exact copy of itself -> each point's nearest other point is its twin
x = torch.randn(20, 3, generator=torch.Generator().manual_seed(0))
T.assert_close(one_nn_accuracy(x, x.clone()), 0.0,
               name="a set against its copy: 0.0 (1.0 would mean a point was counted as its own neighbour)")
# duplicates within a set count: real {0, 0}, fake {0.1}: each 0 finds the other 0; 0.1 finds the first 0 (tie)
T.assert_close(one_nn_accuracy(torch.tensor([[0.0], [0.0]]), torch.tensor([[0.1]])), 2 / 3,
               name="a duplicated real point and one fake")
# one distribution, two samples: about one half
a, b = torch.randn(2, 300, 4, generator=torch.Generator().manual_seed(1))
assert 0.35 < one_nn_accuracy(a, b) < 0.65, "two samples of the same Gaussian should be hard to tell apart"
print("✓ Part 5: one_nn_accuracy passes the visible tests")

# %% [markdown]
# ## Ungraded: your pieces on the course's generative checkpoints
#
# Decode digits from the `vae_mnist` and `gan_mnist` checkpoints (both map $z \sim \mathcal N(0, I)$ to pixel
# logits), and compare them with real digits through the features of the classifier `resnet8_mnist`, using your
# `frechet_distance` and `one_nn_accuracy`. The numbers are printed, not graded.

# %%
from course_utils import PixelFeatures, checkpoint_info, image_tensors, load_mnist

features = PixelFeatures("resnet8_mnist")
x_test, _ = image_tensors(load_mnist(train=False), limit=1000, normalize=False)
real_features, other_real = features(x_test[:500]), features(x_test[500:])
samples = {}
for name, part in [("vae_mnist", "decoder"), ("gan_mnist", "generator")]:
    decoder = load_checkpoint(name)[part]  # eval mode
    z = torch.randn(500, checkpoint_info(name).arguments["latent_dim"], generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        samples[name] = torch.sigmoid(decoder(z)).view(-1, 1, 28, 28)
show_images(torch.cat([x_test[:8], samples["vae_mnist"][:8], samples["gan_mnist"][:8]]),
            labels=["real"] * 8 + ["VAE"] * 8 + ["GAN"] * 8, ncols=8)
for name, other in [("other real digits", other_real), *((n, features(s)) for n, s in samples.items())]:
    print(f"{name:18s}: FID {frechet_distance(real_features, other):7.2f}, "
          f"1-NN accuracy {one_nn_accuracy(real_features, other):.3f} (500 samples per set)")
