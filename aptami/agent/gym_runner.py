"""The agent on any Gymnasium world with image observations and discrete actions.

A host-side loop (the environment is not JAX): each step one jitted call perceives and plans
with the learned world model (Mode-2), the environment steps, one jitted call evaluates the
Intrinsic Cost (the reward is the task term: cost = -reward) and writes memory, and every
`learn_every` steps a jitted update trains the world model, critic and policy. Images of any
size are resized to the agent's 28x28 camera.
"""
from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from PIL import Image

from ..env.types import PROPRIO_SIZE
from .agent import Agent, AgentState
from .config import AgentConfig, TrainConfig
from .cost import N_SENSORS, SENSOR_INDEX, Percept
from .oracle import LearnedModel

IMAGE_KEYS = ("image", "frame", "pixels", "rgb")


class GymAgent(Agent):
    """The APTAMI agent without the house: a frame, no proprioception, the reward as task progress."""

    def __init__(self, cfg: AgentConfig, n_actions: int, frame_shape=(28, 28, 3), tile_px: int = 4):
        if cfg.train.world_model != "learned":
            raise ValueError("outside the house only the learned world model exists: set train.world_model='learned'")
        self.cfg = cfg.check()
        self.house, self.env_params = None, None
        self.n_actions, self.frame_shape, self.tile_px = int(n_actions), tuple(frame_shape), tile_px
        self.has_goal = False
        self._setup(())


def to_frame(obs, shape=(28, 28, 3)) -> np.ndarray:
    """The image in an observation (an array, or a dict holding one), resized to the camera's shape."""
    img = obs
    if isinstance(obs, dict):
        keys = [k for k in IMAGE_KEYS if k in obs]
        if not keys:
            raise ValueError(f"observation dict has no image under any of {IMAGE_KEYS}: keys {list(obs)}")
        img = obs[keys[0]]
    img = np.asarray(img)
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, -1)
    if img.ndim != 3 or img.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected an image observation [H, W, C], got shape {img.shape}")
    img = img[..., :3] if img.shape[-1] >= 3 else np.repeat(img, 3, -1)
    if img.dtype != np.uint8:
        img = np.clip(img * (255 if img.max() <= 1.0 else 1), 0, 255).astype(np.uint8)
    return np.asarray(Image.fromarray(img).resize(shape[:2][::-1], Image.BILINEAR))


def run(env, steps: int, cfg: AgentConfig | None = None, seed: int = 0, prefill: int = 200,
        learn_every: int = 1, progress: bool = False) -> dict:
    """Live `steps` steps in `env`; returns the episode returns, the IC per step and the final state."""
    import gymnasium

    if not isinstance(env.action_space, gymnasium.spaces.Discrete):
        raise ValueError(f"the agent needs a Discrete action space, got {env.action_space}")
    cfg = cfg or AgentConfig(train=TrainConfig(capacity=max(2 * steps, 64), prefill_steps=0, pretrain_updates=0))
    if cfg.planner.gate_task:
        raise ValueError("planner.gate_task reads the house robot's body sense (its target pose); a Gymnasium "
                         "env has none: allowed here: planner.gate_task=false")
    agent = GymAgent(cfg, env.action_space.n)
    state = agent.init(jax.random.key(seed))
    weights = agent.configurator.base
    task_i = SENSOR_INDEX["task"]

    @jax.jit
    def act(st: AgentState, frame, explore):
        key, k_plan, k_rand = jax.random.split(st.key, 3)
        z = st.wm.encode(frame, jnp.zeros(PROPRIO_SIZE))
        model = LearnedModel(st.wm, agent.novelty_of_latent, st.counts)
        from .actor import plan

        a, probs, info = plan(k_plan, model, z, st.plan_probs, lambda p: st.ic(p, weights)[0],
                              st.critic if cfg.planner.use_critic else None,
                              st.policy if cfg.planner.policy_samples else None, cfg.planner)
        a = jnp.where(explore, jax.random.randint(k_rand, (), 0, agent.n_actions), a)
        return st._replace(key=key, plan_probs=probs), a, z

    @partial(jax.jit, donate_argnums=0)
    def remember(st: AgentState, frame, action, next_frame, reward, terminated, truncated, z):
        zeros = jnp.zeros(PROPRIO_SIZE)
        z_next = st.wm.encode(next_frame, zeros)
        sensors = jnp.zeros(N_SENSORS).at[task_i].set(reward)
        cost, terms = st.ic(Percept(sensors, zeros, z_next), weights)
        mem = st.memory.add(frames=frame, proprio=zeros, next_frames=next_frame, next_proprio=zeros,
                            actions=action, planned=True, sensors=sensors, cost=cost, terms=terms, latent=z,
                            terminated=terminated, truncated=truncated)
        return st._replace(memory=mem, env_steps=st.env_steps + 1), cost

    learn = jax.jit(agent.learn, donate_argnums=0)
    obs, _ = env.reset(seed=seed)
    frame = to_frame(obs, agent.frame_shape)
    returns, ep_return, costs = [], 0.0, []
    rng = np.random.default_rng(seed)
    it = range(steps)
    if progress:
        from tqdm import tqdm

        it = tqdm(it, desc="gym agent", unit="step")
    for t in it:
        state, action, z = act(state, frame, jnp.bool_(t < prefill or rng.random() < cfg.planner.epsilon))
        obs, reward, terminated, truncated, _ = env.step(int(action))
        next_frame = to_frame(obs, agent.frame_shape)
        state, cost = remember(state, frame, action, next_frame, float(reward), bool(terminated), bool(truncated), z)
        costs.append(float(cost))
        ep_return += float(reward)
        frame = next_frame
        if terminated or truncated:
            returns.append(ep_return)
            ep_return = 0.0
            obs, _ = env.reset()
            frame = to_frame(obs, agent.frame_shape)
            state = state._replace(plan_probs=jnp.full_like(state.plan_probs, 1.0 / agent.n_actions))
        if t >= prefill and t % learn_every == 0 and t > cfg.train.seq_len + 1:
            state, _ = learn(state)
    return {"episode_returns": returns, "costs": costs, "state": state, "agent": agent}
