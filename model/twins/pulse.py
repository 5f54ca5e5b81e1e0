"""Bit-exact twin of the update pulse generators (:class:`pulsetrain.rtl.pulse_generator.PulseGenerator`).

Two levels:

- :class:`TwinPulseGenerator`: codes in, pulse trains out (what the RTL sees on its ports);
- :class:`TwinPulseSource`: the :class:`~pulsetrain.model.periphery.PulseSource` of the training loop:
  quantizes probabilities to codes (:func:`pulsetrain.periphery.pulse.quantize`) and runs the generator.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from numpy.typing import NDArray
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.twins.lfsr import TwinLfsrBank

from pulsetrain.periphery.pulse import PulseGeneratorConfig, PulseMode, quantize


def burst_fire(counts: NDArray[np.int64], bl: int) -> NDArray[np.bool_]:
    """(bl, lines) deterministic x-line trains: line fires in slots ``0..count-1``."""
    return np.arange(bl)[:, None] < np.asarray(counts)[None, :]


def spread_fire(counts: NDArray[np.int64], bl: int) -> NDArray[np.bool_]:
    """(bl, lines) deterministic d-line trains: the accumulator fires at slot t iff
    ``floor((t+1) n / bl) > floor(t n / bl)`` (``count`` pulses spread evenly over ``bl`` slots)."""
    if bl == 0:
        return np.zeros((0, len(counts)), dtype=bool)
    t = np.arange(bl, dtype=np.int64)[:, None]
    n = np.asarray(counts, dtype=np.int64)[None, :]
    return ((t + 1) * n) // bl > (t * n) // bl


class TwinPulseGenerator:
    """Codes in, pulse trains out, exactly as the RTL generator produces them.

    Parameters
    ----------
    config
        The shared generator config. The per-line LFSRs start at their seeds (the RTL's reset state) and
        keep their states from one call to the next, as the RTL does between updates.
    """

    def __init__(self, config: PulseGeneratorConfig) -> None:
        self._config = config
        self._bank = TwinLfsrBank(config.lfsr, config.lines)
        # the second bank of combined streams (None for shifted streams and deterministic mode)
        self._decorrelator = (
            TwinLfsrBank(config.decorrelator, config.lines, config.decorrelator_seeds())
            if config.combined
            else None
        )

    @property
    def config(self) -> PulseGeneratorConfig:
        """The shared generator config."""
        return self._config

    @property
    def lfsr_states(self) -> NDArray[np.uint64]:
        """(lines,) per-line LFSR states (x lines, then d lines)."""
        return self._bank.states

    def reset(self) -> None:
        """Back to the reset state (LFSRs at their seeds)."""
        self._bank.reset()
        if self._decorrelator is not None:
            self._decorrelator.reset()

    def _check_codes(self, name: str, codes: NDArray[np.int64], lines: int, high: int) -> NDArray[np.int64]:
        array = np.asarray(codes, dtype=np.int64)
        if array.shape != (lines,):
            raise ValueError(f"{name} must have shape ({lines},), not {array.shape}")
        if np.any(array < 0) or np.any(array > high):
            raise ValueError(f"{name} must be in 0..{high}")
        return array

    def fire(
        self,
        x_codes: NDArray[np.int64],
        x_negative: NDArray[np.bool_],
        d_codes: NDArray[np.int64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains:
        """Run ``bl`` slots with the given per-line codes and sign lines.

        Codes are ``0..2**probability_bits`` (stochastic) or pulse counts ``0..bl`` (deterministic).
        """
        config = self._config
        config.check_bl(bl)
        high = (1 << config.probability_bits) if config.mode is PulseMode.STOCHASTIC else bl
        x = self._check_codes("x_codes", x_codes, config.x_lines, high)
        d = self._check_codes("d_codes", d_codes, config.d_lines, high)
        if config.mode is PulseMode.STOCHASTIC:
            states = self._bank.run(bl)
            if self._decorrelator is not None:
                states = states ^ self._decorrelator.run(bl)
            draws = (states & np.uint64((1 << config.probability_bits) - 1)).astype(np.int64)
            fire = draws < np.concatenate([x, d])[None, :]
            x_fire, d_fire = fire[:, : config.x_lines], fire[:, config.x_lines :]
        else:
            x_fire, d_fire = burst_fire(x, bl), spread_fire(d, bl)
        return PulseTrains(
            x_fire=np.ascontiguousarray(x_fire),
            d_fire=np.ascontiguousarray(d_fire),
            x_negative=np.asarray(x_negative, dtype=bool).copy(),
            d_negative=np.asarray(d_negative, dtype=bool).copy(),
        )


class TwinPulseSource:
    """The bit-exact :class:`~pulsetrain.model.periphery.PulseSource`: quantize, then fire like the RTL.

    A drop-in replacement of the float source for a layer of ``in_size = config.x_lines`` and
    ``out_size = config.d_lines``.
    """

    def __init__(self, config: PulseGeneratorConfig) -> None:
        self._generator = TwinPulseGenerator(config)

    @property
    def config(self) -> PulseGeneratorConfig:
        """The shared generator config."""
        return self._generator.config

    @property
    def generator(self) -> TwinPulseGenerator:
        """The codes-level generator behind this source."""
        return self._generator

    def codes(self, probability: NDArray[np.float64], bl: int) -> NDArray[np.int64]:
        """Codes the generator receives for these probabilities (see ``quantize``)."""
        return quantize(self.config, probability, bl)

    def trains(
        self,
        x_probability: NDArray[np.float64],
        x_negative: NDArray[np.bool_],
        d_probability: NDArray[np.float64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains:
        """Pulse trains for one rank-1 update (see :class:`~pulsetrain.model.periphery.PulseSource`)."""
        return self._generator.fire(
            quantize(self.config, x_probability, bl),
            x_negative,
            quantize(self.config, d_probability, bl),
            d_negative,
            bl,
        )


#: Slot counter of the generators the training loop's twin uses: 8 bits, BL up to 255, so any
#: ``desired_bl`` the model accepts is served (the RTL default, 5 bits and BL 31, matches aihwkit's).
TRAINING_BL_COUNTER_BITS = 8


def pulse_source_factory(seed: np.random.SeedSequence, in_size: int, out_size: int) -> TwinPulseSource:
    """The twin as a ``PULSE_SOURCES`` entry of :mod:`pulsetrain.model.pulses` (``pulse_source="twin"``).

    The default generator config sized ``in_size x out_size``, its LFSR seed drawn from the tile's seed
    sequence (mapped to ``1..2**width - 1``; zero would lock the LFSR up), and so is its decorrelator's.
    """
    default = PulseGeneratorConfig()
    words = seed.generate_state(2, dtype=np.uint64)
    lfsr_seed = int(words[0]) % default.lfsr.period + 1
    decorrelator_seed = int(words[1]) % default.decorrelator.period + 1
    config = PulseGeneratorConfig(
        x_lines=in_size,
        d_lines=out_size,
        bl_counter_bits=TRAINING_BL_COUNTER_BITS,
        bl_max=(1 << TRAINING_BL_COUNTER_BITS) - 1,
        lfsr=dataclasses.replace(default.lfsr, seed=lfsr_seed),
        decorrelator=dataclasses.replace(default.decorrelator, seed=decorrelator_seed),
    )
    return TwinPulseSource(config)
