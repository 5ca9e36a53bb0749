"""The APTAMI agent: every module of the paper, in JAX.

Perception, WorldModel (JEPA), OracleWorldModel, IntrinsicCost, Configurator, ShortTermMemory,
TrainableCritic, Actor (Mode-2 planners, Mode-1 policy), and the Agent loop that ties them.
"""
from .agent import Agent, AgentState, trainable
from .config import (
                     AgentConfig,
                     ConfigError,
                     CostConfig,
                     CriticConfig,
                     PerceptionConfig,
                     PlannerConfig,
                     TrainConfig,
                     WorldModelConfig,
                     from_dict,
                     preset,
                     to_dict,
                     with_overrides,
)
from .configurator import Configurator
from .cost import (
                     SENSORS,
                     TERM_LIBRARY,
                     CostError,
                     FnTerm,
                     IntrinsicCost,
                     LearnedTerm,
                     Percept,
                     Term,
                     build_cost,
                     channel,
)

__all__ = [
    "Agent", "AgentState", "trainable", "AgentConfig", "ConfigError", "CostConfig", "CriticConfig",
    "PerceptionConfig", "PlannerConfig", "TrainConfig", "WorldModelConfig", "from_dict", "preset", "to_dict",
    "with_overrides", "Configurator", "SENSORS", "TERM_LIBRARY", "CostError", "FnTerm", "IntrinsicCost",
    "LearnedTerm", "Percept", "Term", "build_cost", "channel",
]
