"""Byte transports for the host link: a serial port (pyserial) and an in-memory line with faults.

A transport moves bytes, nothing more; framing, checks and retries live in :mod:`pulsetrain.fpga.link`.
"""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass
from typing import Protocol


class Transport(Protocol):
    """What the link driver needs from a byte pipe."""

    def write(self, data: bytes) -> None:
        """Send ``data``."""

    def read(self, timeout_s: float) -> bytes:
        """Bytes received within ``timeout_s`` seconds (empty when none came)."""


class Device(Protocol):
    """The far end of a simulated line: takes bytes, answers bytes."""

    def receive(self, data: bytes, now_s: float) -> bytes:
        """Consume ``data``, arrived at ``now_s`` on the line's clock; return what the device sends back.

        A clocked device (a gateware simulation) lets the time since the previous call pass first, so
        that it sees the line's gaps (its receiver abandons a frame that stops arriving)."""


class SerialTransport:
    """A serial port through pyserial (a USB-UART bridge to the board).

    Parameters
    ----------
    port
        Device path, for example ``/dev/ttyUSB1``.
    baud
        Line rate in bit/s; must match the gateware's UART divisor.
    """

    def __init__(self, port: str, *, baud: int = 1_000_000) -> None:
        import serial  # pyserial: imported here so the rest of the host side does not need it

        self._port = serial.Serial(port, baudrate=baud, timeout=0)

    def write(self, data: bytes) -> None:
        self._port.write(data)
        self._port.flush()

    def read(self, timeout_s: float) -> bytes:
        self._port.timeout = timeout_s
        first = self._port.read(1)
        return first + self._port.read(self._port.in_waiting) if first else b""

    def close(self) -> None:
        """Release the port."""
        self._port.close()


@dataclass(frozen=True, kw_only=True)
class LineFaults:
    """Per-byte fault probabilities of one direction of a simulated line."""

    #: probability that a byte is lost
    drop: float = 0.0
    #: probability that a byte arrives with some bits flipped
    corrupt: float = 0.0
    #: probability that the line stalls before a byte (a USB latency spike)
    delay: float = 0.0
    #: the longest stall, seconds (each stall is uniform in 0..delay_max_s)
    delay_max_s: float = 0.0

    def __post_init__(self) -> None:
        for name in ("drop", "corrupt", "delay"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in 0..1, not {value!r}")
        if self.delay_max_s < 0:
            raise ValueError(f"delay_max_s must be >= 0, not {self.delay_max_s!r}")


class _Line:
    """One direction: bytes in flight with their arrival times, in order (a UART never reorders)."""

    def __init__(self, faults: LineFaults, rng: random.Random, byte_time_s: float) -> None:
        self._faults = faults
        self._rng = rng
        self._byte_time_s = byte_time_s
        self._in_flight: deque[tuple[float, int]] = deque()
        self._last_arrival_s = 0.0

    def send(self, data: bytes, now_s: float) -> None:
        arrival = max(now_s, self._last_arrival_s)
        for byte in data:
            arrival += self._byte_time_s
            if self._rng.random() < self._faults.delay:
                arrival += self._rng.uniform(0.0, self._faults.delay_max_s)
            if self._rng.random() < self._faults.drop:
                continue
            if self._rng.random() < self._faults.corrupt:
                byte ^= self._rng.randrange(1, 256)
            self._in_flight.append((arrival, byte))
        self._last_arrival_s = arrival

    def next_arrival_s(self) -> float | None:
        return self._in_flight[0][0] if self._in_flight else None

    def take_due(self, now_s: float) -> bytes:
        out = bytearray()
        while self._in_flight and self._in_flight[0][0] <= now_s:
            out.append(self._in_flight.popleft()[1])
        return bytes(out)


class SimulatedTransport:
    """An in-memory line to a :class:`Device`, on a virtual clock, with seeded faults each way.

    Time advances only inside :meth:`read`, so a test of a thousand timeouts runs in milliseconds.

    Parameters
    ----------
    device
        The far end (the Python reference model, or a gateware simulation behind the same interface).
    to_device, from_device
        Faults of each direction.
    seed
        Seed of the fault generator.
    baud
        Line rate, which sets the time one byte takes (10 bit times: start, 8 data, stop).
    """

    def __init__(
        self,
        device: Device,
        *,
        to_device: LineFaults = LineFaults(),
        from_device: LineFaults = LineFaults(),
        seed: int = 0,
        baud: int = 1_000_000,
    ) -> None:
        rng = random.Random(seed)
        byte_time_s = 10.0 / baud
        self._device = device
        self._down = _Line(to_device, rng, byte_time_s)
        self._up = _Line(from_device, rng, byte_time_s)
        #: the virtual clock, seconds
        self.now_s = 0.0

    def write(self, data: bytes) -> None:
        self._down.send(data, self.now_s)

    def read(self, timeout_s: float) -> bytes:
        deadline = self.now_s + timeout_s
        while True:
            self._deliver_to_device()
            received = self._up.take_due(self.now_s)
            if received:
                return received
            pending = [t for t in (self._down.next_arrival_s(), self._up.next_arrival_s()) if t is not None]
            if not pending or min(pending) > deadline:
                self.now_s = deadline
                return b""
            self.now_s = max(self.now_s, min(pending))

    def _deliver_to_device(self) -> None:
        arrived = self._down.take_due(self.now_s)
        if arrived:
            self._up.send(self._device.receive(arrived, self.now_s), self.now_s)
