"""WorldModel: a JEPA predictor in latent space, with read-out heads the Intrinsic Cost can use.

    z_t = Perception(o_t)          z_{t+1} ~ Predictor(z_t, a_t)        (no pixels are predicted)

The predictor is trained self-supervised on the robot's own experience with a multi-step
rollout loss against the encodings of what it then saw, kept from collapsing by VICReg
(variance, covariance, plus PLDM's temporal and inverse-dynamics terms) or SIGReg. Heads read
proprioception and the sensor channels out of latents, so the IC can be evaluated on imagined
states; they are trained on observed sensors, never on hidden truth. A channel that is the change
of a level (cost.CHANGE_OF) is read as the difference of that level at the two states, so it
telescopes along an imagined rollout; the level is the hard-wired function of the imagined
proprioception (cost.LEVEL_OF_PROPRIO). An ensemble of predictors gives disagreement.
"""
from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from ..env.types import N_ACTIONS, POSE_SCALE, POSE_SLICE, PROPRIO_SIZE
from . import losses as L
from .config import PerceptionConfig, WorldModelConfig
from .cost import CHANGE_OF, LEVEL_OF_PROPRIO, N_SENSORS, SENSOR_INDEX, Percept
from .nets import MLP, ensemble, ensemble_apply

_CHANGE = np.array([SENSOR_INDEX[c] for c in CHANGE_OF])
_LEVEL = np.array([SENSOR_INDEX[v] for v in CHANGE_OF.values()])
_TASK = SENSOR_INDEX["task"]


def levels(proprio):
    """The levels of cost.CHANGE_OF (in its order) from proprioception."""
    return jnp.stack([LEVEL_OF_PROPRIO[v](proprio) for v in CHANGE_OF.values()])


class Predictor(eqx.Module):
    """Residual MLP: z' = z + f([z, a]). With a body network, the body part of the latent (its last
    PROPRIO_SIZE entries, proprioception x gain) is predicted by an MLP of its own instead."""

    net: MLP
    body: MLP | None

    def __init__(self, latent: int, hidden: int, n_actions: int = N_ACTIONS, body: bool = False, *, key):
        k_net, k_body = jax.random.split(key)
        self.net = MLP((latent + n_actions, hidden, hidden, latent), key=k_net)
        self.body = MLP((latent + n_actions, hidden, hidden, PROPRIO_SIZE), key=k_body) if body else None

    def __call__(self, z, a_vec):
        x = jnp.concatenate([z, a_vec])
        out = z + self.net(x)
        if self.body is None:
            return out
        return out.at[-PROPRIO_SIZE:].set(z[-PROPRIO_SIZE:] + self.body(x))


