"""Bit-exact twin of a bank of LFSRs (one per line), vectorised over lines and over advances.

An advance is a linear map over GF(2) (:func:`pulsetrain.periphery.lfsr.transition_columns`). The twin
applies it with byte-wise lookup tables: the image of a state is the XOR of ``ceil(width / 8)`` table
entries, one per byte of the state. Tables for ``1..n`` advances are built once and cached, so a whole
train of ``n`` advances for every line is a handful of NumPy gathers, not a Python loop per cycle.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from pulsetrain.periphery.lfsr import LfsrConfig, line_seeds, transition_columns

_BYTE = np.arange(256, dtype=np.uint64)


def _byte_tables(columns: tuple[int, ...]) -> NDArray[np.uint64]:
    """(bytes, 256) table: ``table[b, v]`` is the image of the state whose byte ``b`` is ``v`` (others 0)."""
    width = len(columns)
    tables = np.zeros(((width + 7) // 8, 256), dtype=np.uint64)
    for bit, column in enumerate(columns):
        has_bit = ((_BYTE >> np.uint64(bit % 8)) & np.uint64(1)).astype(bool)
        tables[bit // 8, has_bit] ^= np.uint64(column)
    return tables


class TwinLfsrBank:
    """``lines`` LFSRs of one config, seeded by :func:`~pulsetrain.periphery.lfsr.line_seeds`.

    Parameters
    ----------
    config
        The LFSR config shared with the RTL (:class:`pulsetrain.rtl.lfsr.LfsrBank`).
    lines
        Number of LFSRs; line ``i`` starts at ``line_seeds(config, lines)[i]``.
    seeds
        Per-line seeds instead of ``line_seeds`` (e.g. :func:`~pulsetrain.periphery.lfsr.spread_seeds`
        for the pulse generator's decorrelator bank); one per line.
    """

    def __init__(self, config: LfsrConfig, lines: int, seeds: tuple[int, ...] | None = None) -> None:
        self._config = config
        self._lines = lines
        if seeds is not None and len(seeds) != lines:
            raise ValueError(f"seeds must hold one seed per line ({lines}), not {len(seeds)}")
        self._seeds = np.array(line_seeds(config, lines) if seeds is None else seeds, dtype=np.uint64)
        self._states = self._seeds.copy()
        # _tables[n - 1, b, v]: image of byte b holding v after n advances (grown on demand)
        self._tables = np.zeros((0, (config.width + 7) // 8, 256), dtype=np.uint64)

    @property
    def config(self) -> LfsrConfig:
        """The shared LFSR config."""
        return self._config

    @property
    def lines(self) -> int:
        """Number of LFSRs in the bank."""
        return self._lines

    @property
    def states(self) -> NDArray[np.uint64]:
        """(lines,) current states (a copy)."""
        return self._states.copy()

    def reset(self) -> None:
        """Return every line to its seed (the RTL's reset state)."""
        self._states = self._seeds.copy()

    def _stacked_tables(self, advances: int) -> NDArray[np.uint64]:
        have = self._tables.shape[0]
        if have < advances:
            grown = [
                _byte_tables(transition_columns(self._config, n * self._config.steps_per_advance))
                for n in range(have + 1, max(advances, 2 * have) + 1)
            ]
            self._tables = np.concatenate([self._tables, np.stack(grown)])
        return self._tables[:advances]

    def peek(self, advances: int) -> NDArray[np.uint64]:
        """(advances, lines) states after ``1..advances`` advances from now, without advancing."""
        tables = self._stacked_tables(advances)
        out = np.zeros((advances, self._lines), dtype=np.uint64)
        for b in range(tables.shape[1]):
            byte_value = ((self._states >> np.uint64(8 * b)) & np.uint64(0xFF)).astype(np.intp)
            out ^= tables[:, b, byte_value]
        return out

    def run(self, advances: int) -> NDArray[np.uint64]:
        """Advance ``advances`` times; returns the (advances, lines) states after each advance."""
        if advances <= 0:
            return np.empty((0, self._lines), dtype=np.uint64)
        trajectory = self.peek(advances)
        self._states = trajectory[-1].copy()
        return trajectory

    def advance(self, enable: NDArray[np.bool_] | None = None) -> NDArray[np.uint64]:
        """One advance of the lines where ``enable`` is true (all when None); returns the new states."""
        stepped = self.peek(1)[0]
        self._states = stepped if enable is None else np.where(enable, stepped, self._states)
        return self._states.copy()
