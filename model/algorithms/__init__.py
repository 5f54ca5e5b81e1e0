"""Registry of the learning algorithms: ``--algo`` name -> implementing class.

Entries are ``"module:Class"`` strings imported on first use, so that validating a config (which checks
``algo`` against :data:`ALGORITHMS`' keys) imports nothing and algorithm modules may import the training
module freely. Add an algorithm with one line here; its class subclasses
:class:`pulsetrain.model.algorithms.base.Algorithm`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

import numpy as np

from pulsetrain.config import ConfigError

if TYPE_CHECKING:
    from pulsetrain.model.algorithms.base import Algorithm
    from pulsetrain.model.training import TrainConfig

#: ``--algo`` name -> ``"module:Class"``
ALGORITHMS: dict[str, str] = {
    "fp": "pulsetrain.model.algorithms.backprop:FloatingPointBackprop",
    "sgd": "pulsetrain.model.algorithms.backprop:AnalogSGD",
    "ttv2": "pulsetrain.model.algorithms.tiki_taka:TikiTakaV2",
    "c-ttv2": "pulsetrain.model.algorithms.tiki_taka:ChoppedTikiTakaV2",
    "agad": "pulsetrain.model.algorithms.tiki_taka:Agad",
    "dfa": "pulsetrain.model.algorithms.dfa:DirectFeedbackAlignment",
    "sbe": "pulsetrain.model.algorithms.sbe:StreamingBatchEigenupdate",
}


def algorithm_class(name: str) -> type[Algorithm]:
    """The class registered as ``name``."""
    if name not in ALGORITHMS:
        raise ConfigError(f"algo must be one of {', '.join(ALGORITHMS)}; not {name!r}")
    module_name, _, class_name = ALGORITHMS[name].partition(":")
    cls: type[Algorithm] = getattr(importlib.import_module(module_name), class_name)
    return cls


def create_algorithm(
    config: TrainConfig, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence
) -> Algorithm:
    """Build the algorithm ``config.algo`` for a network of ``layer_sizes`` (bias lines not counted)."""
    return algorithm_class(config.algo)(config, layer_sizes, seed)