class WorldModel(eqx.Module):
    encoder: eqx.Module
    predictor: Predictor          # stacked: leading axis = ensemble member
    proprio_head: MLP
    sensor_head: MLP
    idm: MLP

    def __init__(self, pcfg: PerceptionConfig, cfg: WorldModelConfig, frame_shape, tile_px: int,
                 n_actions: int = N_ACTIONS, *, key):
        from .perception import Perception

        ke, kp, kh, ks, ki = jax.random.split(key, 5)
        d = pcfg.latent
        self.encoder = Perception(pcfg, frame_shape, PROPRIO_SIZE, tile_px, key=ke)
        self.predictor = ensemble(lambda k: Predictor(d, cfg.hidden, n_actions, cfg.body_net, key=k), cfg.ensemble,
                                  kp)
        self.proprio_head = MLP((d, 128, PROPRIO_SIZE), key=kh)
        self.sensor_head = MLP((2 * d + n_actions, cfg.hidden, cfg.hidden, N_SENSORS), key=ks)
        self.idm = MLP((2 * d, 128, n_actions), key=ki)

    @property
    def n_actions(self) -> int:
        return self.idm.layers[-1].out_features

    # ------------------------------------------------------------------ use
    def encode(self, frame, proprio):
        return self.encoder(frame, proprio)

    def predict_all(self, z, a_vec):
        """Every ensemble member's next latent, [K, D]."""
        return ensemble_apply(self.predictor, z, a_vec)

    def predict_each(self, zs, a_vec):
        """Member k steps its own latent zs[k]: [K, D] -> [K, D] (ensemble rollouts)."""
        return jax.vmap(lambda m, z: m(z, a_vec))(self.predictor, zs)

    def predict(self, z, a_vec):
        return self.predict_all(z, a_vec).mean(0)

    def read(self, z, a_vec, z_next, proprio_now=None):
        """The sensors of the step z --a--> z_next, and proprioception at z_next. Levels are those of
        the proprioception read off z_next, and their changes are level(z_next) - level(z).
        `proprio_now`: body_sense(z) when the caller has it already (the planner carries it)."""
        sensors = self.sensor_head(jnp.concatenate([z, a_vec, z_next]))
        proprio_next = self.body_sense(z_next)
        proprio_now = self.body_sense(z) if proprio_now is None else proprio_now
        level, level_next = levels(proprio_now), levels(proprio_next)
        sensors = sensors.at[_LEVEL].set(level_next).at[_CHANGE].set(level_next - level)
        return sensors, proprio_next

    @property
    def body_net(self) -> bool:
        return self.predictor.body is not None

    def body_sense(self, z):
        """Proprioception at a latent: the latent's own body part when a body network predicts it
        (world_model.body_net), else the read-out head."""
        if self.body_net:
            from .perception import PROPRIO_GAIN

            return z[..., -PROPRIO_SIZE:] / jnp.asarray(PROPRIO_GAIN)
        return self.proprio_head(z)

    def imagine(self, z, a_vec, proprio_now=None):
        """One imagined step: the next latent, the percept the IC reads, and ensemble disagreement."""
        zs = self.predict_all(z, a_vec)
        z_next = zs.mean(0)
        sensors, proprio = self.read(z, a_vec, z_next, proprio_now)
        disagreement = jnp.mean(jnp.var(zs, axis=0)) if zs.shape[0] > 1 else jnp.zeros(())
        return z_next, Percept(sensors, proprio, z_next), disagreement


