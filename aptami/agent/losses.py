"""Self-supervised losses for the JEPA world model, and the health measures of its latents.

- VICReg variance and covariance terms (Bardes et al.), as PLDM and Meta's eb_jepa use them to keep
  latents from collapsing, with a temporal-smoothness term and an inverse-dynamics term.
- SIGReg (LeJEPA, Balestriero & LeCun 2025): push the latent distribution towards an isotropic
  Gaussian by testing random 1-D projections against N(0, 1) with the Epps-Pulley statistic.
"""
from __future__ import annotations

import jax
import jax.numpy as jnp


def variance_loss(z, eps: float = 1e-4):
    """Mean hinge on each dimension's standard deviation over the batch: keep it at least 1."""
    std = jnp.sqrt(jnp.var(z, axis=0) + eps)
    return jnp.mean(jax.nn.relu(1.0 - std))


def covariance_loss(z):
    """Sum of squared off-diagonal covariances, over the dimension: decorrelate dimensions."""
    n, d = z.shape
    zc = z - z.mean(0)
    cov = zc.T @ zc / jnp.maximum(n - 1, 1)
    off = cov - jnp.diag(jnp.diag(cov))
    return jnp.sum(off**2) / d


def sigreg_loss(z, key, slices: int = 64, points: int = 17):
    """Epps-Pulley distance between random 1-D projections of z and N(0, 1), averaged over slices."""
    n, d = z.shape
    dirs = jax.random.normal(key, (d, slices))
    dirs = dirs / jnp.linalg.norm(dirs, axis=0, keepdims=True)
    h = z @ dirs                                        # [n, slices]
    t = jnp.linspace(-3.0, 3.0, points)                 # where the characteristic functions are compared
    ht = h[:, :, None] * t[None, None, :]               # [n, slices, points]
    ecf_re, ecf_im = jnp.cos(ht).mean(0), jnp.sin(ht).mean(0)
    target = jnp.exp(-0.5 * t**2)
    weight = jnp.exp(-0.5 * t**2)                       # Gaussian window
    dist = (ecf_re - target) ** 2 + ecf_im**2
    return jnp.mean(jnp.sum(dist * weight, -1) * (t[1] - t[0]) * n) / n


def temporal_loss(z, z_next, mask):
    return jnp.sum(mask * jnp.sum((z_next - z) ** 2, -1)) / jnp.maximum(mask.sum(), 1.0)


def cross_entropy(logits, labels):
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[..., None], -1)[..., 0]


# ----------------------------------------------------------------------------- health
def effective_rank(z):
    """exp(entropy of the normalised singular values): how many dimensions the latents really use."""
    zc = z - z.mean(0)
    s = jnp.linalg.svd(zc, compute_uv=False)
    p = s / jnp.maximum(s.sum(), 1e-12)
    return jnp.exp(-jnp.sum(jnp.where(p > 0, p * jnp.log(jnp.maximum(p, 1e-12)), 0.0)))


def latent_health(z) -> dict:
    std = jnp.std(z, axis=0)
    return {"std_mean": std.mean(), "std_min": std.min(), "dims_alive": jnp.sum(std > 0.1),
            "effective_rank": effective_rank(z), "latent_dim": jnp.asarray(z.shape[1])}
