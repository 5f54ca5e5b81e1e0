"""The host's driver of the link: one request, one checked reply, retried until it comes.

Each request gets the next sequence number. When no good reply with that number comes within
``timeout_s``, the driver sends the same frame again (same sequence number), up to ``retries`` times; the
device applies a sequence number once and replays its stored reply to a repeat, so a lost reply costs
a retry, never a second application. Replies to earlier sequence numbers (a delayed answer to a request
already retried) are discarded.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from pulsetrain.fpga.protocol import REPLY_FLAG, Command, Frame, FrameParser, Status
from pulsetrain.fpga.transport import Transport


class LinkError(RuntimeError):
    """The device did not answer, or answered with an error status."""


@dataclass(kw_only=True)
class LinkStatistics:
    """What the driver saw (for reports and tests)."""

    #: requests completed
    requests: int = 0
    #: frames sent again after a timeout
    retries: int = 0
    #: good frames discarded because their sequence number or command was not the awaited one
    stale_replies: int = 0
    #: frames dropped for a bad checksum
    bad_frames: int = 0
    #: per-request retry counts, in order (so a test can tell where recovery happened)
    retries_per_request: list[int] = field(default_factory=list)


class Link:
    """Driver of the framed protocol over a :class:`~pulsetrain.fpga.transport.Transport`.

    Parameters
    ----------
    transport
        The byte pipe to the device.
    timeout_s
        How long to wait for a reply before sending the request again.
    retries
        How many times a request is sent again before :class:`LinkError`.
    first_sequence
        Sequence number of the first request; by default a random one, so that a host restarted while
        the device kept running is unlikely (1 in 256) to repeat the device's last sequence number,
        which the device would answer by replay without applying.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        timeout_s: float = 0.05,
        retries: int = 8,
        first_sequence: int | None = None,
    ) -> None:
        if first_sequence is None:
            first_sequence = secrets.randbelow(256)
        if not 0 <= first_sequence <= 255:
            raise ValueError(f"first_sequence must be 0..255, not {first_sequence!r}")
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be > 0, not {timeout_s!r}")
        if not 0 <= retries <= 1000:
            raise ValueError(f"retries must be 0..1000, not {retries!r}")
        self._transport = transport
        self._timeout_s = timeout_s
        self._retries = retries
        self._parser = FrameParser()
        self._sequence = (first_sequence - 1) % 256  # request() advances before sending
        self.statistics = LinkStatistics()

    def request(self, command: int, payload: bytes = b"") -> bytes:
        """Send one request and return its reply payload; :class:`LinkError` when none comes."""
        self._sequence = (self._sequence + 1) % 256
        frame = Frame(sequence=self._sequence, command=command, payload=payload).encode()
        for attempt in range(self._retries + 1):
            self._transport.write(frame)
            reply = self._await_reply(command)
            if reply is not None:
                self.statistics.requests += 1
                self.statistics.retries_per_request.append(attempt)
                return reply
            self.statistics.retries += attempt < self._retries
        total_s = self._timeout_s * (self._retries + 1)
        raise LinkError(
            f"the device did not answer command 0x{command:02x} (sequence {self._sequence}) within "
            f"{total_s:g} s ({self._retries + 1} tries of {self._timeout_s:g} s): is the board powered, "
            "programmed with the pulsetrain bitstream and on this port at this baud rate?"
        )

    def _await_reply(self, command: int) -> bytes | None:
        """The payload of the reply to the current sequence number, or None after a quiet timeout."""
        while True:
            data = self._transport.read(self._timeout_s)
            before = self._parser.bad_frames
            # a quiet line: an incomplete frame (perhaps a corrupted LENGTH) will not complete; drop it
            frames = self._parser.feed(data) if data else self._parser.resync()
            self.statistics.bad_frames += self._parser.bad_frames - before
            for index, frame in enumerate(frames):
                if frame.sequence == self._sequence and frame.command == command | REPLY_FLAG:
                    self.statistics.stale_replies += len(frames) - index - 1
                    return frame.payload
                self.statistics.stale_replies += 1
            if not data:
                return None

    # ---- register commands --------------------------------------------------------------------------

    def ping(self, payload: bytes = b"") -> bytes:
        """Echo ``payload`` through the device."""
        return self.request(Command.PING, payload)

    def write(self, address: int, value: int) -> int:
        """Write a 32-bit register; return the value the device holds after."""
        return self._register(Command.WRITE, address, value)

    def read(self, address: int) -> int:
        """Read a 32-bit register."""
        return self._register(Command.READ, address, None)

    def add(self, address: int, value: int) -> int:
        """Add ``value`` to a register (modulo 2**32); return the new value."""
        return self._register(Command.ADD, address, value)

    def _register(self, command: Command, address: int, value: int | None) -> int:
        if not 0 <= address <= 255:
            raise ValueError(f"address must be 0..255, not {address!r}")
        payload = bytes([address])
        if value is not None:
            if not 0 <= value < 2**32:
                raise ValueError(f"value must be 0..2**32-1, not {value!r}")
            payload += value.to_bytes(4, "little")
        reply = self.request(command, payload)
        if reply[:1] != bytes([Status.OK]) or len(reply) != 5:
            status = Status(reply[0]).name if reply and reply[0] in set(Status) else reply.hex()
            raise LinkError(f"the device refused {command.name} at address {address}: {status}")
        return int.from_bytes(reply[1:], "little")
