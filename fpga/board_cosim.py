"""The board end to end in simulation: the whole top (:class:`~pulsetrain.fpga.board.BoardTop`, elaborated
for :class:`~pulsetrain.fpga.board.SimulationPlatform`) as Verilog on a simulator, the host's own link
code on its UART pins, the model's array on its chip pins (:mod:`pulsetrain.cosim.
bench_fpga`).

:func:`run_board_training` trains N samples with the updates of every tile (or of those named) served by
the simulated board, one tile periphery per tile, and holds the run against the pure model (the twin
serving every tile): every pulse decision, the test
accuracy and the SHA-256 of all weights must be equal. :func:`run_board_link` exchanges non-idempotent
ADDs with the board over a faulty line (or a dead one) and reports what came back.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from pulsetrain.fpga.host import MAX_TILES, REGISTERS_PER_TILE, SPARE_REGISTERS
from pulsetrain.fpga.transport import LineFaults

from pulsetrain.config import ConfigError, check_int, to_plain
from pulsetrain.periphery.adc import AdcReadoutConfig
from pulsetrain.periphery.pulse import PulseGeneratorConfig

#: UART clock cycles per bit in simulation (a board runs 12-25; 4 keeps the simulated bytes short)
SIMULATION_DIVISOR = 4
#: the host's reply timeout in simulated seconds: well above one exchange (26 bytes at 40 cycles of
#: 10 ns) and above the board's silence timeout (64 byte times = 25.6 us), as on a real board
SIMULATION_TIMEOUT_S = 100e-6


@dataclass(frozen=True, kw_only=True)
class BoardRun:
    """One simulated board run."""

    #: training options as the ``train`` command takes them (``algo``, ``seed``, ``network.hidden``...)
    options: dict[str, Any] = field(default_factory=lambda: {"algo": "sgd", "seed": 2, "network.hidden": "2"})
    #: training samples (the first N of the shuffled training set)
    samples: int = 3
    #: test samples of the end-of-run accuracy pass (the first N of the test set); each is one forward
    #: readout per tile through the board
    test_samples: int = 12
    #: the tiles whose updates the board serves, one tile periphery each (creation order, input side
    #: first; negative counts from the last); None: every tile that updates in the pure run
    board_tiles: tuple[int, ...] | None = None
    #: faults of the host-to-board direction
    to_board: LineFaults = LineFaults()
    #: faults of the board-to-host direction
    from_board: LineFaults = LineFaults()
    #: seed of the fault draws
    fault_seed: int = 0
    #: the link's first sequence number
    first_sequence: int = 0
    #: tries after the first before the link gives up
    retries: int = 8
    #: simulator name
    simulator: str = "verilator"

    def __post_init__(self) -> None:
        check_int("samples", self.samples, 1, 10_000_000)
        check_int("test_samples", self.test_samples, 1, 10_000_000)
        check_int("first_sequence", self.first_sequence, 0, 255)
        check_int("retries", self.retries, 0, 1000)
        check_int("fault_seed", self.fault_seed, 0, 2**32 - 1)
        if self.board_tiles is not None:
            if not isinstance(self.board_tiles, tuple) or not self.board_tiles:
                raise ConfigError(f"board_tiles must be a non-empty tuple or None, not {self.board_tiles!r}")
            for tile in self.board_tiles:
                check_int("board_tiles", tile, -64, 63)
        for name in ("to_board", "from_board"):
            if not isinstance(getattr(self, name), LineFaults):
                raise ConfigError(f"{name} must be a LineFaults, not {getattr(self, name)!r}")


def spare_register_addresses(tiles: int) -> list[int]:
    """Addresses of the registers that drive nothing on a board of ``tiles`` tile peripheries."""
    first = REGISTERS_PER_TILE * tiles
    return list(range(first, first + SPARE_REGISTERS))


def board_tile_config(pulse: PulseGeneratorConfig, adc: AdcReadoutConfig | None = None) -> Any:
    """The board's tile periphery around one model tile's pulse generator and forward-read ADC.

    ``adc``: the ADC readout of the tile's forward reads (the model's resolution; None: the periphery's
    default). Chopper probabilities 0: the board serves an sgd tile, whose twin has no chopper, so the
    chopper's XOR onto the sign lines must never flip a sign.
    """
    from pulsetrain.rtl.tile_periphery import TilePeripheryConfig

    from pulsetrain.periphery.transfer import TransferControllerConfig

    return TilePeripheryConfig(
        in_size=pulse.x_lines,
        out_size=pulse.d_lines,
        pulse=pulse,
        adc=adc or AdcReadoutConfig(),
        transfer=TransferControllerConfig(in_chop_prob=0.0, out_chop_prob=0.0),
    )


def _built_board(configs: list[Any], simulator: Any) -> Any:
    """The whole board top (:class:`~pulsetrain.fpga.board.BoardTop`: I/O buffers, UART, frame engine,
    one tile periphery per served tile) as Verilog, its pins as ports, compiled."""
    from pulsetrain.cosim import runner
    from pulsetrain.fpga.board import board_top_verilog

    verilog = board_top_verilog(configs, divisor=SIMULATION_DIVISOR)
    return runner.build(verilog, "board_top", simulator)


def _board_parameters(configs: list[Any]) -> dict[str, Any]:
    """What the bench needs to rebuild the board's tile periphery configs (its handshake compares them)."""
    return {
        "board_sources": [to_plain(config.pulse) for config in configs],
        "board_adcs": [to_plain(config.adc) for config in configs],
    }


