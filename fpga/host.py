"""The host's side of the board: its register map, and the training loop's pulse source served by it.

The board (:class:`~pulsetrain.fpga.board.BoardCore`) exposes each of its tile peripheries through the
frame engine's registers (:data:`REGISTER_CONTROL` ... of tile ``t`` at :func:`register_address`) and
status words (:data:`STATUS_BUSY` ... at :func:`status_address`). This module
holds that map once, for the gateware and the host, and :class:`BoardPulseSource`: the model's
:class:`~pulsetrain.model.periphery.PulseSource` (the seam co-simulation uses) served by the board over a
:class:`~pulsetrain.fpga.link.Link`. Importable without Amaranth.
"""

from __future__ import annotations

import binascii
import json
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pulsetrain.fpga.link import Link, LinkError
from pulsetrain.fpga.protocol import STATUS_BASE
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.twins.pulse import TwinPulseGenerator

from pulsetrain.config import to_plain
from pulsetrain.periphery.pulse import PulseGeneratorConfig, quantize

#: a tile's register 0: a write starts a forward read (bit 0) and / or an update (bit 1)
REGISTER_CONTROL = 0
#: a tile's register 1: the update's train length (BL), sampled at the update's start
REGISTER_BL = 1
#: a tile's register 2: each write pushes one DAC code of a forward read (low ``dac_bits``, line order)
REGISTER_DAC_CODE = 2
#: a tile's register 3: each write pushes one update code (:func:`pack_update_code`)
REGISTER_UPDATE_CODE = 3
#: a tile's register 4: the column whose last forward-read code status word :data:`STATUS_READ_CODE` shows
REGISTER_READ_COLUMN = 4
#: registers of one tile periphery: tile ``t``'s register ``r`` is at ``REGISTERS_PER_TILE * t + r``
REGISTERS_PER_TILE = 5
#: registers after the tiles' that drive nothing (a host may keep its own values there; the link tests
#: use them as a non-idempotent witness)
SPARE_REGISTERS = 12
#: control bit of a forward read
CONTROL_READ = 1
#: control bit of an update
CONTROL_UPDATE = 2
#: a tile's status word 0: busy (bit 0) | a transfer read is running (bit 1)
STATUS_BUSY = 0
#: a tile's status words 1 / 2: forward-read results counted / the last one's low 32 bits
STATUS_READ_COUNT = 1
STATUS_READ_LAST = 2
#: a tile's status words 3 / 4: transfer results counted / the last one's low 32 bits
STATUS_TRANSFER_COUNT = 3
STATUS_TRANSFER_LAST = 4
#: a tile's status word 5: the last forward read's ADC code (offset binary) of column REGISTER_READ_COLUMN
STATUS_READ_CODE = 5
#: status words of one tile: tile ``t``'s word ``w`` is READ at ``STATUS_BASE + 3 + 6 t + w``
STATUS_WORDS_PER_TILE = 6
#: the board's status word 0 (READ at ``STATUS_BASE``): :data:`BOARD_MAGIC`
STATUS_IDENTITY = 0
#: the board's status word 1: :func:`config_digest` of the tile peripheries it was built with
STATUS_DIGEST = 1
#: the board's status word 2: how many tile peripheries it holds
STATUS_TILES = 2
#: the board's own status words, before the tiles'
IDENTITY_WORDS = 3
#: identity word of a pulsetrain board ("PTB1" little endian: the protocol and register map of this
#: module, version 1)
BOARD_MAGIC = int.from_bytes(b"PTB1", "little")
#: the most tiles one board serves (their status words fill the 128 the protocol addresses)
MAX_TILES = (128 - IDENTITY_WORDS) // STATUS_WORDS_PER_TILE


def register_address(tile: int, register: int) -> int:
    """Link address of register ``register`` (:data:`REGISTER_CONTROL` ...) of tile periphery ``tile``."""
    if not 0 <= tile < MAX_TILES:
        raise ValueError(f"tile must be 0..{MAX_TILES - 1}, not {tile!r}")
    if not 0 <= register < REGISTERS_PER_TILE:
        raise ValueError(f"register must be 0..{REGISTERS_PER_TILE - 1}, not {register!r}")
    return REGISTERS_PER_TILE * tile + register


