"""pulsetrain: in-situ training on analog crossbar arrays, from behavioral model to verified periphery RTL.

The top-level package holds what every part shares: validated frozen configs (:mod:`pulsetrain.config`),
the digital periphery configs that the model's twins and the RTL both read (:mod:`pulsetrain.periphery`),
result files (:mod:`pulsetrain.results`) and the command line (:mod:`pulsetrain.cli`).
"""

__version__ = "0.1.0"
