"""cocotb tests: the board (the whole :class:`~pulsetrain.fpga.board.BoardTop` as Verilog, its pins as
ports) with the host's own link code on its UART pins and the analog array model on its chip pins.

Runs inside the simulator. Three parts, kept apart:

:class:`UartPins`
    the host's end of the serial line, bit by bit on ``uart_rx`` / ``uart_tx`` (8N1, ``divisor`` clock
    cycles per bit), with seeded per-byte faults each way (:class:`~pulsetrain.fpga.transport.LineFaults`:
    drops, bit flips, stalls in simulated time). :class:`PinTransport` hands it to the host's
    :class:`~pulsetrain.fpga.link.Link` (a :class:`~pulsetrain.fpga.transport.Transport` whose timeouts
    are simulated seconds), which runs in a bridge thread (:func:`cocotb.task.bridge`).
:class:`ChipTrains`
    the chip side, one per board periphery: :class:`~pulsetrain.cosim.bridge.PulseLineBridge` on that
    periphery's pulse and sign pins collects each train as the crossbar chip receives it.
the training loop
    the model's own :func:`~pulsetrain.model.training.train`; each tile the board serves gets a
    :class:`~pulsetrain.fpga.host.BoardPulseSource` on its own periphery (codes, BL and start over the
    link, busy polled), any other tile the twin, as in the pure run. The trains the chip received go to
    the model's tile (the array), after each is compared decision for decision with the twin's.
"""

from __future__ import annotations

import random
import time
from collections import deque
from typing import Any

import cocotb
import numpy as np
from cocotb.task import bridge, resume
from cocotb.triggers import ClockCycles, Event, FallingEdge, First, Timer
from cocotb.utils import get_sim_time
from pulsetrain.cosim.bridge import PulseLineBridge, dac_level
from pulsetrain.cosim.decisions import decisions_in, first_difference
from pulsetrain.cosim.kit import bench_parameters, config_from_plain, read_int, report, start_clock_and_reset
from pulsetrain.cosim.training import cosim_options, observing_tiles, pulse_config_for
from pulsetrain.cosim.training_data import load_data
from pulsetrain.fpga.host import BoardIdentity, BoardPulseSource, BoardReadAdc, open_session
from pulsetrain.fpga.link import Link, LinkError
from pulsetrain.fpga.transport import LineFaults
from pulsetrain.model.periphery import PulseTrains
from pulsetrain.model.twins.pulse import TwinPulseSource

from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig

CLOCK_NS = 10


class _FaultDraw:
    """Per-byte fault decisions of one direction, from a seeded generator (drop, flip mask, stall)."""

    def __init__(self, faults: LineFaults, rng: random.Random) -> None:
        self.faults = faults
        self.rng = rng

    def draw(self, byte: int) -> tuple[int | None, float]:
        """The byte as it arrives (None: lost) and the stall before it, seconds."""
        faults, rng = self.faults, self.rng
        stall = rng.uniform(0.0, faults.delay_max_s) if rng.random() < faults.delay else 0.0
        if rng.random() < faults.drop:
            return None, stall
        if rng.random() < faults.corrupt:
            byte ^= rng.randrange(1, 256)
        return byte, stall