def status_address(tile: int, word: int) -> int:
    """Link address (a READ) of status word ``word`` (:data:`STATUS_BUSY` ...) of tile periphery ``tile``."""
    if not 0 <= tile < MAX_TILES:
        raise ValueError(f"tile must be 0..{MAX_TILES - 1}, not {tile!r}")
    if not 0 <= word < STATUS_WORDS_PER_TILE:
        raise ValueError(f"word must be 0..{STATUS_WORDS_PER_TILE - 1}, not {word!r}")
    return STATUS_BASE + IDENTITY_WORDS + STATUS_WORDS_PER_TILE * tile + word


def config_digest(configs: Sequence[Any]) -> int:
    """CRC-32 of the tile periphery configs (canonical JSON): the board holds it in a status word, so a
    host can tell a board built with other tile sizes, seeds or widths before it sends a command."""
    text = json.dumps([to_plain(config) for config in configs], sort_keys=True, separators=(",", ":"))
    return binascii.crc32(text.encode())


class BoardMismatch(LinkError):
    """A device answered, but it is not the board (protocol or tile configs) the host expects."""


@dataclass(frozen=True, kw_only=True)
class BoardIdentity:
    """What the board said in the handshake."""

    #: tile peripheries it holds
    tiles: int
    #: :func:`config_digest` of their configs
    digest: int
    #: handshake pings answered with an old reply (the host reused the board's last sequence number)
    replays: int


def open_session(link: Link, configs: Sequence[Any], *, nonce: bytes | None = None) -> BoardIdentity:
    """The handshake before any command: the board answers, is a pulsetrain board, and holds ``configs``.

    A PING with a fresh random payload comes first. Its echo proves the board answers; an echo of another
    payload (or a reply to another command, which the link discards until it gives up) is the board
    replaying its last reply because this host's first sequence number equals the last one it applied
    (a host restarted while the board kept running): the next PING has a new number and is applied.
    Then the identity words are compared with :data:`BOARD_MAGIC`, ``len(configs)`` and
    :func:`config_digest`.

    Raises
    ------
    LinkError
        No board answered (the link's own error: within ``timeout_s`` times its tries).
    BoardMismatch
        A device answered, but not as this host's board.
    """
    nonce = secrets.token_bytes(4) if nonce is None else nonce
    replays = 0
    stale_before = link.statistics.stale_replies
    try:
        echoed = link.ping(nonce)
    except LinkError as error:
        if link.statistics.stale_replies == stale_before:  # not a byte of a good frame came back
            raise LinkError(f"no board answered the handshake: {error}") from None
        echoed = None  # replies to another command (a replay), discarded by the link: once more
    if echoed != nonce:
        replays += 1
        echoed = link.ping(nonce)  # a new sequence number: this one is applied (or LinkError: no board)
        if echoed != nonce:
            raise BoardMismatch(f"the device echoed {echoed.hex()} to a ping of {nonce.hex()}")
    try:
        magic = link.read(STATUS_BASE + STATUS_IDENTITY)
    except LinkError as error:
        raise BoardMismatch(
            f"the device answers pings but has no pulsetrain identity word ({error})"
        ) from None
    if magic != BOARD_MAGIC:
        raise BoardMismatch(
            f"the device is not a pulsetrain board of this version: identity word 0x{magic:08x}, "
            f"expected 0x{BOARD_MAGIC:08x}; program it with `pulsetrain fpga program`"
        )
    tiles = link.read(STATUS_BASE + STATUS_TILES)
    digest = link.read(STATUS_BASE + STATUS_DIGEST)
    expected = config_digest(configs)
    if tiles != len(configs) or digest != expected:
        raise BoardMismatch(
            f"the board holds {tiles} tile periphery(ies) with config digest 0x{digest:08x}, the host "
            f"expects {len(configs)} with digest 0x{expected:08x}: build and program the bitstream for "
            "this network's tile configs, or run the host with the board's"
        )
    return BoardIdentity(tiles=tiles, digest=digest, replays=replays)


