"""Registry of the learning algorithms: ``--algo`` name -> implementing class.

The names, and which class implements each, are declared once in :data:`pulsetrain.catalogue.ALGORITHMS`;
this module imports the class on first use, so that validating a config (which checks ``algo`` against
the catalogue) imports nothing and algorithm modules may import the training module freely. An
algorithm's class subclasses :class:`pulsetrain.model.algorithms.base.Algorithm`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from pulsetrain import catalogue

if TYPE_CHECKING:
    from pulsetrain.model.algorithms.base import Algorithm
    from pulsetrain.model.training import TrainConfig

#: ``--algo`` name -> ``"module:Class"`` (read from the catalogue)
ALGORITHMS: dict[str, str] = {name: spec.implementation for name, spec in catalogue.ALGORITHMS.items()}


def algorithm_class(name: str) -> type[Algorithm]:
    """The class registered as ``name``."""
    cls: type[Algorithm] = catalogue.load(catalogue.get_algorithm(name).implementation)
    return cls


def create_algorithm(
    config: TrainConfig, layer_sizes: tuple[int, ...], seed: np.random.SeedSequence
) -> Algorithm:
    """Build the algorithm ``config.algo`` for a network of ``layer_sizes`` (bias lines not counted)."""
    spec = catalogue.get_algorithm(config.algo)
    if config.network.name:
        # a named network (convolution and fully connected tiles) is built by the algorithm's own class
        # for named networks; TrainConfig has refused an algorithm without one
        if spec.named_network is None:
            raise ValueError(f"algo {config.algo!r} has no implementation on named networks")
        named: type[Algorithm] = catalogue.load(spec.named_network)
        return named(config, layer_sizes, seed)
    return algorithm_class(config.algo)(config, layer_sizes, seed)
