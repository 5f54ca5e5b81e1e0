"""The gateware frame engine behind the :class:`~pulsetrain.fpga.transport.Device` interface.

The Amaranth simulator runs in a thread of its own; :meth:`GatewareDevice.receive` hands it the bytes
that reached the device, waits for the engine to go quiet and returns what it sent. So the host's own
:class:`~pulsetrain.fpga.link.Link` over a faulty :class:`~pulsetrain.fpga.transport.SimulatedTransport`
talks to the gateware exactly as it talks to the Python reference model. The line's gaps reach the
gateware: before each call the simulation idles for the time the transport's clock moved on (one cycle per
microsecond, a gap cut at ``max_idle_cycles``), so the engine's silence timeout sees what it would see on
a board.
"""

from __future__ import annotations

import queue
import threading

from amaranth.hdl import Module
from amaranth.lib import stream, wiring
from amaranth.lib.wiring import In, Out
from amaranth.sim import Simulator
from pulsetrain.fpga.frame_engine import FrameEngine
from pulsetrain.fpga.uart import UartReceiver, UartTransmitter

#: clock cycles without output after which the bare engine has surely finished its reply
QUIET_CYCLES = 64
#: the simulated clock, Hz (1 MHz: one cycle per microsecond of the line's clock)
CLOCK_HZ = 1_000_000


