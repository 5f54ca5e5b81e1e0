"""The host link's frame format, shared by the host driver, the device reference model and the gateware.

A frame on the wire, both directions::

    SYNC (0xA5) | LENGTH | SEQUENCE | COMMAND | PAYLOAD (LENGTH bytes) | CRC-32 (4 bytes, little endian)

The CRC-32 is the ISO-HDLC one (zlib's, :func:`binascii.crc32`) over LENGTH..PAYLOAD, so a corrupted
length cannot make the receiver swallow a good frame whole without the check failing. A reply carries
the request's sequence number and its command with :data:`REPLY_FLAG` set. A receiver that finds a bad
checksum drops the frame and hunts for the next SYNC byte; the sender's timeout recovers it.
"""

from __future__ import annotations

import binascii
import enum
from dataclasses import dataclass

#: first byte of every frame; a receiver hunts for it after noise
SYNC = 0xA5
#: bit set in the command byte of a reply
REPLY_FLAG = 0x80
#: largest payload in bytes (LENGTH is one byte)
MAX_PAYLOAD = 255
#: READ addresses from here on read the device's status words (read-only, set by the logic it serves)
STATUS_BASE = 0x80
#: bytes around the payload: SYNC, LENGTH, SEQUENCE, COMMAND and the 4 CRC bytes
OVERHEAD = 8


class Command(enum.IntEnum):
    """What a request asks of the device."""

    #: answer with the payload unchanged (link check)
    PING = 0x01
    #: write a 32-bit register: payload = address (1 byte) + value (4 bytes, little endian)
    WRITE = 0x02
    #: read a 32-bit register: payload = address (1 byte)
    READ = 0x03
    #: add to a 32-bit register (not idempotent: the tests' witness that nothing is applied twice);
    #: payload as WRITE
    ADD = 0x04


class Status(enum.IntEnum):
    """First reply payload byte of a register command."""

    OK = 0x00
    BAD_ADDRESS = 0x01
    BAD_LENGTH = 0x02
    BAD_COMMAND = 0x03


# A register command (WRITE, READ, ADD) is answered with Status (1 byte) + the register value after it ran
# (4 bytes, little endian), or the Status alone when it is not OK.


@dataclass(frozen=True, kw_only=True)
class Frame:
    """One decoded frame."""

    #: sequence number, 0..255, echoed by the reply
    sequence: int
    #: command byte (a :class:`Command`, with :data:`REPLY_FLAG` on replies)
    command: int
    #: payload bytes, at most :data:`MAX_PAYLOAD`
    payload: bytes = b""

    def __post_init__(self) -> None:
        if not 0 <= self.sequence <= 255:
            raise ValueError(f"sequence must be 0..255, not {self.sequence!r}")
        if not 0 <= self.command <= 255:
            raise ValueError(f"command must be 0..255, not {self.command!r}")
        if len(self.payload) > MAX_PAYLOAD:
            raise ValueError(f"payload must be at most {MAX_PAYLOAD} bytes, not {len(self.payload)}")

    def encode(self) -> bytes:
        """The frame's bytes on the wire."""
        body = bytes([len(self.payload), self.sequence, self.command]) + self.payload
        return bytes([SYNC]) + body + binascii.crc32(body).to_bytes(4, "little")


class FrameParser:
    """Incremental decoder: feed bytes as they arrive, take the good frames out.

    Noise before a SYNC byte is skipped; a frame with a bad CRC is dropped and the hunt restarts one byte
    after its SYNC, so a good frame hidden inside a corrupted one's length is still found.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        #: frames dropped for a bad checksum (a count for reports and tests)
        self.bad_frames = 0

    def feed(self, data: bytes) -> list[Frame]:
        """Append ``data``; return every complete, checked frame now decodable, in order."""
        self._buffer.extend(data)
        frames: list[Frame] = []
        while True:
            start = self._buffer.find(SYNC)
            if start < 0:
                self._buffer.clear()
                return frames
            del self._buffer[:start]
            if len(self._buffer) < 2:
                return frames
            total = self._buffer[1] + OVERHEAD
            if len(self._buffer) < total:
                return frames
            body = bytes(self._buffer[1 : total - 4])
            crc = int.from_bytes(self._buffer[total - 4 : total], "little")
            if binascii.crc32(body) != crc:
                self.bad_frames += 1
                del self._buffer[:1]
                continue
            del self._buffer[:total]
            frames.append(Frame(sequence=body[1], command=body[2], payload=body[3:]))

    def resync(self) -> list[Frame]:
        """The line went quiet with a frame still incomplete: give it up; return the good frames after it.

        A corrupted LENGTH byte can announce up to 255 payload bytes, and the parser would swallow that
        many of the following frames before its checksum fails. When no byte comes for a timeout the
        incomplete frame will not complete: its SYNC is dropped and the rest is searched again, and so on
        until nothing incomplete is left (the buffer ends empty).
        """
        frames = self.feed(b"")
        while self._buffer:
            self.bad_frames += 1
            del self._buffer[:1]
            frames.extend(self.feed(b""))
        return frames
