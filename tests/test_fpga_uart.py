"""The UART: transmitter looped back into the receiver carries every byte value unchanged."""

from __future__ import annotations

from amaranth.hdl import Module
from amaranth.sim import Simulator
from pulsetrain.fpga.uart import UartReceiver, UartTransmitter


def test_every_byte_survives_a_loopback_at_an_uneven_divisor() -> None:
    divisor = 7
    m = Module()
    m.submodules.tx = tx = UartTransmitter(divisor=divisor)
    m.submodules.rx = rx = UartReceiver(divisor=divisor)
    m.d.comb += rx.line.eq(tx.line)
    sent = list(range(256))
    received: list[int] = []

    async def send(ctx) -> None:  # type: ignore[no-untyped-def]
        for byte in sent:
            ctx.set(tx.data.payload, byte)
            ctx.set(tx.data.valid, 1)
            await ctx.tick().until(tx.data.ready)
        ctx.set(tx.data.valid, 0)

    async def receive(ctx) -> None:  # type: ignore[no-untyped-def]
        ctx.set(rx.data.ready, 1)
        while len(received) < len(sent):
            await ctx.tick()
            if ctx.get(rx.data.valid):
                received.append(ctx.get(rx.data.payload))

    sim = Simulator(m)
    sim.add_clock(1e-6)
    sim.add_testbench(send, background=True)
    sim.add_testbench(receive)
    sim.run_until(1e-6 * divisor * 10 * 300)
    assert received == sent
