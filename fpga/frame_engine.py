"""The device side of the host link in gateware: the same protocol as :mod:`pulsetrain.fpga.device_model`.

Bytes come in and go out as 8-bit streams (a UART, or a testbench, on the other side). The engine
checks each frame's CRC-32 with :mod:`amaranth.lib.crc` (the ISO-HDLC parameters, zlib's), applies a new
sequence number once and replays the stored reply to a repeated one, exactly as the reference model.

One difference from the model, by design: after a bad checksum the model rescans the bytes it buffered,
the gateware (which buffers nothing) hunts for SYNC from the next byte on. It may therefore miss a good
frame that arrived inside a corrupted one; the host's retry recovers it, and nothing is applied twice.
"""

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

    def __init__(self, *, register_count: int = 16, max_payload: int = 8, status_count: int = 8) -> None:
        if not 1 <= register_count <= 256:
            raise ValueError(f"register_count must be 1..256, not {register_count!r}")
        if not 5 <= max_payload <= 32:
            raise ValueError(f"max_payload must be 5..32, not {max_payload!r}")
        if not 1 <= status_count <= 128:
            raise ValueError(f"status_count must be 1..128, not {status_count!r}")
        self._status_count = status_count
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

        length, sequence, command = Signal(8), Signal(8), Signal(8)
        count = Signal(8)
        payload = Array(Signal(8, name=f"payload_{i}") for i in range(self._max_payload))
        registers = Array(Signal(32, name=f"register_{i}") for i in range(self._register_count))
        m.d.comb += [self.registers[i].eq(register) for i, register in enumerate(registers)]
        last_sequence, have_last = Signal(8), Signal()
        # the reply body as sent after SYNC: LENGTH, SEQUENCE, COMMAND, PAYLOAD (CRC computed on the fly)
        reply = Array(Signal(8, name=f"reply_{i}") for i in range(3 + self._max_payload))
        send_index = Signal(range(4 + self._max_payload))

        m.d.comb += rx_crc.data.eq(self.rx.payload)
        m.d.sync += self.written.eq(0)  # a strobe: set for one cycle by APPLY below
        with m.FSM():
            with m.State("HUNT"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid & (self.rx.payload == SYNC)):
                    m.d.comb += rx_crc.start.eq(1)
                    m.next = "LENGTH"
            for state, target, following in (
                ("LENGTH", length, "SEQUENCE"),
                ("SEQUENCE", sequence, "COMMAND"),
                ("COMMAND", command, "PAYLOAD"),
            ):
                with m.State(state):
                    m.d.comb += self.rx.ready.eq(1)
                    with m.If(self.rx.valid):
                        m.d.comb += rx_crc.valid.eq(1)
                        m.d.sync += [target.eq(self.rx.payload), count.eq(0)]
                        if state == "COMMAND":
                            with m.If(length == 0):
                                m.next = "CHECK"
                            with m.Else():
                                m.next = following
                        else:
                            m.next = following
            with m.State("PAYLOAD"):
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.comb += rx_crc.valid.eq(1)
                    with m.If(count < self._max_payload):
                        m.d.sync += payload[count].eq(self.rx.payload)
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == length - 1):
                        m.d.sync += count.eq(0)
                        m.next = "CHECK"
            with m.State("CHECK"):  # the 4 CRC bytes
                m.d.comb += self.rx.ready.eq(1)
                with m.If(self.rx.valid):
                    m.d.comb += rx_crc.valid.eq(1)
                    m.d.sync += count.eq(count + 1)
                    with m.If(count == 3):
                        m.next = "DECIDE"
            with m.State("DECIDE"):  # the CRC register now holds the residue of a good frame
                with m.If(~rx_crc.match_detected | command[7]):
                    m.next = "HUNT"
                with m.Elif(have_last & (sequence == last_sequence)):
                    m.next = "SEND_SYNC"  # a repeat: replay, do not apply
                with m.Else():
                    m.next = "APPLY"
            with m.State("APPLY"):
                m.d.sync += [
                    last_sequence.eq(sequence),
                    have_last.eq(1),
                    reply[1].eq(sequence),
                    reply[2].eq(command | REPLY_FLAG),
                ]
                self._apply(m, length, command, payload, registers, reply)
                m.next = "SEND_SYNC"
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
        return m

    def _apply(self, m: Module, length: Signal, command: Signal, payload: Array, registers: Array,
               reply: Array) -> None:
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