def pack_update_code(config: PulseGeneratorConfig, line: int, code: int, negative: bool) -> int:
    """One update-code register word: the pulse generator's ``code_layout`` (line, code, sign) packed.

    The fields lie from bit 0 up in the layout's order: ``line`` (enough bits for ``config.lines - 1``),
    ``code`` (``config.code_width`` bits), ``negative`` (1 bit).
    """
    if not 0 <= line < config.lines:
        raise ValueError(f"line must be 0..{config.lines - 1}, not {line!r}")
    if not 0 <= code < 1 << config.code_width:
        raise ValueError(f"code must be 0..{(1 << config.code_width) - 1}, not {code!r}")
    line_bits = (config.lines - 1).bit_length()
    return line | (code << line_bits) | (int(bool(negative)) << (line_bits + config.code_width))


class BoardPulseSource:
    """A :class:`~pulsetrain.model.periphery.PulseSource` served by the board's pulse generator.

    Each rank-1 update is: the quantized codes (the twin's :func:`~pulsetrain.periphery.pulse.quantize`)
    written one register word per line, BL, the start bit, then the busy word polled until the train
    (and any transfer it triggered) is over. The pulses go from the board's pins into the chip; what
    the training loop gets back is ``observed(bl)`` (the trains the chip received, where something
    watches the pins: the simulation bench) or else the twin's prediction (the board's generator is
    the twin's logic, so that is what the chip received).

    Parameters
    ----------
    link
        The host link to the board.
    config
        The pulse generator config the board was built with (its LFSR seeds are the tile's).
    tile
        Which of the board's tile peripheries serves it (its registers and status words).
    observed
        Returns the trains the chip received in the last update (``bl`` slots), or None.
    poll_limit
        Busy polls before :class:`~pulsetrain.fpga.link.LinkError` (a board that never finishes).
    """

    def __init__(
        self,
        link: Link,
        config: PulseGeneratorConfig,
        *,
        tile: int = 0,
        observed: Callable[[int], PulseTrains] | None = None,
        poll_limit: int = 1000,
    ) -> None:
        self._busy_address = status_address(tile, STATUS_BUSY)  # checks tile
        self.tile = tile
        self.link = link
        self.config = config
        self.twin = TwinPulseGenerator(config)
        self._observed = observed
        self._poll_limit = poll_limit
        #: updates served so far
        self.updates = 0
        #: the twin's trains of the last update (what the board's logic must have sent)
        self.predicted: PulseTrains | None = None

    def trains(
        self,
        x_probability: NDArray[np.float64],
        x_negative: NDArray[np.bool_],
        d_probability: NDArray[np.float64],
        d_negative: NDArray[np.bool_],
        bl: int,
    ) -> PulseTrains:
        """Pulse trains for one rank-1 update (see :class:`~pulsetrain.model.periphery.PulseSource`)."""
        config = self.config
        x_codes = quantize(config, x_probability, bl)
        d_codes = quantize(config, d_probability, bl)
        codes = np.concatenate([x_codes, d_codes])
        negative = np.concatenate([np.asarray(x_negative, bool), np.asarray(d_negative, bool)])
        self.wait_idle()  # a code written while the periphery works would be lost
        for line, (code, sign) in enumerate(zip(codes, negative, strict=True)):
            word = pack_update_code(config, line, int(code), bool(sign))
            self.link.write(register_address(self.tile, REGISTER_UPDATE_CODE), word)
        self.link.write(register_address(self.tile, REGISTER_BL), bl)
        self.link.write(register_address(self.tile, REGISTER_CONTROL), CONTROL_UPDATE)
        self.wait_idle()
        self.predicted = self.twin.fire(x_codes, x_negative, d_codes, d_negative, bl)
        self.updates += 1
        return self._observed(bl) if self._observed is not None else self.predicted

    def wait_idle(self) -> None:
        """Poll the busy word until the periphery is idle."""
        wait_idle(self.link, self.tile, self._poll_limit)


