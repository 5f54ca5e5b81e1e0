"""The device side of the host link in gateware: the same protocol as :mod:`pulsetrain.fpga.device_model`.

Bytes come in and go out as 8-bit streams (a UART, or a testbench, on the other side). The engine
checks each frame's CRC-32 with :mod:`amaranth.lib.crc` (the ISO-HDLC parameters, zlib's), applies a new
sequence number once and replays the stored reply to a repeated one, exactly as the reference model.

One difference from the model, by design: after a bad checksum the model rescans the bytes it buffered,
the gateware (which buffers nothing) hunts for SYNC from the next byte on. It may therefore miss a good
frame that arrived inside a corrupted one; the host's retry recovers it, and nothing is applied twice.
A frame that stops arriving (a lost byte, or a false SYNC whose bogus length runs past the real frame's
end) is abandoned after ``silence_cycles`` without a byte, so the host's next retry always finds the
receiver hunting for SYNC.
"""

from typing import Any

from amaranth.hdl import Array, Cat, Module, Mux, Signal
from amaranth.lib import data, stream, wiring
from amaranth.lib.crc import catalog
from amaranth.lib.wiring import In, Out
from pulsetrain.fpga.protocol import REPLY_FLAG, STATUS_BASE, SYNC, Command, Status


class FrameEngine(wiring.Component):
    """Frame receiver, register file and replying transmitter.

    Parameters
    ----------
    register_count
        Number of 32-bit registers.
    max_payload
        Request payload bytes kept (5..32); longer requests are answered ``BAD_LENGTH``.
    status_count
        Number of read-only status words.
    silence_cycles
        Clock cycles without a byte after which a frame that stopped arriving is abandoned (the receiver
        hunts for SYNC again). Longer than any gap inside one frame, shorter than the host's reply
        timeout: :class:`~pulsetrain.fpga.board.BoardCore` sets it to :data:`SILENCE_BYTE_TIMES` byte
        times.

    Attributes
    ----------
    rx : In(stream.Signature(8))
        Bytes from the host.
    tx : Out(stream.Signature(8))
        Bytes to the host.
    registers : Out(data.ArrayLayout(32, register_count))
        The register file, for the logic the host controls through it.
    status : In(data.ArrayLayout(32, status_count))
        Read-only words the host reads at ``STATUS_BASE + i``.
    written : Out(register_count)
        One-cycle strobe per register, the cycle its new value (WRITE or ADD) appears on ``registers``.
    """

    def __init__(
        self,
        *,
        register_count: int = 16,
        max_payload: int = 8,
        status_count: int = 8,
        silence_cycles: int = 1024,
    ) -> None:
        if not 1 <= register_count <= 256:
            raise ValueError(f"register_count must be 1..256, not {register_count!r}")
        if not 5 <= max_payload <= 32:
            raise ValueError(f"max_payload must be 5..32, not {max_payload!r}")
        if not 1 <= status_count <= 128:
            raise ValueError(f"status_count must be 1..128, not {status_count!r}")
        if not 2 <= silence_cycles <= 2**24:
            raise ValueError(f"silence_cycles must be 2..2**24, not {silence_cycles!r}")
        self._status_count = status_count
        self._silence_cycles = silence_cycles
        self._register_count = register_count
        self._max_payload = max_payload
        super().__init__(
            {
                "rx": In(stream.Signature(8)),
                "tx": Out(stream.Signature(8)),
                "registers": Out(data.ArrayLayout(32, register_count)),
                "status": In(data.ArrayLayout(32, status_count)),
                "written": Out(register_count),
            }
        )

    @property
    def register_count(self) -> int:
        """Number of 32-bit registers."""
        return self._register_count

    @property
    def max_payload(self) -> int:
        """Request payload bytes kept."""
        return self._max_payload

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.rx_crc = rx_crc = catalog.CRC32_ISO_HDLC(data_width=8).create()
        m.submodules.tx_crc = tx_crc = catalog.CRC32_ISO_HDLC(data_width=8).create()
        frame = _Frame(self._max_payload)
        registers = Array(Signal(32, name=f"register_{i}") for i in range(self._register_count))
        m.d.comb += [self.registers[i].eq(register) for i, register in enumerate(registers)]
        last_sequence, have_last = Signal(8), Signal()
        # the reply body as sent after SYNC: LENGTH, SEQUENCE, COMMAND, PAYLOAD (CRC computed on the fly)
        reply = Array(Signal(8, name=f"reply_{i}") for i in range(3 + self._max_payload))
        m.d.sync += self.written.eq(0)  # a strobe: set for one cycle by APPLY below
        with m.FSM() as fsm:
            self._receive(m, frame, rx_crc)
            with m.State("DECIDE"):  # the CRC register now holds the residue of a good frame
                with m.If(~rx_crc.match_detected | frame.command[7]):
                    m.next = "HUNT"
                with m.Elif(have_last & (frame.sequence == last_sequence)):
                    m.next = "SEND_SYNC"  # a repeat: replay, do not apply
                with m.Else():
                    m.next = "APPLY"
            with m.State("APPLY"):
                m.d.sync += [
                    last_sequence.eq(frame.sequence),
                    have_last.eq(1),
                    reply[1].eq(frame.sequence),
                    reply[2].eq(frame.command | REPLY_FLAG),
                ]
                self._apply(m, frame.length, frame.command, frame.payload, registers, reply)
                m.next = "SEND_SYNC"
            self._send(m, reply, frame.count, tx_crc)
        self._silence_timeout(m, fsm, frame)
        return m

    def _receive(self, m: Module, frame: "_Frame", rx_crc: Any) -> None:
        """States HUNT .. CHECK: take one frame's bytes, feeding the CRC, keeping up to max_payload."""
        m.d.comb += rx_crc.data.eq(self.rx.payload)
        with m.State("HUNT"):
            m.d.comb += self.rx.ready.eq(1)
            with m.If(self.rx.valid & (self.rx.payload == SYNC)):
                m.d.comb += rx_crc.start.eq(1)
                m.next = "LENGTH"
        for state, target, following in (
            ("LENGTH", frame.length, "SEQUENCE"),
            ("SEQUENCE", frame.sequence, "COMMAND"),
            ("COMMAND", frame.command, "PAYLOAD"),
        ):
            with m.State(state):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.comb += rx_crc.valid.eq(1)
                    m.d.sync += [target.eq(self.rx.payload), frame.count.eq(0)]
                    m.next = following
                    if state == "COMMAND":
                        with m.If(frame.length == 0):
                            m.next = "CHECK"
                with m.If(frame.timed_out):
                    m.next = "HUNT"
        with m.State("PAYLOAD"):
            m.d.comb += self.rx.ready.eq(1)
            with m.If(self.rx.valid):
                m.d.comb += rx_crc.valid.eq(1)
                with m.If(frame.count < self._max_payload):
                    m.d.sync += frame.payload[frame.count].eq(self.rx.payload)
                m.d.sync += frame.count.eq(frame.count + 1)
                with m.If(frame.count == frame.length - 1):
                    m.d.sync += frame.count.eq(0)
                    m.next = "CHECK"
            with m.If(frame.timed_out):
                m.next = "HUNT"
        with m.State("CHECK"):  # the 4 CRC bytes
            m.d.comb += self.rx.ready.eq(1)
            with m.If(self.rx.valid):
                m.d.comb += rx_crc.valid.eq(1)
                m.d.sync += frame.count.eq(frame.count + 1)
                with m.If(frame.count == 3):
                    m.next = "DECIDE"
            with m.If(frame.timed_out):
                m.next = "HUNT"

    def _send(self, m: Module, reply: Array, count: Signal, tx_crc: Any) -> None:
        """States SEND_SYNC .. SEND_CRC: SYNC, the reply body, its CRC-32 computed on the way out."""
        send_index = Signal(range(4 + self._max_payload))
        with m.State("SEND_SYNC"):
            m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(SYNC), tx_crc.start.eq(1)]
            with m.If(self.tx.ready):
                m.d.sync += send_index.eq(0)
                m.next = "SEND_BODY"
        with m.State("SEND_BODY"):
            m.d.comb += [
                self.tx.valid.eq(1),
                self.tx.payload.eq(reply[send_index]),
                tx_crc.data.eq(reply[send_index]),
            ]
            with m.If(self.tx.ready):
                m.d.comb += tx_crc.valid.eq(1)
                m.d.sync += send_index.eq(send_index + 1)
                with m.If(send_index == reply[0] + 2):
                    m.d.sync += count.eq(0)
                    m.next = "SEND_CRC"
        with m.State("SEND_CRC"):  # little endian, as binascii.crc32(...).to_bytes(4, "little")
            m.d.comb += [self.tx.valid.eq(1), self.tx.payload.eq(tx_crc.crc.word_select(count[:2], 8))]
            with m.If(self.tx.ready):
                m.d.sync += count.eq(count + 1)
                with m.If(count == 3):
                    m.next = "HUNT"

    def _silence_timeout(self, m: Module, fsm: Any, frame: "_Frame") -> None:
        """``frame.timed_out``: a frame stopped arriving for ``silence_cycles`` (the states above go back
        to HUNT on it).

        Without it a receiver that took a byte of noise (or a byte inside a frame, after a lost SYNC) for
        a SYNC counts the next frames' bytes as the bogus frame's payload, and identical retries can keep
        it out of step until the host gives up. The host waits ``timeout_s`` (far longer) before a
        retry, so each retry finds the receiver hunting again.
        """
        silence = Signal(range(self._silence_cycles + 1))
        receiving = Signal()
        m.d.comb += receiving.eq(
            fsm.ongoing("LENGTH")
            | fsm.ongoing("SEQUENCE")
            | fsm.ongoing("COMMAND")
            | fsm.ongoing("PAYLOAD")
            | fsm.ongoing("CHECK")
        )
        m.d.comb += frame.timed_out.eq((silence == self._silence_cycles) & ~self.rx.valid)
        with m.If(~receiving | self.rx.valid | frame.timed_out):
            m.d.sync += silence.eq(0)
        with m.Else():
            m.d.sync += silence.eq(silence + 1)

    def _apply(
        self, m: Module, length: Signal, command: Signal, payload: Array, registers: Array, reply: Array
    ) -> None:
        """Execute the request held in ``payload``; fill the reply's LENGTH and PAYLOAD."""

        def answer(status: Status) -> list:
            return [reply[0].eq(1), reply[3].eq(status)]

        address = payload[0]
        value = Cat(payload[1], payload[2], payload[3], payload[4])
        current = registers[address]
        with m.If(length > self._max_payload):
            m.d.sync += answer(Status.BAD_LENGTH)
        with m.Elif(command == Command.PING):
            m.d.sync += reply[0].eq(length)
            m.d.sync += [reply[3 + i].eq(payload[i]) for i in range(self._max_payload)]
        with m.Elif((command != Command.WRITE) & (command != Command.READ) & (command != Command.ADD)):
            m.d.sync += answer(Status.BAD_COMMAND)
        with m.Elif(length != Mux(command == Command.READ, 1, 5)):
            m.d.sync += answer(Status.BAD_LENGTH)
        status_end = STATUS_BASE + self._status_count
        with m.Elif((command == Command.READ) & (address >= STATUS_BASE) & (address < status_end)):
            word = self.status[(address - STATUS_BASE)[:7]]
            m.d.sync += [reply[0].eq(5), reply[3].eq(Status.OK)]
            m.d.sync += [reply[4 + i].eq(word.word_select(i, 8)) for i in range(4)]
        with m.Elif(address >= self._register_count):
            m.d.sync += answer(Status.BAD_ADDRESS)
        with m.Else():
            new = Signal(32)
            with m.Switch(command):
                with m.Case(Command.WRITE):
                    m.d.comb += new.eq(value)
                with m.Case(Command.ADD):
                    m.d.comb += new.eq(current + value)
                with m.Default():
                    m.d.comb += new.eq(current)
            m.d.sync += current.eq(new)
            with m.If(command != Command.READ):
                m.d.sync += self.written.bit_select(address, 1).eq(1)
            m.d.sync += [reply[0].eq(5), reply[3].eq(Status.OK)]
            m.d.sync += [reply[4 + i].eq(new.word_select(i, 8)) for i in range(4)]


class _Frame:
    """The fields of the frame being received (signals of one FrameEngine)."""

    def __init__(self, max_payload: int) -> None:
        self.length, self.sequence, self.command = Signal(8), Signal(8), Signal(8)
        #: bytes taken in the current field (payload or CRC), also the CRC byte index when sending
        self.count = Signal(8)
        self.payload = Array(Signal(8, name=f"payload_{i}") for i in range(max_payload))
        #: the frame stopped arriving (see FrameEngine._silence_timeout)
        self.timed_out = Signal()
