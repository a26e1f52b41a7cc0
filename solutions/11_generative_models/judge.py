"""Hidden tests of Assignment 11, judged in the grader's process (instructor only, never released).

Each part first re-checks a fixed case built from the visible examples (so that a catalogued mistake is named
whatever the random draw), then random cases: the reparameterisation's draw from a generator made in the kernel,
KL values and gradients against a general prior; the VAE loss with huge logits; GAN steps on float64 MLPs with
SGD with momentum and planted stale gradients, compared parameter by parameter with a step made here; FID with
singular covariances, duplicated and constant columns; the 1-NN test with duplicates and exact ties. The
references below are float64 formulas and loops written for this file only.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from course_grading.gradients import kernel_gradients, kernel_leaves
from course_grading.judge import Judge, case, expect, expect_close, expect_no_ops, expect_tensor, expect_type, fail

judge = Judge()
judge.advise_against("frechet", "sqrtm", "FrechetInceptionDistance", "torchmetrics", "eigvals")
GENERAL_EIG = frozenset({"aten.linalg_eig", "aten._linalg_eig", "aten.linalg_eigvals", "torch.linalg.eig",
                         "torch.linalg.eigvals"})
DTYPES = (torch.float32, torch.float64)


def tolerance(dtype: torch.dtype, loose: float = 1e-4) -> dict[str, float]:
    return {"atol": loose, "rtol": loose} if dtype == torch.float32 else {"atol": 1e-9, "rtol": 1e-9}


# ---------------------------------------------------------------- Part 1

STD_AS_VAR = "σ is taken as exp(log_var) instead of exp(log_var / 2)"
KL_WITH_SIGMA = "the KL uses σ where the formula has σ² (and σ_p for σ_p²)"
KL_NO_HALF = "the KL misses the factor ½"


def ref_reparameterise(mu, log_var, eps, mistake=None):
    scale = 1.0 if mistake == STD_AS_VAR else 0.5
    return mu.double() + torch.exp(scale * log_var.double()) * eps.double()


def ref_kl(mu, log_var, prior_mu, prior_log_var, mistake=None):
    mu, log_var, prior_mu, prior_log_var = (t.double() for t in (mu, log_var, prior_mu, prior_log_var))
    if mistake == KL_WITH_SIGMA:
        log_var, prior_log_var = log_var / 2, prior_log_var / 2
    terms = prior_log_var - log_var + (log_var.exp() + (mu - prior_mu).square()) / prior_log_var.exp() - 1
    return (terms if mistake == KL_NO_HALF else 0.5 * terms).sum(dim=-1)


def check_reparameterise(student, mu, log_var, seed: int) -> None:
    generator = student.module("torch.Generator").invoke((), keep=True).value
    generator.attr("manual_seed")(seed)
    mine = torch.Generator().manual_seed(seed)
    eps = torch.randn(mu.shape, generator=mine, dtype=mu.dtype)
    call = student.reparameterise.invoke((mu, log_var, generator), return_args=True)
    expect_tensor(call.value, "reparameterise(mu, log_var, generator)", dtype=mu.dtype, shape=tuple(mu.shape))
    expect_close(call.value, ref_reparameterise(mu, log_var, eps), "z", **tolerance(mu.dtype),
                 mistakes={STD_AS_VAR: ref_reparameterise(mu, log_var, eps, STD_AS_VAR)})
    expect(torch.equal(call.args[0], mu) and torch.equal(call.args[1], log_var),
           "reparameterise modified mu or log_var")
    after = student.module("torch.randn").invoke((6,), {"generator": generator, "dtype": torch.float64}).value
    expect(torch.equal(after, torch.randn(6, generator=mine, dtype=torch.float64)),
           "after reparameterise the generator is not where one draw of torch.randn(mu.shape, generator=generator, "
           "dtype=mu.dtype, device=mu.device) leaves it: draw eps exactly once, exactly that way")
    # gradients, through leaves in the kernel
    generator.attr("manual_seed")(seed)
    leaves = kernel_leaves(student, mu, log_var)
    z = student.reparameterise.invoke((*leaves, generator), keep=True).value
    grad_out = torch.linspace(-1, 1, mu.numel(), dtype=mu.dtype).reshape(mu.shape)
    grads = kernel_gradients(student, z, leaves, grad_out)
    sigma = torch.exp(0.5 * log_var.double())
    for got, want, name in zip(grads, [grad_out.double(), grad_out.double() * 0.5 * sigma * eps.double()],
                               ["the gradient w.r.t. mu", "the gradient w.r.t. log_var"]):
        expect(got is not None, f"{name} is None: z must be differentiable in mu and log_var")
        expect_close(got, want, name, **tolerance(mu.dtype))


def check_kl(student, mu, log_var, prior_mu, prior_log_var) -> None:
    args = (mu, log_var, prior_mu, prior_log_var)
    call = student.kl_diagonal.invoke(args, return_args=True)
    want = ref_kl(*args)
    expect_tensor(call.value, "kl_diagonal(...)", dtype=mu.dtype, shape=tuple(want.shape))
    expect_close(call.value, want, "the KL", **tolerance(mu.dtype),
                 mistakes={label: ref_kl(*args, label) for label in (KL_WITH_SIGMA, KL_NO_HALF)})
    expect(all(torch.equal(a, b) for a, b in zip(call.args, args)), "kl_diagonal modified its inputs")
    leaves = kernel_leaves(student, *args)
    out = student.kl_diagonal.invoke(tuple(leaves), keep=True).value
    grad_out = torch.linspace(0.5, 1.5, max(want.numel(), 1), dtype=mu.dtype).reshape(want.shape)
    grads = kernel_gradients(student, out, leaves[:2], grad_out)
    expected_mu, expected_log_var = [
        torch.autograd.grad(ref_kl(*ts), ts[:2], grad_out.double())
        for ts in [tuple(t.double().requires_grad_() for t in args)]][0]
    for got, want_grad, name in zip(grads, [expected_mu, expected_log_var],
                                    ["the KL's gradient w.r.t. mu", "the KL's gradient w.r.t. log_var"]):
        expect(got is not None, f"{name} is None")
        expect_close(got, want_grad.expand(tuple(mu.shape)), name, **tolerance(mu.dtype))


@judge.part("test_reparam")
def reparam(student, draw):
    with case("the visible examples: KL(N(0, 4) || N(0, 1)), KL(N(1, 1) || N(3, 4))"):
        check_kl(student, torch.tensor([[0.0], [1.0]]), torch.tensor([[math.log(4.0)], [0.0]]),
                 torch.tensor([[0.0], [3.0]]), torch.tensor([[0.0], [math.log(4.0)]]))
    with case("the visible example: mu = (0.5, -1, 2), log_var = (0, 2, -2)"):
        check_reparameterise(student, torch.tensor([0.5, -1.0, 2.0]), torch.tensor([0.0, 2.0, -2.0]), 0)
    for number in range(6):
        dtype = DTYPES[number % 2]
        shape = tuple(draw.int(1, 5) for _ in range(draw.int(1, 3))) + (draw.int(1, 20),)
        mu, log_var = draw.randn(*shape, dtype=dtype), draw.randn(*shape, dtype=dtype) * 2
        with case("reparameterise on random inputs", shape=shape, dtype=dtype):
            check_reparameterise(student, mu, log_var, draw.new_seed())
        prior_shape = shape[-1:] if number % 3 else shape
        prior_mu, prior_log_var = draw.randn(*prior_shape, dtype=dtype), draw.randn(*prior_shape, dtype=dtype)
        with case("kl_diagonal on random inputs", shape=shape, prior_shape=prior_shape, dtype=dtype):
            check_kl(student, mu, log_var, prior_mu, prior_log_var)
    with case("kl_diagonal with the standard prior", shape=(4, 7)):
        mu, log_var = draw.randn(4, 7, dtype=torch.float64), draw.randn(4, 7, dtype=torch.float64)
        check_kl(student, mu, log_var, torch.zeros(7, dtype=torch.float64), torch.zeros(7, dtype=torch.float64))


# ---------------------------------------------------------------- Part 2

PIXEL_MEAN = "the reconstruction term is averaged over the pixels instead of summed"
BETA_ON_RECONSTRUCTION = "β multiplies the reconstruction term instead of the KL term"
SIGMOID_THEN_LOG = "the BCE is computed as log(sigmoid(logits)) in two steps (unstable: log 0 for large logits)"


def ref_vae_loss(x, logits, mu, log_var, beta, mistake=None):
    x, logits, mu, log_var = (t.double() for t in (x, logits, mu, log_var))
    if mistake == SIGMOID_THEN_LOG:
        per_pixel = F.binary_cross_entropy(torch.sigmoid(logits), x, reduction="none")  # log clamped at -100
    else:
        per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
    flat = per_pixel.flatten(1)
    reconstruction = flat.mean(dim=1) if mistake == PIXEL_MEAN else flat.sum(dim=1)
    divergence = (0.5 * (log_var.exp() - log_var - 1 + mu.square())).sum(dim=1)
    if mistake == BETA_ON_RECONSTRUCTION:
        return (beta * reconstruction + divergence).mean()
    return (reconstruction + beta * divergence).mean()


def check_vae_loss(student, x, logits, mu, log_var, beta) -> None:
    args = (x, logits, mu, log_var, beta)
    call = student.vae_loss.invoke(args, return_args=True)
    expect_tensor(call.value, "vae_loss(...)", dtype=x.dtype, shape=())
    if not torch.isfinite(call.value).all():
        fail("vae_loss(...) is not finite for these logits", SIGMOID_THEN_LOG)
    scale = max(1.0, abs(ref_vae_loss(*args).item()))
    tol = {"atol": 1e-4 * scale, "rtol": 1e-4} if x.dtype == torch.float32 else {"atol": 1e-9 * scale, "rtol": 1e-9}
    expect_close(call.value, ref_vae_loss(*args), "the loss", **tol,
                 mistakes={label: ref_vae_loss(*args, label)
                           for label in (PIXEL_MEAN, BETA_ON_RECONSTRUCTION, SIGMOID_THEN_LOG)})
    expect(all(torch.equal(a, b) for a, b in zip(call.args[:4], args[:4])), "vae_loss modified its inputs")
    leaves = kernel_leaves(student, logits, mu, log_var)
    out = student.vae_loss.invoke((x, *leaves, beta), keep=True).value
    grads = kernel_gradients(student, out, leaves, torch.tensor(1.0, dtype=x.dtype))
    mine = [t.double().requires_grad_() for t in (logits, mu, log_var)]
    wanted = torch.autograd.grad(ref_vae_loss(x, *mine, beta), mine)
    for got, want, name in zip(grads, wanted, ["logits", "mu", "log_var"]):
        expect(got is not None, f"the loss's gradient w.r.t. {name} is None")
        expect(bool(torch.isfinite(got).all()), f"the loss's gradient w.r.t. {name} is not finite")
        expect_close(got, want, f"the loss's gradient w.r.t. {name}", **tol)


@judge.part("test_vae_loss")
def vae_loss(student, draw):
    with case("the visible example: 4 pixels, logits 0, mu = (1, 0), beta = 3"):
        check_vae_loss(student, torch.tensor([[0.0, 1.0, 0.5, 1.0]]), torch.zeros(1, 4),
                       torch.tensor([[1.0, 0.0]]), torch.zeros(1, 2), 3.0)
    with case("the visible example: logits ±1e4"):
        check_vae_loss(student, torch.tensor([[1.0, 0.0, 0.0, 1.0]]), torch.tensor([[1e4, -1e4, 1e4, -1e4]]),
                       torch.zeros(1, 2), torch.zeros(1, 2), 1.0)
    for number in range(8):
        dtype = DTYPES[number % 2]
        batch, latent = draw.int(1, 6), draw.int(1, 8)
        shape = (batch, 1, draw.int(1, 6), draw.int(1, 6)) if number % 3 else (batch, draw.int(1, 30))
        x = draw.rand(*shape, dtype=dtype)
        if number % 2:
            x = (x > 0.5).to(dtype)  # binary targets, as for binarised MNIST
        logits = draw.randn(*shape, dtype=dtype) * (3.0 if number < 5 else 1e4)
        beta = draw.choice([0.0, 0.5, 1.0, 4.0])
        with case("random inputs", x=shape, latent=latent, beta=beta, dtype=dtype, huge_logits=number >= 5):
            check_vae_loss(student, x, logits, draw.randn(batch, latent, dtype=dtype),
                           draw.randn(batch, latent, dtype=dtype), beta)


# ---------------------------------------------------------------- Part 3

SATURATING = "the generator minimises log(1 - D(G(z))) (the saturating loss) instead of -log D(G(z))"
NOT_DETACHED = "the fakes are not detached in D's step, so D's loss leaks gradients into G's update"
NO_ZERO_GRAD = "the gradients are not zeroed before each backward (stale gradients are used)"


def mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out, dtype=torch.float64))
        if k < len(sizes) - 2:
            layers.append(nn.LeakyReLU(0.2))
    return nn.Sequential(*layers)


def ref_gan_step(g, d, g_opt, d_opt, real, noise, mistake=None):
    """The step, here, on local modules; `mistake` gives a catalogued wrong one."""
    fake = g(noise)
    if mistake != NO_ZERO_GRAD:
        d_opt.zero_grad()
        if mistake == NOT_DETACHED:
            g_opt.zero_grad()
    on_real = d(real)
    on_fake = d(fake if mistake == NOT_DETACHED else fake.detach())
    loss_of_d = (F.binary_cross_entropy_with_logits(on_real, torch.ones_like(on_real))
                 + F.binary_cross_entropy_with_logits(on_fake, torch.zeros_like(on_fake)))
    loss_of_d.backward(retain_graph=mistake == NOT_DETACHED)
    d_opt.step()
    after = d(fake)
    if mistake == SATURATING:
        loss_of_g = -F.binary_cross_entropy_with_logits(after, torch.zeros_like(after))
    else:
        loss_of_g = F.binary_cross_entropy_with_logits(after, torch.ones_like(after))
    if mistake not in (NO_ZERO_GRAD, NOT_DETACHED):
        g_opt.zero_grad()
    loss_of_g.backward()
    g_opt.step()
    return loss_of_d.item(), loss_of_g.item()


class Players:
    """G and D with SGD with momentum, here and (the same weights) in the kernel."""

    def __init__(self, student, draw, sizes_g: list[int], sizes_d: list[int], lr: float):
        self.student = student
        self.local = {"g": mlp(sizes_g), "d": mlp(sizes_d)}
        self.remote, self.remote_params = {}, {}
        getattr_ = student.module("builtins.getattr")
        for key, net in self.local.items():
            for p in net.parameters():
                with torch.no_grad():
                    p.copy_(draw.randn(*p.shape, dtype=torch.float64) / max(1, p.shape[-1]) ** 0.5)
            layers = []
            for piece in net:
                if type(piece) is nn.Linear:
                    layers.append(student.module("torch.nn.Linear").invoke(
                        (piece.in_features, piece.out_features), {"dtype": torch.float64}, keep=True).value)
                else:
                    layers.append(student.module("torch.nn.LeakyReLU").invoke((0.2,), keep=True).value)
            remote = student.module("torch.nn.Sequential").invoke(tuple(layers), keep=True).value
            remote.attr("load_state_dict")(dict(net.state_dict()))
            self.remote[key] = remote
            self.remote_params[key] = [getattr_.invoke((layer, name), keep=True).value
                                       for layer in layers if layer.type_name.endswith("Linear")
                                       for name in ("weight", "bias")]
        self.local_opt = {key: torch.optim.SGD(net.parameters(), lr=lr, momentum=0.9)
                          for key, net in self.local.items()}
        self.remote_opt = {key: student.module("torch.optim.SGD").invoke(
            (remote.attr("parameters").invoke((), keep=True).value,), {"lr": lr, "momentum": 0.9}, keep=True).value
            for key, remote in self.remote.items()}

    def plant(self, draw) -> None:
        """The same stale gradients on every parameter, here and in the kernel."""
        for key, net in self.local.items():
            for p, remote in zip(net.parameters(), self.remote_params[key]):
                p.grad = draw.randn(*p.shape, dtype=torch.float64)
                remote.set("grad", p.grad.clone())

    def remote_vector(self, key: str) -> torch.Tensor:
        return self.student.module("torch.nn.utils.parameters_to_vector").invoke(
            (self.remote[key].attr("parameters")(),), no_grad=True).value


def run_gan_case(student, draw, sizes_g, sizes_d, batch, steps, lr) -> None:
    players = Players(student, draw, sizes_g, sizes_d, lr)
    shadows = {}
    for label in (SATURATING, NOT_DETACHED, NO_ZERO_GRAD):
        g, d = mlp(sizes_g), mlp(sizes_d)
        g.load_state_dict(players.local["g"].state_dict())
        d.load_state_dict(players.local["d"].state_dict())
        shadows[label] = (g, d, torch.optim.SGD(g.parameters(), lr=lr, momentum=0.9),
                          torch.optim.SGD(d.parameters(), lr=lr, momentum=0.9))
    players.plant(draw)
    for g, d, _, _ in shadows.values():
        for p, q in zip([*g.parameters(), *d.parameters()],
                        [*players.local["g"].parameters(), *players.local["d"].parameters()]):
            p.grad = q.grad.clone()
    for step in range(steps):
        real = draw.randn(batch, sizes_d[0], dtype=torch.float64) + 1.5
        noise = draw.randn(batch, sizes_g[0], dtype=torch.float64)
        with case(f"step {step + 1} of {steps}"):
            got = student.gan_step(players.remote["g"], players.remote["d"], players.remote_opt["g"],
                                   players.remote_opt["d"], real, noise)
            expect_type(got, tuple, "gan_step(...)")
            expect(len(got) == 2 and all(type(v) is float for v in got),
                   "gan_step returns (d_loss, g_loss) as two Python floats")
            want = ref_gan_step(players.local["g"], players.local["d"], players.local_opt["g"],
                                players.local_opt["d"], real, noise)
            wrong = {label: ref_gan_step(*shadow[:2], shadow[2], shadow[3], real, noise, label)
                     for label, shadow in shadows.items()}
            after_d, after_g = players.remote_vector("d"), players.remote_vector("g")
            expect_close(after_d, nn.utils.parameters_to_vector(players.local["d"].parameters()).detach(),
                         "D's parameters after the step", atol=1e-9, rtol=1e-9,
                         mistakes={label: nn.utils.parameters_to_vector(s[1].parameters()).detach()
                                   for label, s in shadows.items()})
            expect_close(after_g, nn.utils.parameters_to_vector(players.local["g"].parameters()).detach(),
                         "G's parameters after the step", atol=1e-9, rtol=1e-9,
                         mistakes={label: nn.utils.parameters_to_vector(s[0].parameters()).detach()
                                   for label, s in shadows.items()})
            expect_close(got[0], want[0], "d_loss", atol=1e-9, rtol=1e-9)
            expect_close(got[1], want[1], "g_loss", atol=1e-9, rtol=1e-9,
                         mistakes={SATURATING: wrong[SATURATING][1]})


@judge.part("test_gan_step")
def gan_step(student, draw):
    with case("a fixed pair of small MLPs", G="2-4-3", D="3-4-1", batch=4):
        run_gan_case(student, draw, [2, 4, 3], [3, 4, 1], batch=4, steps=2, lr=0.1)
    for _ in range(3):
        sizes_g = [draw.int(1, 4), draw.int(2, 8), draw.int(1, 6)]
        sizes_d = [sizes_g[-1], draw.int(2, 8), 1]
        batch = draw.int(1, 8)
        with case("random MLPs", G=sizes_g, D=sizes_d, batch=batch):
            run_gan_case(student, draw, sizes_g, sizes_d, batch=batch, steps=3, lr=draw.choice([0.05, 0.2]))


# ---------------------------------------------------------------- Part 4

NO_CROSS_TERM = "the cross term -2 Tr((Σa Σb)^½) is missing"
ELEMENTWISE_ROOT = "the square root of Σa Σb is taken elementwise instead of as a matrix square root"
BIASED_COV = "the covariances divide by N instead of N - 1"


def psd_root(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def ref_frechet(a: torch.Tensor, b: torch.Tensor, mistake: str | None = None) -> float:
    a, b = a.double(), b.double()
    correction = 0 if mistake == BIASED_COV else 1

    def cov(x):
        centred = x - x.mean(0)
        return centred.T @ centred / (len(x) - correction)

    cov_a, cov_b = cov(a), cov(b)
    if mistake == NO_CROSS_TERM:
        cross = torch.tensor(0.0, dtype=torch.float64)
    elif mistake == ELEMENTWISE_ROOT:
        cross = (cov_a @ cov_b).sqrt().trace()
    else:
        root = psd_root(cov_a)
        middle = root @ cov_b @ root
        cross = torch.linalg.eigvalsh(0.5 * (middle + middle.T)).clamp(min=0).sqrt().sum()
    return ((a.mean(0) - b.mean(0)).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross).item()


def check_frechet(student, a, b, check_inputs: bool = False) -> None:
    call = student.frechet_distance.invoke((a, b), record_ops=True, return_args=check_inputs)
    expect_no_ops(call.ops, GENERAL_EIG, "frechet_distance (a general eigensolver: use eigh on symmetric matrices)")
    expect_type(call.value, float, "frechet_distance(...)")
    want = ref_frechet(a, b)
    scale = max(1.0, ref_frechet(a, b, NO_CROSS_TERM))
    loose = 1e-4 if torch.float32 in (a.dtype, b.dtype) else 1e-6
    expect_close(call.value, want, "the Fréchet distance", atol=loose * scale, rtol=loose,
                 mistakes={label: ref_frechet(a, b, label) for label in (NO_CROSS_TERM, ELEMENTWISE_ROOT, BIASED_COV)})
    if check_inputs:
        expect(torch.equal(call.args[0], a) and torch.equal(call.args[1], b), "frechet_distance modified its inputs")


def random_features(draw, n: int, d: int, rank: int, dtype: torch.dtype) -> torch.Tensor:
    """n rows of d features spanning `rank` directions, with a constant and a duplicated column."""
    x = draw.randn(n, rank, dtype=torch.float64) @ draw.randn(rank, d, dtype=torch.float64) + draw.randn(d) * 2
    if d >= 3:
        x[:, 0] = 0.7  # a constant column
        x[:, 1] = x[:, 2]  # a duplicated column
    return x.to(dtype)


@judge.part("test_frechet")
def frechet(student, draw):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(50, 3, generator=g, dtype=torch.float64) @ torch.randn(3, 3, generator=g, dtype=torch.float64)
    x = x - x.mean(dim=0)
    with case("the visible example: x against 2x + 1"):
        check_frechet(student, x, 2 * x + 1, check_inputs=True)
    with case("the visible example: 1-D sets"):
        check_frechet(student, torch.tensor([[0.0], [2.0]]), torch.tensor([[4.0], [8.0], [6.0]]))
    for number in range(10):
        dtype = DTYPES[number % 2]
        d = draw.int(1, 24)
        na, nb = draw.int(2, 40), draw.int(2, 40)
        a = random_features(draw, na, d, draw.int(1, d), dtype)
        b = random_features(draw, nb, d, draw.int(1, d), dtype)
        with case("random features", Na=na, Nb=nb, D=d, dtype=dtype, singular=min(na, nb) <= d):
            check_frechet(student, a, b, check_inputs=number < 2)
            check_frechet(student, b, a)
        with case("a set against itself", N=na, D=d, dtype=dtype):
            check_frechet(student, a, a.clone())


# ---------------------------------------------------------------- Part 5

OWN_NEIGHBOUR = "a point is counted as its own nearest neighbour (accuracy 1.0): leave it out"


def ref_one_nn(real: torch.Tensor, fake: torch.Tensor, mistake: str | None = None) -> float:
    pooled = torch.cat([real, fake]).double()
    labels = [0] * len(real) + [1] * len(fake)
    squared = ((pooled[:, None] - pooled[None]) ** 2).sum(-1).tolist()
    correct = 0
    for i, row in enumerate(squared):
        candidates = [(value, j) for j, value in enumerate(row) if j != i or mistake == OWN_NEIGHBOUR]
        correct += labels[min(candidates)[1]] == labels[i]
    return correct / len(pooled)


def check_one_nn(student, real, fake, check_inputs: bool = False) -> None:
    call = student.one_nn_accuracy.invoke((real, fake), return_args=check_inputs)
    expect_type(call.value, float, "one_nn_accuracy(...)")
    expect_close(call.value, ref_one_nn(real, fake), "the 1-NN accuracy", atol=1e-9, rtol=0,
                 mistakes={OWN_NEIGHBOUR: ref_one_nn(real, fake, OWN_NEIGHBOUR)})
    if check_inputs:
        expect(torch.equal(call.args[0], real) and torch.equal(call.args[1], fake),
               "one_nn_accuracy modified its inputs")


@judge.part("test_one_nn")
def one_nn(student, draw):
    with case("the visible example: interleaved points on a line, with ties"):
        check_one_nn(student, torch.tensor([[0.0], [2.0]]), torch.tensor([[1.0], [3.0]]), check_inputs=True)
    with case("the visible example: a duplicated real point and one fake"):
        check_one_nn(student, torch.tensor([[0.0], [0.0]]), torch.tensor([[0.1]]))
    for number in range(8):
        n_real, n_fake, d = draw.int(1, 30), draw.int(1, 30), draw.int(1, 4)
        real = draw.randint(-3, 4, (n_real, d)).float()  # small integers: exact distances, many ties
        fake = draw.randint(-2, 5, (n_fake, d)).float()
        with case("integer points: duplicates and exact ties", N_real=n_real, N_fake=n_fake, D=d):
            check_one_nn(student, real, fake, check_inputs=number < 2)
    for _ in range(4):
        n_real, n_fake, d = draw.int(1, 120), draw.int(1, 120), draw.int(1, 16)
        real = draw.randn(n_real, d, dtype=torch.float64)
        fake = draw.randn(n_fake, d, dtype=torch.float64) + draw.uniform(0, 1)
        with case("random points", N_real=n_real, N_fake=n_fake, D=d):
            check_one_nn(student, real, fake)
    with case("a set against its copy", N=20):
        x = draw.randn(20, 3, dtype=torch.float64)
        check_one_nn(student, x, x.clone())