def wait_idle(link: Link, tile: int, poll_limit: int) -> None:
    """Poll tile periphery ``tile``'s busy word until it is idle; :class:`LinkError` after ``poll_limit``."""
    address = status_address(tile, STATUS_BUSY)
    for _ in range(poll_limit):
        if link.read(address) == 0:
            return
    raise LinkError(
        f"tile periphery {tile} of the board stayed busy for {poll_limit} polls of its status word"
    )


class BoardReadAdc:
    """A :class:`~pulsetrain.model.periphery.ReadAdc` whose forward reads the board's ADC readout converts.

    Each row of a forward read is one readout of tile periphery ``tile``: the start bit, the busy word
    polled (the readout runs its SAR trials through the chip pins: sample, multiplexer, trial codes,
    compare strobe, comparator), then each column's code read back (select, read) and its result count
    checked. The codes are the ADC's offset binary less mid-scale, as the model's ``rint(value / lsb)``.

    The analog values are the chip's. On a board the chip holds what its array computed; in simulation
    ``present(values, lsb)`` hands the model's read to the chip model at the pins before the readout
    starts. The DAC inputs are not on the board's pins (the chip computes with the model's inputs), and
    the tile periphery has no row ADCs, so backward reads go to ``backward``, another ReadAdc (the model's
    quantizer), or raise when it is None.

    Parameters
    ----------
    link
        The host link to the board.
    columns
        Lines of a forward read (the tile periphery's ADC columns).
    adc_bits
        The ADC's resolution.
    tile
        Which of the board's tile peripheries converts.
    present
        Simulation only: called with one row's analog values and the LSB before its readout starts.
    backward
        Converts backward reads.
    poll_limit
        Busy polls before :class:`~pulsetrain.fpga.link.LinkError`.
    """

    def __init__(
        self,
        link: Link,
        *,
        columns: int,
        adc_bits: int,
        tile: int = 0,
        present: Callable[[NDArray[np.float64], float], None] | None = None,
        backward: Any = None,
        poll_limit: int = 1000,
    ) -> None:
        status_address(tile, 0)  # checks tile
        self.link = link
        self.tile = tile
        self.columns = columns
        self._mid = 1 << (adc_bits - 1)
        self._present = present
        self._backward = backward
        self._poll_limit = poll_limit
        self._counted: int | None = None
        #: forward-read rows converted by the board
        self.readouts = 0

    def convert(self, transpose: bool, values: NDArray[np.float64], lsb: float) -> NDArray[np.float64]:
        """Codes (as floats) of a (batch, lines) read (see :class:`~pulsetrain.model.periphery.ReadAdc`)."""
        if transpose:
            if self._backward is None:
                raise LinkError(f"tile periphery {self.tile} has no row ADCs for a backward read")
            return np.asarray(self._backward.convert(transpose, values, lsb), dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if values.shape[1] != self.columns:
            raise ValueError(
                f"a forward read of tile periphery {self.tile} has {self.columns} lines, "
                f"not {values.shape[1]}"
            )
        codes = np.empty(values.shape, dtype=np.float64)
        for row, line_values in enumerate(values):
            codes[row] = self._readout(line_values, lsb)
        return codes

    def _readout(self, values: NDArray[np.float64], lsb: float) -> NDArray[np.float64]:
        link, tile = self.link, self.tile
        if self._counted is None:
            self._counted = link.read(status_address(tile, STATUS_READ_COUNT))
        wait_idle(link, tile, self._poll_limit)
        if self._present is not None:
            self._present(values, lsb)
        link.write(register_address(tile, REGISTER_CONTROL), CONTROL_READ)
        wait_idle(link, tile, self._poll_limit)
        counted = link.read(status_address(tile, STATUS_READ_COUNT))
        if counted != (self._counted + self.columns) % 2**32:
            raise LinkError(
                f"tile periphery {tile} counted {counted - self._counted} ADC results for one readout, "
                f"not {self.columns}"
            )
        self._counted = counted
        codes = np.empty(self.columns, dtype=np.float64)
        for column in range(self.columns):
            link.write(register_address(tile, REGISTER_READ_COLUMN), column)
            codes[column] = link.read(status_address(tile, STATUS_READ_CODE)) - self._mid
        self.readouts += 1
        return codes