class UartPins:
    """The host's end of the board's UART: bytes out on ``uart_rx``, bytes in from ``uart_tx``.

    Parameters
    ----------
    dut
        The board core (ports ``clk``, ``uart_rx``, ``uart_tx``).
    divisor
        Clock cycles per bit, the board's UART divisor.
    to_board, from_board
        Faults of each direction.
    seed
        Seed of the fault draws.
    """

    def __init__(
        self, dut: Any, divisor: int, to_board: LineFaults, from_board: LineFaults, seed: int
    ) -> None:
        rng = random.Random(seed)
        self.dut = dut
        self.divisor = divisor
        self._down = _FaultDraw(to_board, rng)
        self._up = _FaultDraw(from_board, rng)
        self._outgoing: deque[int] = deque()
        self._wake_sender = Event()
        # bytes from the board with the simulated time (ns) at which they reach the host, in order
        self._incoming: deque[tuple[float, int]] = deque()
        self._arrived = Event()
        self._last_release_ns = 0.0
        dut.uart_rx.value = 1
        cocotb.start_soon(self._send())
        cocotb.start_soon(self._listen())

    async def write(self, data: bytes) -> None:
        """Queue ``data`` for the line (returns at once, as a serial port's buffered write)."""
        self._outgoing.extend(data)
        self._wake_sender.set()

    async def read(self, timeout_s: float) -> bytes:
        """Bytes that reached the host, waiting up to ``timeout_s`` simulated seconds for the first."""
        deadline_ns = get_sim_time("ns") + timeout_s * 1e9
        while True:
            now = get_sim_time("ns")
            out = bytearray()
            while self._incoming and self._incoming[0][0] <= now:
                out.append(self._incoming.popleft()[1])
            if out:
                return bytes(out)
            wake = min(deadline_ns, self._incoming[0][0]) if self._incoming else deadline_ns
            if now >= deadline_ns:
                return b""
            self._arrived.clear()
            await First(self._arrived.wait(), Timer(max(round((wake - now) * 1000), 1), unit="ps"))

    async def _send(self) -> None:
        clock, line = self.dut.clk, self.dut.uart_rx
        while True:
            if not self._outgoing:
                self._wake_sender.clear()
                await self._wake_sender.wait()
                continue
            byte, stall_s = self._down.draw(self._outgoing.popleft())
            if stall_s:
                await Timer(max(round(stall_s * 1e12), 1), unit="ps")
            if byte is None:
                continue
            for bit in [0, *((byte >> i) & 1 for i in range(8)), 1]:  # start, LSB first, stop
                line.value = bit
                await ClockCycles(clock, self.divisor)

    async def _listen(self) -> None:
        clock, line = self.dut.clk, self.dut.uart_tx
        while True:
            await FallingEdge(line)  # a start bit: sample each data bit in its middle
            await ClockCycles(clock, self.divisor // 2)
            value = 0
            for index in range(8):
                await ClockCycles(clock, self.divisor)
                value |= read_int(line) << index
            await ClockCycles(clock, self.divisor)  # the stop bit
            byte, stall_s = self._up.draw(value)
            # a stall holds this byte and (the line keeps order) every later one
            release = max(get_sim_time("ns") + stall_s * 1e9, self._last_release_ns)
            self._last_release_ns = release
            if byte is not None:
                self._incoming.append((release, byte))
                self._arrived.set()


class PinTransport:
    """:class:`~pulsetrain.fpga.transport.Transport` for a link running in a bridge thread: each call is
    a simulator coroutine of :class:`UartPins` (``timeout_s`` in simulated seconds)."""

    def __init__(self, pins: UartPins) -> None:
        self._write = resume(pins.write)
        self._read = resume(pins.read)

    def write(self, data: bytes) -> None:
        self._write(data)

    def read(self, timeout_s: float) -> bytes:
        result: bytes = self._read(timeout_s)
        return result


class ChipTrains:
    """The chip's side of the pulse pins: each train as the crossbar receives it (``PulseLineBridge``
    hands it here in place of a tile)."""

    def __init__(self, dut: Any, config: PulseGeneratorConfig, prefix: str = "") -> None:
        self.in_size = config.x_lines
        self.out_size = config.d_lines
        self.received: deque[PulseTrains] = deque()
        self.bridge = PulseLineBridge(dut, self, prefix, has_slot_last=False)

    def apply_trains(self, trains: PulseTrains) -> None:
        """Called by the bridge when a train ended on the pins."""
        self.received.append(trains)

    def take(self, bl: int) -> PulseTrains:
        """The train of the update just finished (none on the pins when ``bl`` is 0)."""
        if bl == 0:
            return PulseTrains(
                x_fire=np.zeros((0, self.in_size), bool),
                d_fire=np.zeros((0, self.out_size), bool),
                x_negative=np.zeros(self.in_size, bool),
                d_negative=np.zeros(self.out_size, bool),
            )
        if len(self.received) != 1:
            raise RuntimeError(f"the chip received {len(self.received)} trains for one update, not 1")
        return self.received.popleft()


class CheckedBoardSource(BoardPulseSource):
    """The board's pulse source, each update's received trains compared with the twin's first."""

    def __init__(
        self, link: Link, config: PulseGeneratorConfig, chip: ChipTrains, tile: int, periphery: int
    ) -> None:
        super().__init__(link, config, tile=periphery, observed=chip.take)
        #: the network's tile (creation order) this board periphery serves
        self.network_tile = tile
        self.decisions = 0
        self.first_mismatch: dict[str, Any] | None = None

    def trains(self, *arguments: Any) -> PulseTrains:
        received = super().trains(*arguments)
        assert self.predicted is not None
        self.decisions += decisions_in(self.predicted)
        difference = first_difference(self.updates - 1, self.network_tile, received, self.predicted)
        if difference is not None:
            self.first_mismatch = difference.as_dict()
            raise AssertionError(f"first differing decision: {self.first_mismatch}")
        return received


class ChipReads:
    """The chip's side of one board periphery's ADC pins: the crossbar's sample-and-hold and comparators.

    When ``adc_sample`` rises with ``adc_mux_select`` at 0 (a readout begins) the chip holds the values
    last presented (the model's analog read); whenever the trial codes, the multiplexer or the sample
    line change it answers each ADC's comparator with ``held[column] >= dac_level(trial code)``, as
    :class:`~pulsetrain.cosim.bridge.AdcComparatorBridge` does at every clock edge. Waking on changes
    only keeps the simulation's Python work to the conversions, not every cycle of the UART traffic.
    """

    def __init__(self, dut: Any, config: AdcReadoutConfig, prefix: str = "") -> None:
        self.config = config
        self._values = np.zeros(config.columns)
        self._lsb = 1.0
        self.held: np.ndarray | None = None
        self._port = {
            name: getattr(dut, f"{prefix}adc_{name}")
            for name in ("mux_select", "sample", "trial_code", "comparator")
        }
        self._port["comparator"].value = 0
        cocotb.start_soon(self._serve())

    def present(self, values: np.ndarray, lsb: float) -> None:
        """The array's outputs of the next read (sampled when the board raises ``adc_sample``)."""
        self._values = np.array(values, dtype=np.float64)
        self._lsb = lsb

    async def _serve(self) -> None:
        config, port = self.config, self._port
        bits, mask = config.adc_bits, (1 << config.adc_bits) - 1
        sampling_before = False
        while True:
            await First(
                port["trial_code"].value_change, port["mux_select"].value_change, port["sample"].value_change
            )
            sampling = bool(read_int(port["sample"]))
            phase = read_int(port["mux_select"])
            if sampling and not sampling_before and phase == 0:
                self.held = self._values
            sampling_before = sampling
            if self.held is None:
                continue
            trials = read_int(port["trial_code"])
            answer = 0
            for adc in range(config.adcs):
                column = config.column(adc, phase)
                code = (trials >> (adc * bits)) & mask
                if column < config.columns and self.held[column] >= dac_level(code, config, self._lsb):
                    answer |= 1 << adc
            port["comparator"].value = answer


class ModelCodes:
    """The model's ADC, ``rint(value / lsb)`` (:func:`~pulsetrain.model.tile.adc_codes`), as in the pure
    run."""

    def convert(self, transpose: bool, values: np.ndarray, lsb: float) -> np.ndarray:
        from pulsetrain.model.tile import adc_codes

        return adc_codes(np.asarray(values, dtype=np.float64), lsb).astype(np.float64)


class CheckedBoardReads(BoardReadAdc):
    """A tile's forward reads converted by its board periphery's ADC through the chip pins, every code
    compared with the model's; backward reads by the model's ADC (no row ADCs on the board)."""

    def __init__(self, link: Link, config: Any, chip: ChipReads, tile: int, periphery: int) -> None:
        super().__init__(
            link,
            columns=config.out_size,
            adc_bits=config.adc.adc_bits,
            tile=periphery,
            present=chip.present,
            backward=ModelCodes(),
        )
        self.network_tile = tile
        self.codes_compared = 0
        self.first_mismatch: dict[str, Any] | None = None

    def convert(self, transpose: bool, values: np.ndarray, lsb: float) -> np.ndarray:
        codes = super().convert(transpose, values, lsb)
        if transpose:
            return codes
        model = ModelCodes().convert(transpose, values, lsb)
        self.codes_compared += int(model.size)
        differ = np.argwhere(codes != model)
        if differ.size:
            row, column = (int(v) for v in differ[0])
            self.first_mismatch = {
                "tile": self.network_tile,
                "block": "board-adc-readout",
                "readout": self.readouts,
                "row": row,
                "column": column,
                "design": float(codes[row, column]),
                "model": float(model[row, column]),
            }
            raise AssertionError(f"first differing ADC code: {self.first_mismatch}")
        return codes


def _faults(plain: dict[str, Any] | None) -> LineFaults:
    return LineFaults(**(plain or {}))


def _prefix(periphery: int, peripheries: int) -> str:
    """The pin names' prefix of a board periphery (:func:`~pulsetrain.fpga.board.crossbar_port_name`)."""
    return "" if peripheries == 1 else f"tile{periphery}_"


async def _board(dut: Any, parameters: dict[str, Any]) -> tuple[Link, list[Any]]:
    """Clock, reset, the comparator pins held low, the UART pins and the host's link on them; the tile
    periphery configs the host expects the board to hold (of ``board_sources``: its handshake's)."""
    from pulsetrain.fpga.board_cosim import board_tile_config

    served = [config_from_plain(PulseGeneratorConfig, plain) for plain in parameters["board_sources"]]
    adcs = [config_from_plain(AdcReadoutConfig, plain) for plain in parameters["board_adcs"]]
    peripheries = len(served)
    dut.uart_rx.value = 1  # an idle line from the start: a low line in reset would read as a start bit
    await start_clock_and_reset(dut, period_ns=CLOCK_NS)
    for periphery in range(peripheries):  # until a chip model answers the comparators
        getattr(dut, f"{_prefix(periphery, peripheries)}adc_comparator").value = 0
    pins = UartPins(
        dut,
        int(parameters["divisor"]),
        _faults(parameters.get("to_board")),
        _faults(parameters.get("from_board")),
        int(parameters.get("fault_seed", 0)),
    )
    link = Link(
        PinTransport(pins),
        timeout_s=float(parameters["timeout_s"]),
        retries=int(parameters.get("retries", 8)),
        first_sequence=int(parameters.get("first_sequence", 0)),
    )
    return link, [board_tile_config(pulse, adc) for pulse, adc in zip(served, adcs, strict=True)]


@cocotb.test()
async def train_through_the_board(dut: Any) -> None:
    """Train N samples with the named tiles' updates served by the board (one periphery each); every train
    checked against the twin."""
    from pulsetrain.model.pulses import PULSE_SOURCES
    from pulsetrain.model.training import resolve_train_config, train

    parameters = bench_parameters()
    if "data_file" not in parameters:
        return  # the other test of this module runs alone
    board_tiles = [int(tile) for tile in parameters["board_tiles"]]
    served = [config_from_plain(PulseGeneratorConfig, plain) for plain in parameters["board_sources"]]
    link, expected = await _board(dut, parameters)
    peripheries = len(board_tiles)
    chips = [ChipTrains(dut, config, _prefix(k, peripheries)) for k, config in enumerate(served)]
    adcs = [ChipReads(dut, tile.adc, _prefix(k, peripheries)) for k, tile in enumerate(expected)]
    sources: dict[int, Any] = {}
    boards: list[CheckedBoardSource] = []
    reads: list[CheckedBoardReads] = []

    def attach(tile: Any, index: int) -> None:
        """Forward reads of a served tile through its board periphery's ADC; the others the model's."""
        if index not in board_tiles:
            tile.read_adc = ModelCodes()
            return
        periphery = board_tiles.index(index)
        tile.read_adc = CheckedBoardReads(link, expected[periphery], adcs[periphery], index, periphery)
        reads.append(tile.read_adc)

    def factory(seed: np.random.SeedSequence, in_size: int, out_size: int) -> Any:
        index = len(sources)
        config = pulse_config_for(seed, in_size, out_size, int(parameters["bl_max"]))
        if index in board_tiles:
            periphery = board_tiles.index(index)
            if config != served[periphery]:
                raise RuntimeError(f"tile {index}: generator config differs from the board's")
            sources[index] = CheckedBoardSource(link, config, chips[periphery], index, periphery)
            boards.append(sources[index])
        else:
            sources[index] = TwinPulseSource(config)
        return sources[index]

    PULSE_SOURCES["board"] = factory  # type: ignore[assignment]
    options = cosim_options(parameters["options"])
    options["pulse_source"] = "board"
    config = resolve_train_config(options=options, sets=parameters.get("sets", ()))
    data = load_data(parameters["data_file"])
    start = time.perf_counter()
    error = None
    results = None
    identity: BoardIdentity | None = None
    try:
        identity = await bridge(open_session)(link, expected)
        with observing_tiles(attach):
            results = await bridge(train)(config, data=data)
    except (AssertionError, LinkError, RuntimeError) as failure:
        error = str(failure)
    mismatches = [board.first_mismatch for board in boards if board.first_mismatch is not None]
    mismatches += [read.first_mismatch for read in reads if read.first_mismatch is not None]
    report(
        results=results,
        samples=data.x_train.shape[0],
        updates=sum(board.updates for board in boards),
        updates_by_tile={board.network_tile: board.updates for board in boards},
        trains_received=sum(chip.bridge.trains_applied for chip in chips),
        decisions_compared=sum(board.decisions for board in boards),
        readouts=sum(read.readouts for read in reads),
        adc_codes_compared=sum(read.codes_compared for read in reads),
        first_mismatch=mismatches[0] if mismatches else None,
        link=vars(link.statistics),
        identity=vars(identity) if identity else None,
        simulated_seconds=get_sim_time("ns") * 1e-9,
        wall_seconds=time.perf_counter() - start,
        error=error,
    )
    if error is not None:
        raise AssertionError(error)


@cocotb.test()
async def link_faults_recovered(dut: Any) -> None:
    """Many ADDs over a faulty line: every reply right, nothing applied twice (registers read back)."""
    parameters = bench_parameters()
    if "adds" not in parameters:
        return
    link, expected_configs = await _board(dut, parameters)
    rng = random.Random(int(parameters.get("seed", 0)))
    # the spare registers drive nothing in the board core: free for a non-idempotent witness
    addresses = [int(address) for address in parameters["spare_registers"]]
    expected = dict.fromkeys(addresses, 0)

    identity: BoardIdentity | None = None

    def exchange() -> tuple[list[tuple[int, int, int]], dict[int, int]]:
        nonlocal identity
        identity = open_session(link, expected_configs)
        wrong = []
        for _ in range(int(parameters["adds"])):
            address, amount = rng.choice(addresses), rng.randrange(2**32)
            expected[address] = (expected[address] + amount) % 2**32
            answer = link.add(address, amount)
            if answer != expected[address]:
                wrong.append((address, answer, expected[address]))
        return wrong, {address: link.read(address) for address in addresses}

    error = None
    wrong: list[tuple[int, int, int]] = []
    final: dict[int, int] = {}
    start_ns = get_sim_time("ns")
    try:
        wrong, final = await bridge(exchange)()
    except LinkError as failure:
        error = str(failure)
    report(
        wrong_replies=wrong,
        registers_match=final == expected,
        link=vars(link.statistics),
        identity=vars(identity) if identity else None,
        simulated_seconds=(get_sim_time("ns") - start_ns) * 1e-9,
        error=error,
    )