def world_model_loss(wm: WorldModel, batch: dict, cfg: WorldModelConfig, key):
    """Self-supervised JEPA loss on a batch of memory sequences; returns (loss, metrics).

    batch: frames/next_frames [B, L, H, W, 3], proprio/next_proprio [B, L, P], actions [B, L],
    sensors [B, L, S], done [B, L] (terminated or truncated at that step).
    """
    b, length = batch["actions"].shape
    enc = jax.vmap(jax.vmap(wm.encode))
    z = enc(batch["frames"], batch["proprio"])                       # [B, L, D]
    if cfg.stop_grad_target:
        zn = jax.lax.stop_gradient(enc(batch["next_frames"], batch["next_proprio"]))
    else:
        zn = enc(batch["next_frames"], batch["next_proprio"])        # [B, L, D] what was seen next
    target = zn
    a_vec = jax.nn.one_hot(batch["actions"], wm.n_actions)
    # still in the same episode as the first step of the sequence?
    alive = jnp.cumprod(jnp.concatenate([jnp.ones((b, 1)), 1.0 - batch["done"][:, :-1]], 1), 1)

    # one-step prediction from every encoded state, every ensemble member
    pred1 = jax.vmap(jax.vmap(wm.predict_all))(z, a_vec)              # [B, L, K, D]
    one_step = jnp.mean((pred1 - target[:, :, None]) ** 2)

    # multi-step rollout from the first state of each sequence
    steps = min(cfg.rollout, length)

    def roll(zk, k):
        nxt = jax.vmap(wm.predict_each)(zk, a_vec[:, k])               # [B, K, D]
        return nxt, nxt

    _, preds = jax.lax.scan(roll, jnp.repeat(z[:, 0][:, None], pred1.shape[2], 1), jnp.arange(steps))
    preds = jnp.swapaxes(preds, 0, 1)                                 # [B, steps, K, D]
    err = jnp.mean((preds - target[:, :steps, None]) ** 2, axis=(2, 3))
    multi = jnp.sum(err * alive[:, :steps]) / jnp.maximum(alive[:, :steps].sum(), 1.0)

    flat = z.reshape(b * length, -1)
    if cfg.regularizer == "vicreg":
        reg = cfg.var_weight * L.variance_loss(flat) + cfg.cov_weight * L.covariance_loss(flat)
    else:
        reg = cfg.sigreg_weight * L.sigreg_loss(flat, key, cfg.sigreg_slices)
    temporal = L.temporal_loss(z, zn, jnp.ones((b, length)))
    idm = jnp.mean(L.cross_entropy(jax.vmap(jax.vmap(wm.idm))(jnp.concatenate([z, zn], -1)), batch["actions"]))

    # read-out heads: on encoded states, and on the predictor's own one-step predictions
    pm = pred1.mean(2)
    s_hat = jax.vmap(jax.vmap(lambda zz, aa, zp: wm.read(zz, aa, zp)[0]))(z, a_vec, pm)
    p_hat = jax.vmap(jax.vmap(wm.proprio_head))(zn)
    p_hat_pred = jax.vmap(jax.vmap(wm.proprio_head))(pm)
    def proprio_err(ph, real):  # per step: mean squared error, plus the pose's in cells (cfg.pose_weight)
        pose = (ph[..., POSE_SLICE] - real[..., POSE_SLICE]) * POSE_SCALE
        return jnp.mean((ph - real) ** 2, -1) + cfg.pose_weight * jnp.mean(pose ** 2, -1)

    def task_err(sh, real):  # per step: the task channel's squared error, weighted (cfg.task_weight)
        return cfg.task_weight * (sh[..., _TASK] - real[..., _TASK]) ** 2

    heads = (jnp.mean((s_hat - batch["sensors"]) ** 2) + jnp.mean(proprio_err(p_hat, batch["next_proprio"]))
             + jnp.mean(proprio_err(p_hat_pred, batch["next_proprio"])))
    # ... and along the multi-step rollout, where the planner reads them: a head trained only on
    # one-step predictions meets imagined latents it never saw and the planner finds its errors
    roll_z = preds.mean(2)                                            # [B, steps, D]
    prev_z = jnp.concatenate([z[:, :1], roll_z[:, :-1]], 1)
    s_roll = jax.vmap(jax.vmap(lambda zz, aa, zp: wm.read(zz, aa, zp)[0]))(prev_z, a_vec[:, :steps], roll_z)
    s_err = jnp.mean((s_roll - batch["sensors"][:, :steps]) ** 2, axis=2)
    if cfg.task_weight:
        heads = heads + jnp.mean(task_err(s_hat, batch["sensors"]))
        s_err = s_err + task_err(s_roll, batch["sensors"][:, :steps])
    # the imagined proprioception too: the IC's levels are computed from it (cost.LEVEL_OF_PROPRIO)
    p_roll = jax.vmap(jax.vmap(wm.proprio_head))(roll_z)
    s_err = s_err + proprio_err(p_roll, batch["next_proprio"][:, :steps])
    if wm.body_net:  # the body network's own error, in proprioception's units (pose in cells)
        s_err = s_err + proprio_err(wm.body_sense(roll_z), batch["next_proprio"][:, :steps])
        heads = heads + jnp.mean(proprio_err(wm.body_sense(pm), batch["next_proprio"]))
    heads = heads + cfg.rollout_weight * jnp.sum(s_err * alive[:, :steps]) / jnp.maximum(alive[:, :steps].sum(), 1.0)

    loss = (one_step + cfg.rollout_weight * multi + reg + cfg.temporal_weight * temporal + cfg.idm_weight * idm
            + cfg.head_weight * heads)
    metrics = {"z": jax.lax.stop_gradient(z), "zn": jax.lax.stop_gradient(zn), "wm_loss": loss,
               "pred_1step": one_step, "pred_multi": multi, "reg": reg,
               "temporal": temporal, "idm": idm, "heads": heads, "latent_std": jnp.std(flat, 0).mean()}
    return loss, metrics