class SerialLoop(wiring.Component):
    """The board's link path with byte streams on the host side: host UART -> line -> the board's UART
    receiver -> frame engine -> the board's UART transmitter -> line -> host UART.

    Parameters
    ----------
    engine
        The frame engine on the board side.
    divisor
        Clock cycles per bit of every UART in the loop.

    Attributes
    ----------
    rx : In(stream.Signature(8))
        Bytes the host sends.
    tx : Out(stream.Signature(8))
        Bytes the host receives.
    """

    def __init__(self, engine: FrameEngine, *, divisor: int = 4) -> None:
        self._engine = engine
        self._divisor = divisor
        super().__init__({"rx": In(stream.Signature(8)), "tx": Out(stream.Signature(8))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.host_transmitter = host_transmitter = UartTransmitter(divisor=self._divisor)
        m.submodules.host_receiver = host_receiver = UartReceiver(divisor=self._divisor)
        m.submodules.board_receiver = board_receiver = UartReceiver(divisor=self._divisor)
        m.submodules.board_transmitter = board_transmitter = UartTransmitter(divisor=self._divisor)
        m.submodules.engine = self._engine
        wiring.connect(m, wiring.flipped(self.rx), host_transmitter.data)
        m.d.comb += board_receiver.line.eq(host_transmitter.line)
        wiring.connect(m, board_receiver.data, self._engine.rx)
        wiring.connect(m, self._engine.tx, board_transmitter.data)
        m.d.comb += host_receiver.line.eq(board_transmitter.line)
        wiring.connect(m, host_receiver.data, wiring.flipped(self.tx))
        return m


class HostUarts(wiring.Component):
    """Byte streams on the host side of a component whose link is a pair of UART lines
    (``uart_rx`` / ``uart_tx``, as :class:`~pulsetrain.fpga.board.BoardCore`).

    Attributes
    ----------
    rx : In(stream.Signature(8))
        Bytes the host sends.
    tx : Out(stream.Signature(8))
        Bytes the host receives.
    """

    def __init__(self, board: wiring.Component, *, divisor: int) -> None:
        self._board = board
        self._divisor = divisor
        super().__init__({"rx": In(stream.Signature(8)), "tx": Out(stream.Signature(8))})

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.host_transmitter = host_transmitter = UartTransmitter(divisor=self._divisor)
        m.submodules.host_receiver = host_receiver = UartReceiver(divisor=self._divisor)
        m.submodules.board = board = self._board
        wiring.connect(m, wiring.flipped(self.rx), host_transmitter.data)
        m.d.comb += [board.uart_rx.eq(host_transmitter.line), host_receiver.line.eq(board.uart_tx)]  # type: ignore[attr-defined]
        wiring.connect(m, host_receiver.data, wiring.flipped(self.tx))
        return m


class GatewareDevice:
    """A component with byte streams ``rx`` / ``tx`` (a :class:`FrameEngine`, a :class:`SerialLoop`)
    simulated cycle by cycle.

    Parameters
    ----------
    engine
        The component to simulate.
    quiet_cycles
        Cycles without a byte out after which its reply is surely complete (longer than the gap
        before the first reply byte and between two of them).
    timeout_s
        Wall-clock limit on one :meth:`receive` (a hung simulation fails instead of stalling).
    status
        Values held on a bare :class:`FrameEngine`'s ``status`` words (what the periphery would report).
    max_idle_cycles
        The longest gap simulated between two calls: a longer gap on the line's clock is cut to this
        (keep it above the engine's ``silence_cycles``, its longest timer, so cutting changes nothing
        the engine can see; the Python simulator would otherwise spend seconds on every 50 ms retry).
    """

    def __init__(
        self,
        engine: wiring.Component,
        *,
        quiet_cycles: int = QUIET_CYCLES,
        timeout_s: float = 60.0,
        status: tuple[int, ...] = (),
        max_idle_cycles: int = 4096,
    ) -> None:
        self._engine = engine
        self._max_idle_cycles = max_idle_cycles
        #: clock cycles simulated so far
        self.cycles = 0
        # where the simulation stands on the line's clock, in cycles (ahead of ``cycles`` after a cut gap)
        self._line_cycles = 0
        self._status = status
        self._quiet_cycles = quiet_cycles
        self._timeout_s = timeout_s
        self._requests: queue.Queue[tuple[bytes, int] | None] = queue.Queue()
        self._replies: queue.Queue[bytes | BaseException] = queue.Queue()
        simulator = Simulator(engine)
        simulator.add_clock(1 / CLOCK_HZ)
        simulator.add_testbench(self._bench)
        self._thread = threading.Thread(target=self._run, args=(simulator,), daemon=True)
        self._thread.start()

    def _run(self, simulator: Simulator) -> None:
        try:
            simulator.run()
        except BaseException as error:  # handed to the caller instead of dying silently in the thread
            self._replies.put(error)

    async def _bench(self, ctx) -> None:  # type: ignore[no-untyped-def]
        engine = self._engine
        ctx.set(engine.tx.ready, 1)
        for index, value in enumerate(self._status):
            ctx.set(engine.status[index], value)  # type: ignore[attr-defined]
        while True:
            request = self._requests.get()
            if request is None:
                return
            data, idle = request
            if idle:
                await ctx.tick().repeat(idle)  # the line's gap since the last call (nothing sent then)
                self.cycles += idle
            sent = bytearray()

            async def cycle(sent: bytearray = sent) -> None:
                if ctx.get(engine.tx.valid):
                    sent.append(ctx.get(engine.tx.payload))
                await ctx.tick()
                self.cycles += 1

            for byte in data:
                ctx.set(engine.rx.payload, byte)
                ctx.set(engine.rx.valid, 1)
                while True:
                    accepted = ctx.get(engine.rx.ready)
                    await cycle()
                    if accepted:
                        break
            ctx.set(engine.rx.valid, 0)
            quiet = 0
            while quiet < self._quiet_cycles:  # until nothing came out for quiet_cycles in a row
                before = len(sent)
                await cycle()
                quiet = 0 if len(sent) > before else quiet + 1
            self._replies.put(bytes(sent))

    def receive(self, data: bytes, now_s: float = 0.0) -> bytes:
        """Let the time up to ``now_s`` pass (capped at ``max_idle_cycles``), feed ``data`` to the engine;
        return the bytes it sends until it is quiet."""
        arrival = round(now_s * CLOCK_HZ)
        idle = min(max(0, arrival - self._line_cycles), self._max_idle_cycles)
        before = self.cycles
        self._requests.put((data, idle))
        reply = self._replies.get(timeout=self._timeout_s)
        self._line_cycles = max(arrival, self._line_cycles) + (self.cycles - before - idle)
        if isinstance(reply, BaseException):
            raise RuntimeError("the gateware simulation failed") from reply
        return reply

    def close(self) -> None:
        """End the simulation thread."""
        self._requests.put(None)
        self._thread.join(timeout=self._timeout_s)
