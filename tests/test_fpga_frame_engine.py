"""The gateware frame engine, driven by the host's own Link through the faulty simulated line."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest
from pulsetrain.fpga.device_model import DeviceModel
from pulsetrain.fpga.frame_engine import FrameEngine
from pulsetrain.fpga.gateware_device import GatewareDevice, SerialLoop
from pulsetrain.fpga.link import Link, LinkError
from pulsetrain.fpga.protocol import STATUS_BASE, Command, Frame
from pulsetrain.fpga.transport import LineFaults, SimulatedTransport

#: what the periphery would report on the status words
STATUS = (0x01020304, 0, 0xFFFFFFFF, 77)


@pytest.fixture
def gateware() -> Iterator[GatewareDevice]:
    device = GatewareDevice(FrameEngine(register_count=16, max_payload=8, status_count=4), status=STATUS)
    yield device
    device.close()


def test_the_engine_answers_byte_for_byte_as_the_reference_model(gateware: GatewareDevice) -> None:
    model = DeviceModel(register_count=16, max_payload=8, status_count=4)
    model.status = list(STATUS)
    requests = [
        Frame(sequence=1, command=Command.PING, payload=b"abc"),
        Frame(sequence=2, command=Command.WRITE, payload=bytes([3, 0xEF, 0xBE, 0xAD, 0xDE])),
        Frame(sequence=2, command=Command.WRITE, payload=bytes([3, 1, 0, 0, 0])),  # a repeat: replayed
        Frame(sequence=3, command=Command.ADD, payload=bytes([3, 2, 0, 0, 0])),
        Frame(sequence=4, command=Command.READ, payload=bytes([3])),
        Frame(sequence=5, command=Command.READ, payload=bytes([99])),
        Frame(sequence=6, command=Command.READ, payload=bytes([1, 2])),
        Frame(sequence=7, command=0x33, payload=b""),
        Frame(sequence=8, command=Command.PING, payload=bytes(9)),
        Frame(sequence=9, command=Command.PING, payload=b""),
        Frame(sequence=10, command=Command.READ, payload=bytes([STATUS_BASE])),
        Frame(sequence=11, command=Command.READ, payload=bytes([STATUS_BASE + 3])),
        Frame(sequence=12, command=Command.READ, payload=bytes([STATUS_BASE + 4])),
        Frame(sequence=13, command=Command.WRITE, payload=bytes([STATUS_BASE, 1, 0, 0, 0])),
    ]
    for request in requests:
        wire = request.encode()
        assert gateware.receive(wire) == model.receive(wire), request
    corrupted = bytearray(Frame(sequence=20, command=Command.ADD, payload=bytes([3, 1, 0, 0, 0])).encode())
    corrupted[6] ^= 1
    assert gateware.receive(bytes(corrupted)) == b"" == model.receive(bytes(corrupted))


#: first sequence numbers of the fault runs: every 37th, so the CRC bytes (and SYNC look-alikes inside
#: frames) differ from run to run. With the receiver's silence timeout off, the run from 111 locks up
#: (sequence 137 unanswered after 51 tries; measured at 47e6b4a), the other six pass: 111 and 0 run by
#: default, the rest under --long (each takes 40-70 s of Python simulation at load 13-20)
FIRST_SEQUENCES = [
    pytest.param(first, id=f"first{first}", marks=[] if first in (0, 111) else [pytest.mark.slow])
    for first in range(0, 256, 37)
]


@pytest.mark.parametrize("first_sequence", FIRST_SEQUENCES)
def test_the_host_link_recovers_faults_against_the_gateware(
    gateware: GatewareDevice, first_sequence: int
) -> None:
    faults = LineFaults(drop=0.01, corrupt=0.01, delay=0.01, delay_max_s=0.2)
    transport = SimulatedTransport(gateware, to_device=faults, from_device=faults, seed=2)
    link = Link(transport, retries=50, first_sequence=first_sequence)
    expected = [0] * 16
    rng = random.Random(9)
    for _ in range(40):
        address, amount = rng.randrange(16), rng.randrange(2**32)
        expected[address] = (expected[address] + amount) % 2**32
        assert link.add(address, amount) == expected[address]
    # ADD is not idempotent: reading every register back shows any double application
    assert [link.read(address) for address in range(16)] == expected
    assert link.statistics.retries > 0
    with pytest.raises(LinkError, match="BAD_ADDRESS"):
        link.read(16)


@pytest.mark.parametrize("first_sequence", [0, 222])
def test_the_host_link_works_through_the_board_uarts(first_sequence: int) -> None:
    # 4 cycles per bit: 40 per byte, about 90 from the request's last byte to the reply's first; each
    # byte is followed by quiet_cycles, so the engine's silence timeout must be longer than that
    engine = FrameEngine(register_count=4, silence_cycles=400)
    device = GatewareDevice(SerialLoop(engine, divisor=4), quiet_cycles=150, max_idle_cycles=1000)
    try:
        faults = LineFaults(drop=0.01, corrupt=0.01)
        transport = SimulatedTransport(device, to_device=faults, from_device=faults, seed=4)
        link = Link(transport, retries=50, first_sequence=first_sequence)
        assert link.ping(b"uart") == b"uart"
        total = 0
        for amount in range(1, 11):
            total += amount
            assert link.add(2, amount) == total
        assert link.read(2) == total
    finally:
        device.close()


@pytest.mark.parametrize("gap_cycles, answered", [(50, False), (300, True)], ids=["short-gap", "long-gap"])
def test_a_frame_that_stops_arriving_is_abandoned_after_the_silence_timeout(
    gap_cycles: int, answered: bool
) -> None:
    # a false SYNC whose LENGTH (200) runs past the real frames: within the silence timeout the next
    # frame is swallowed as its payload; after it, the receiver hunts again and answers the next frame
    device = GatewareDevice(FrameEngine(register_count=4, silence_cycles=200), quiet_cycles=16)
    try:
        model = DeviceModel(register_count=4)
        device.receive(bytes([0xA5, 200, 7]), now_s=0.0)
        start_s = device.cycles / 1e6
        good = Frame(sequence=3, command=Command.PING, payload=b"hi").encode()
        reply = device.receive(good, now_s=start_s + gap_cycles / 1e6)
        assert reply == (model.receive(good) if answered else b"")
    finally:
        device.close()
