"""The board end to end in simulation: the whole top (:class:`~pulsetrain.fpga.board.BoardTop`, elaborated
for :class:`~pulsetrain.fpga.board.SimulationPlatform`) as Verilog on a simulator, the host's own link
code on its UART pins, the model's array on its chip pins (:mod:`pulsetrain.cosim.
bench_fpga`).

:func:`run_board_training` trains N samples with one tile's updates served by the simulated board and
holds the run against the pure model (the twin serving every tile): every pulse decision, the test
accuracy and the SHA-256 of all weights must be equal. :func:`run_board_link` exchanges non-idempotent
ADDs with the board over a faulty line (or a dead one) and reports what came back.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from typing import Any

from pulsetrain.fpga.transport import LineFaults

from pulsetrain.config import ConfigError, check_int, to_plain
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
    #: the tile whose updates the board serves (creation order; -1: the last, the output layer)
    board_tile: int = -1
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
        check_int("first_sequence", self.first_sequence, 0, 255)
        check_int("retries", self.retries, 0, 1000)
        check_int("fault_seed", self.fault_seed, 0, 2**32 - 1)
        check_int("board_tile", self.board_tile, -64, 63)
        for name in ("to_board", "from_board"):
            if not isinstance(getattr(self, name), LineFaults):
                raise ConfigError(f"{name} must be a LineFaults, not {getattr(self, name)!r}")


def board_tile_config(pulse: PulseGeneratorConfig) -> Any:
    """The board's tile periphery around one model tile's pulse generator.

    Chopper probabilities 0: the board serves an sgd tile, whose twin has no chopper, so the chopper's
    XOR onto the sign lines must never flip a sign.
    """
    from pulsetrain.rtl.tile_periphery import TilePeripheryConfig

    from pulsetrain.periphery.transfer import TransferControllerConfig

    return TilePeripheryConfig(
        in_size=pulse.x_lines,
        out_size=pulse.d_lines,
        pulse=pulse,
        transfer=TransferControllerConfig(in_chop_prob=0.0, out_chop_prob=0.0),
    )


def _built_board(pulse: PulseGeneratorConfig, simulator: Any) -> Any:
    """The whole board top (:class:`~pulsetrain.fpga.board.BoardTop`: I/O buffers, UART, frame engine,
    tile periphery) as Verilog, its pins as ports, compiled."""
    from pulsetrain.cosim import runner
    from pulsetrain.fpga.board import board_top_verilog

    verilog = board_top_verilog(board_tile_config(pulse), divisor=SIMULATION_DIVISOR)
    return runner.build(verilog, "board_top", simulator)


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


def _prepare(run: BoardRun) -> tuple[Any, Any, dict[str, Any], PulseGeneratorConfig, int]:
    """Config, data, the pure run's results, the served tile's generator config and index."""
    from pulsetrain.cosim.training import CosimRequest, resolve, run_pure_model
    from pulsetrain.cosim.training_data import data_for

    config = resolve(CosimRequest(options=run.options, samples=run.samples, simulator=run.simulator))
    if config.algo != "sgd":
        raise ConfigError(f"algo must be sgd for the board (its twin has no transfer), not {config.algo!r}")
    data = data_for(config, run.samples)
    model_results, ledger, _ = run_pure_model(config, data)
    tiles = len(ledger.configs)
    if not -tiles <= run.board_tile < tiles:
        raise ConfigError(f"board_tile must be -{tiles}..{tiles - 1}, not {run.board_tile}")
    tile = run.board_tile % tiles
    return config, data, model_results, ledger.configs[tile], tile


def run_board_training(run: BoardRun) -> dict[str, Any]:
    """Pure model, then the same run with the simulated board serving one tile; both compared."""
    from pulsetrain.cosim import runner
    from pulsetrain.cosim.training_data import save_data

    config, data, model_results, pulse, tile = _prepare(run)
    simulator = runner.parse_simulator(run.simulator)
    start = time.perf_counter()
    built = _built_board(pulse, simulator)
    build_seconds = time.perf_counter() - start
    data_file = save_data(data, built.folder / "data" / f"board-{config.seed}-{run.samples}")
    parameters = {
        **_link_parameters(run),
        "data_file": data_file,
        "options": {**to_plain(dict(run.options)), "epochs": 1},
        "bl_max": config.update.desired_bl,
        "board_tile": tile,
        "board_source": to_plain(pulse),
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
        "board_tile": tile,
        "tile": f"{pulse.x_lines}x{pulse.d_lines}",
        "samples": board.get("samples"),
        "updates_served": board.get("updates"),
        "trains_received": board.get("trains_received"),
        "decisions_compared": board.get("decisions_compared"),
        "first_mismatch": board.get("first_mismatch"),
        "mismatches": 0 if matches else 1,
        "matches_model": matches,
        "weights_sha256": board_results.get("weights_sha256"),
        "model_weights_sha256": model_results["weights_sha256"],
        "test_accuracy": board_results.get("test_accuracy"),
        "model_test_accuracy": model_results["test_accuracy"],
        "link": board.get("link"),
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

    _, _, _, pulse, _ = _prepare(run)
    built = _built_board(pulse, runner.parse_simulator(run.simulator))
    parameters = {**_link_parameters(run), "adds": adds, "seed": run.fault_seed}
    result = runner.run_bench(
        built,
        "pulsetrain.cosim.bench_fpga",
        parameters,
        testcase="link_faults_recovered",
        name=f"link-{run.fault_seed}-{adds}-{run.to_board.drop}",
        waves_on_failure=False,
    )
    return {**result.measurements, "passed": result.passed, "bench_failures": result.messages}