def _link_parameters(run: BoardRun) -> dict[str, Any]:
    return {
        "divisor": SIMULATION_DIVISOR,
        "timeout_s": SIMULATION_TIMEOUT_S,
        "retries": run.retries,
        "first_sequence": run.first_sequence,
        "to_board": dataclasses.asdict(run.to_board),
        "from_board": dataclasses.asdict(run.from_board),
        "fault_seed": run.fault_seed,
    }


def _prepare(run: BoardRun) -> tuple[Any, Any, dict[str, Any], list[Any], list[int]]:
    """Config, data, the pure run's results, the board's tile periphery configs and the network tiles
    they serve (creation order; board periphery ``k`` serves network tile ``tiles[k]``).

    The pure run converts every read with the model's ``rint(value / lsb)`` (the codes the board run
    checks its ADC's against) and records each tile's forward-read ADC, which the board's periphery of
    that tile gets."""
    from pulsetrain.cosim.training import CosimRequest, resolve, run_pure_model
    from pulsetrain.cosim.training_data import data_for

    request = CosimRequest(
        options=run.options, samples=run.samples, test_samples=run.test_samples, simulator=run.simulator
    )
    config = resolve(request)
    if config.algo != "sgd":
        raise ConfigError(f"algo must be sgd for the board (its twin has no transfer), not {config.algo!r}")
    data = data_for(config, run.samples, run.test_samples)
    reads: dict[tuple[int, bool], Any] = {}
    model_results, ledger, _ = run_pure_model(config, data, reads)
    count = len(ledger.configs)
    if run.board_tiles is None:
        tiles = ledger.used()
    else:
        for tile in run.board_tiles:
            if not -count <= tile < count:
                raise ConfigError(f"board_tiles must be -{count}..{count - 1}, not {tile}")
        tiles = sorted({tile % count for tile in run.board_tiles})
    if len(tiles) > MAX_TILES:
        raise ConfigError(f"board_tiles must name at most {MAX_TILES} tiles (one board), not {len(tiles)}")
    configs = [
        board_tile_config(
            ledger.configs[tile], reads[(tile, False)].config if (tile, False) in reads else None
        )
        for tile in tiles
    ]
    return config, data, model_results, configs, tiles


def run_board_training(run: BoardRun) -> dict[str, Any]:
    """Pure model, then the same run with the simulated board serving the run's tiles; both compared."""
    from pulsetrain.cosim import runner
    from pulsetrain.cosim.training_data import save_data

    config, data, model_results, configs, tiles = _prepare(run)
    simulator = runner.parse_simulator(run.simulator)
    start = time.perf_counter()
    built = _built_board(configs, simulator)
    build_seconds = time.perf_counter() - start
    data_file = save_data(
        data, built.folder / "data" / f"board-{config.seed}-{run.samples}-{run.test_samples}"
    )
    parameters = {
        **_link_parameters(run),
        "data_file": data_file,
        "options": {**to_plain(dict(run.options)), "epochs": 1},
        "bl_max": config.update.desired_bl,
        "board_tiles": tiles,
        **_board_parameters(configs),
    }
    result = runner.run_bench(
        built,
        "pulsetrain.cosim.bench_fpga",
        parameters,
        testcase="train_through_the_board",
        name=f"train-{config.seed}-{run.samples}-{run.fault_seed}",
        waves_on_failure=False,  # a traced rebuild costs minutes; PULSETRAIN_WAVES=1 asks for one
    )
    board = result.measurements
    board_results = board.get("results") or {}
    matches = bool(
        result.passed
        and board.get("first_mismatch") is None
        and board_results.get("weights_sha256") == model_results["weights_sha256"]
        and board_results.get("test_accuracy") == model_results["test_accuracy"]
    )
    return {
        "board_tiles": tiles,
        "tiles": [f"{config.in_size}x{config.out_size}" for config in configs],
        "samples": board.get("samples"),
        "updates_served": board.get("updates"),
        "updates_by_tile": board.get("updates_by_tile"),
        "trains_received": board.get("trains_received"),
        "decisions_compared": board.get("decisions_compared"),
        "readouts": board.get("readouts"),
        "adc_codes_compared": board.get("adc_codes_compared"),
        "first_mismatch": board.get("first_mismatch"),
        "mismatches": 0 if matches else 1,
        "matches_model": matches,
        "weights_sha256": board_results.get("weights_sha256"),
        "model_weights_sha256": model_results["weights_sha256"],
        "test_accuracy": board_results.get("test_accuracy"),
        "model_test_accuracy": model_results["test_accuracy"],
        "link": board.get("link"),
        "identity": board.get("identity"),
        "simulated_seconds": board.get("simulated_seconds"),
        "wall_seconds": result.run_seconds,
        "build_seconds": build_seconds,
        "error": board.get("error"),
        "bench_failures": result.messages,
        "log": str(result.log),
    }


def run_board_link(run: BoardRun, adds: int) -> dict[str, Any]:
    """``adds`` random ADDs to the board's free registers over the run's line, then every one read back."""
    from pulsetrain.cosim import runner

    _, _, _, configs, _ = _prepare(run)
    built = _built_board(configs, runner.parse_simulator(run.simulator))
    parameters = {
        **_link_parameters(run),
        "adds": adds,
        "seed": run.fault_seed,
        "spare_registers": spare_register_addresses(len(configs)),
        **_board_parameters(configs),
    }
    result = runner.run_bench(
        built,
        "pulsetrain.cosim.bench_fpga",
        parameters,
        testcase="link_faults_recovered",
        name=f"link-{run.fault_seed}-{adds}-{run.to_board.drop}",
        waves_on_failure=False,
    )
    return {**result.measurements, "passed": result.passed, "bench_failures": result.messages}
