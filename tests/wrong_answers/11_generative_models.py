"""Assignment 11: a KL with σ where the formula has σ², a VAE loss that averages the reconstruction over the
pixels, a GAN step with the saturating generator loss, and an FID without its cross term. The 1-NN test is left
correct, so the submission keeps some points."""

WRONG_ANSWERS = {
    'reparam': """def reparameterise(mu, log_var, generator):
    eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
    return mu + torch.exp(0.5 * log_var) * eps


def kl_diagonal(mu, log_var, prior_mu, prior_log_var):
    std, prior_std = torch.exp(0.5 * log_var), torch.exp(0.5 * prior_log_var)
    return 0.5 * (prior_std.log() - std.log() + (std + (mu - prior_mu) ** 2) / prior_std - 1).sum(dim=-1)
""",
    'vae_loss': """def vae_loss(x, logits, mu, log_var, beta):
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="none").flatten(1).mean(dim=1)
    kl = 0.5 * (log_var.exp() - log_var - 1 + mu ** 2).sum(dim=1)
    return (reconstruction + beta * kl).mean()
""",
    'gan_step': """def gan_step(generator, discriminator, g_opt, d_opt, real, noise):
    fake = generator(noise)
    real_logits, fake_logits = discriminator(real), discriminator(fake.detach())
    d_loss = (F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
              + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))
    d_opt.zero_grad()
    d_loss.backward()
    d_opt.step()
    fooled = discriminator(fake)
    g_loss = torch.log(1 - torch.sigmoid(fooled)).mean()
    g_opt.zero_grad()
    g_loss.backward()
    g_opt.step()
    return d_loss.item(), g_loss.item()
""",
    'frechet': """def frechet_distance(features_a, features_b):
    a, b = features_a.double(), features_b.double()
    cov_a, cov_b = torch.cov(a.T).reshape(a.shape[1], -1), torch.cov(b.T).reshape(b.shape[1], -1)
    return ((a.mean(0) - b.mean(0)) ** 2).sum().item() + (cov_a.trace() + cov_b.trace()).item()
""",
}

MISTAKES = {
    'test_reparam': "the KL uses σ where the formula has σ² (and σ_p for σ_p²)",
    'test_vae_loss': "the reconstruction term is averaged over the pixels instead of summed",
    'test_gan_step': "the generator minimises log(1 - D(G(z))) (the saturating loss) instead of -log D(G(z))",
    'test_frechet': "the cross term -2 Tr((Σa Σb)^½) is missing",
}
