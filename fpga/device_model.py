"""The device side of the host link in Python: the reference the gateware frame engine is held against.

The device applies each sequence number at most once: a request whose sequence number equals the last
one it applied is answered by replaying the stored reply, without applying it again. That is what makes
the host's retries safe when a reply (rather than the request) was lost.
"""

from __future__ import annotations

from pulsetrain.fpga.protocol import REPLY_FLAG, STATUS_BASE, Command, Frame, FrameParser, Status

#: number of 32-bit registers the reference device holds
REGISTER_COUNT = 16


class DeviceModel:
    """A register file served over the framed protocol.

    Parameters
    ----------
    register_count
        Number of 32-bit registers (addresses 0..register_count-1).
    max_payload
        Longest request payload the device stores; a longer request is answered ``BAD_LENGTH`` (the
        gateware keeps its payload in a few registers, not a block RAM).
    status_count
        Number of read-only 32-bit status words, read at ``STATUS_BASE + i``.
    """

    def __init__(
        self, *, register_count: int = REGISTER_COUNT, max_payload: int = 255, status_count: int = 8
    ) -> None:
        if not 1 <= register_count <= 256:
            raise ValueError(f"register_count must be 1..256, not {register_count!r}")
        if not 5 <= max_payload <= 255:
            raise ValueError(f"max_payload must be 5..255, not {max_payload!r}")
        if not 1 <= status_count <= 128:
            raise ValueError(f"status_count must be 1..128, not {status_count!r}")
        self.max_payload = max_payload
        #: read-only status words (what the served logic reports; a test sets them)
        self.status = [0] * status_count
        self.registers = [0] * register_count
        #: commands applied (not replayed): the witness that nothing ran twice
        self.applied = 0
        #: requests answered from the replay store
        self.replayed = 0
        self._parser = FrameParser()
        self._last_sequence: int | None = None
        self._last_reply = b""

    def receive(self, data: bytes, now_s: float = 0.0) -> bytes:
        """Take bytes from the line; return the reply bytes they cause (possibly none).

        ``now_s`` (the line's clock) is not used: the model buffers bytes and rescans after a bad
        checksum, so gaps on the line change nothing for it."""
        out = bytearray()
        for frame in self._parser.feed(data):
            if frame.command & REPLY_FLAG:
                continue  # our own echo or noise that looks like a reply: never applied
            if frame.sequence == self._last_sequence:
                self.replayed += 1
            else:
                reply = Frame(
                    sequence=frame.sequence, command=frame.command | REPLY_FLAG, payload=self._apply(frame)
                )
                self._last_sequence = frame.sequence
                self._last_reply = reply.encode()
            out.extend(self._last_reply)
        return bytes(out)

    def _apply(self, frame: Frame) -> bytes:
        """Execute one request; return its reply payload."""
        self.applied += 1
        payload = frame.payload
        if len(payload) > self.max_payload:
            return bytes([Status.BAD_LENGTH])
        if frame.command == Command.PING:
            return payload
        if frame.command not in (Command.WRITE, Command.READ, Command.ADD):
            return bytes([Status.BAD_COMMAND])
        expected = 1 if frame.command == Command.READ else 5
        if len(payload) != expected:
            return bytes([Status.BAD_LENGTH])
        address = payload[0]
        if frame.command == Command.READ and 0 <= address - STATUS_BASE < len(self.status):
            return bytes([Status.OK]) + self.status[address - STATUS_BASE].to_bytes(4, "little")
        if address >= len(self.registers):
            return bytes([Status.BAD_ADDRESS])
        if frame.command == Command.WRITE:
            self.registers[address] = int.from_bytes(payload[1:], "little")
        elif frame.command == Command.ADD:
            value = self.registers[address] + int.from_bytes(payload[1:], "little")
            self.registers[address] = value % 2**32
        return bytes([Status.OK]) + self.registers[address].to_bytes(4, "little")
