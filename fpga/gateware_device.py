"""The gateware frame engine behind the :class:`~pulsetrain.fpga.transport.Device` interface.

The Amaranth simulator runs in a thread of its own; :meth:`GatewareDevice.receive` hands it the bytes
that reached the device, waits for the engine to go quiet and returns what it sent. So the host's own
:class:`~pulsetrain.fpga.link.Link` over a faulty :class:`~pulsetrain.fpga.transport.SimulatedTransport`
talks to the gateware exactly as it talks to the Python reference model.
"""

from __future__ import annotations

import queue
import threading

from amaranth.sim import Simulator
from pulsetrain.fpga.frame_engine import FrameEngine

#: clock cycles without input after which the engine has surely finished its reply (the longest
#: reply is under 50 bytes at one byte per cycle)
QUIET_CYCLES = 64


class GatewareDevice:
    """A :class:`FrameEngine` simulated cycle by cycle, one byte per cycle at its stream ports.

    Parameters
    ----------
    engine
        The engine to simulate.
    timeout_s
        Wall-clock limit on one :meth:`receive` (a hung simulation fails instead of stalling).
    """

    def __init__(self, engine: FrameEngine, *, timeout_s: float = 60.0) -> None:
        self._engine = engine
        self._timeout_s = timeout_s
        self._requests: queue.Queue[bytes | None] = queue.Queue()
        self._replies: queue.Queue[bytes | BaseException] = queue.Queue()
        simulator = Simulator(engine)
        simulator.add_clock(1e-6)
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
        while True:
            data = self._requests.get()
            if data is None:
                return
            sent = bytearray()

            async def cycle(sent: bytearray = sent) -> None:
                if ctx.get(engine.tx.valid):
                    sent.append(ctx.get(engine.tx.payload))
                await ctx.tick()

            for byte in data:
                ctx.set(engine.rx.payload, byte)
                ctx.set(engine.rx.valid, 1)
                while True:
                    accepted = ctx.get(engine.rx.ready)
                    await cycle()
                    if accepted:
                        break
            ctx.set(engine.rx.valid, 0)
            for _ in range(QUIET_CYCLES):
                await cycle()
            self._replies.put(bytes(sent))

    def receive(self, data: bytes) -> bytes:
        """Feed ``data`` to the engine; return the bytes it sends until it is quiet."""
        self._requests.put(data)
        reply = self._replies.get(timeout=self._timeout_s)
        if isinstance(reply, BaseException):
            raise RuntimeError("the gateware simulation failed") from reply
        return reply

    def close(self) -> None:
        """End the simulation thread."""
        self._requests.put(None)
        self._thread.join(timeout=self._timeout_s)
