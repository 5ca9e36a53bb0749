"""TrainableCritic: predicts the discounted sum of future intrinsic cost from a latent state.

APTAMI's critic lets the actor see past its planning horizon (and is, per the essay, the second
place where out-of-distribution errors can be exploited). Trained by TD(lambda) on sequences
from short-term memory against a slowly moving target network; `terminated` stops
bootstrapping, `truncated` (the fixed episode length) bootstraps from the last real observation.
"""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp

from .config import CriticConfig
from .nets import MLP, ensemble, ensemble_apply


class TrainableCritic(eqx.Module):
    nets: MLP  # stacked ensemble

    def __init__(self, latent: int, cfg: CriticConfig, *, key):
        self.nets = ensemble(lambda k: MLP((latent, cfg.hidden, cfg.hidden, 1), key=k), cfg.ensemble, key)

    def all(self, z):
        return ensemble_apply(self.nets, z)[:, 0]

    def __call__(self, z):
        return self.all(z).mean()

    def features(self, z):
        """Every member's last hidden layer, concatenated: what a probe can read inside the critic."""
        def hidden(net):
            x = z
            for layer in net.layers[:-1]:
                x = jax.nn.silu(layer(x))
            return x

        return jax.vmap(hidden)(self.nets).reshape(-1)


def lambda_returns(costs, next_values, terminated, truncated, gamma, lam):
    """TD(lambda) targets along one sequence (arrays [L]): the last step bootstraps fully."""
    def back(g_next, x):
        c, v, term, trunc, last = x
        cont = jnp.where(trunc | last, v, (1 - lam) * v + lam * g_next)
        g = c + gamma * (1.0 - term) * cont
        return g, g

    last = jnp.zeros_like(terminated).at[-1].set(True)
    _, g = jax.lax.scan(back, jnp.zeros(()), (costs, next_values, terminated.astype(jnp.float32),
                                              truncated, last), reverse=True)
    return g


def discounted_to_go(costs, done, gamma):
    """Monte-Carlo discounted sum of the cost from each step to the end of its episode: what a critic's
    prediction is checked against (`done` marks each episode's last step)."""
    def back(g, x):
        c, d = x
        g = c + gamma * (1.0 - d) * g
        return g, g

    _, g = jax.lax.scan(back, jnp.zeros(()), (costs, done.astype(jnp.float32)), reverse=True)
    return g


def steps_left(done):
    """Steps from each step to the end of its episode, counting both (inf in an unfinished last episode)."""
    def back(n, d):
        n = jnp.where(d, 1.0, n + 1.0)
        return n, n

    _, left = jax.lax.scan(back, jnp.inf, done, reverse=True)
    return left


def at_episode_end(x, done):
    """Each step's episode's value of x at its last step (False in an unfinished last episode)."""
    def back(v, xd):
        v = jnp.where(xd[1], xd[0], v)
        return v, v

    _, out = jax.lax.scan(back, jnp.zeros((), x.dtype), (x, done), reverse=True)
    return out


def critic_loss(critic: TrainableCritic, target: TrainableCritic, z, zn, costs, terminated, truncated,
                cfg: CriticConfig):
    """z, zn: [B, L, D] latents of each step and of what followed (stop-gradient); costs [B, L]."""
    v_next = jax.vmap(jax.vmap(target))(zn)
    g = jax.vmap(lambda c, v, te, tr: lambda_returns(c, v, te, tr, cfg.gamma, cfg.lam))(
        costs, v_next, terminated, truncated)
    pred = jax.vmap(jax.vmap(critic.all))(z)                  # [B, L, K]
    loss = jnp.mean((pred - jax.lax.stop_gradient(g)[..., None]) ** 2)
    return loss, {"critic_loss": loss, "value_mean": pred.mean(), "target_mean": g.mean()}
