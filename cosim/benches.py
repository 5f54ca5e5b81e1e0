"""Registry of the block benches: which component, which cocotb module, which config, how long.

``pulsetrain cosim --bench NAME`` and the long randomized test mode run benches from here; the default
test mode runs the same benches with small configs and few cycles (tests/test_cosim_*.py). A block's
bench goes by the block's catalogue name (:data:`pulsetrain.catalogue.BLOCKS`), which also names its
cocotb module and top module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pulsetrain.cosim import runner
from pulsetrain.cosim.coverage import format_summary, unhit_bins

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, to_plain


@dataclass(frozen=True)
class BenchEntry:
    """One block bench."""

    #: one line for ``--list``
    description: str
    #: cocotb test module (dotted name)
    module: str
    #: top module name of the built Verilog
    toplevel: str
    #: () -> the block's config for the bench
    config: Callable[[], Any]
    #: config -> the Amaranth component
    component: Callable[[Any], Any]
    #: bench parameters (besides config and seed) in default and long mode
    short: dict[str, Any]
    long: dict[str, Any]
    #: extra JSON parameters derived from the config (e.g. line counts)
    extra: Callable[[Any], dict[str, Any]] = lambda config: {}


def _lfsr_config() -> Any:
    from pulsetrain.periphery.lfsr import LfsrConfig

    return LfsrConfig(width=16, seed=0xACE1)


def _lfsr_bank(config: Any) -> Any:
    from pulsetrain.rtl.lfsr import LfsrBank

    return LfsrBank(config, 3)


def _chopper_config() -> Any:
    from pulsetrain.periphery.chopper import ChopperConfig

    return ChopperConfig(lines=6, flip_probability=0.3)


def _chopper(config: Any) -> Any:
    from pulsetrain.rtl.chopper import ChopperSign

    return ChopperSign(config)


def _pulse_config() -> Any:
    from pulsetrain.periphery.lfsr import LfsrConfig
    from pulsetrain.periphery.pulse import PulseGeneratorConfig

    lfsr = LfsrConfig(width=12, seed=0x5A5, steps_per_advance=4)
    return PulseGeneratorConfig(
        x_lines=5, d_lines=3, bl_counter_bits=3, bl_max=7, probability_bits=4, lfsr=lfsr
    )


def _pulse(config: Any) -> Any:
    from pulsetrain.rtl.pulse_generator import PulseGenerator

    return PulseGenerator(config)


def _adc_config() -> Any:
    from pulsetrain.periphery.adc import AdcMode, AdcReadoutConfig

    return AdcReadoutConfig(columns=6, columns_per_adc=4, adc_bits=4, mode=AdcMode.SAR)


def _adc(config: Any) -> Any:
    from pulsetrain.rtl.adc_readout import AdcReadout

    return AdcReadout(config)


def _transfer_config() -> Any:
    from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode

    return TransferControllerConfig(
        mode=TransferMode.AGAD,
        in_size=4,
        out_size=3,
        adc_bits=6,
        transfer_lr_per_lsb=0.125,
        max_pulses_per_transfer=2,
        in_chop_prob=0.5,
    )


def _transfer(config: Any) -> Any:
    from pulsetrain.rtl.transfer_controller import TransferController

    return TransferController(config)


def _sbe_config() -> Any:
    from pulsetrain.periphery.sbe import SbeConfig

    return SbeConfig(rows=5, cols=3, batch_bits=3)


def _sbe(config: Any) -> Any:
    from pulsetrain.rtl.sbe_unit import SbeUnit

    return SbeUnit(config)


def _running_sum_config() -> Any:
    return None


def _running_sum(config: Any) -> Any:
    from pulsetrain.cosim.demo import RunningSum

    return RunningSum()


def _block_bench(
    block: str,
    description: str,
    config: Callable[[], Any],
    component: Callable[[Any], Any],
    short: dict[str, Any],
    long: dict[str, Any],
    *,
    toplevel: str | None = None,
    extra: Callable[[Any], dict[str, Any]] = lambda config: {},
) -> tuple[str, BenchEntry]:
    """The bench of catalogue block ``block``: its name, cocotb module and top module from the catalogue."""
    spec = catalogue.BLOCKS[block]
    if spec.bench is None:
        raise ConfigError(f"block {block!r} has no bench in the catalogue")
    entry = BenchEntry(
        description, spec.bench, toplevel or spec.toplevel, config, component, short, long, extra
    )
    return spec.name, entry


#: bench name -> bench: every catalogue block with a bench (under the block's name), and the kit's demo
BENCHES: dict[str, BenchEntry] = dict(
    [
        (
            "running-sum",
            BenchEntry(
                "the kit's own stream component (driver, back-pressure, scoreboard)",
                "pulsetrain.cosim.bench_demo",
                "running_sum",
                _running_sum_config,
                _running_sum,
                {"items": 300},
                {"items": 20_000},
            ),
        ),
        _block_bench(
            "lfsr",
            "LFSR bank (3 lines) against TwinLfsrBank, every state every cycle",
            _lfsr_config,
            _lfsr_bank,
            {"cycles": 400},
            {"cycles": 50_000},
            toplevel="lfsr_bank",
            extra=lambda config: {"lines": 3},
        ),
        _block_bench(
            "chopper",
            "chopper signs against TwinChopper (events, write and read XOR paths)",
            _chopper_config,
            _chopper,
            {"cycles": 300},
            {"cycles": 50_000},
        ),
        _block_bench(
            "pulse-generator",
            "pulse generator against TwinPulseGenerator, with the analog bridge into a model tile",
            _pulse_config,
            _pulse,
            {"updates": 25},
            {"updates": 2_000},
        ),
        _block_bench(
            "adc-readout",
            "SAR ADC readout against TwinAdcReadout, comparators answered from model reads",
            _adc_config,
            _adc,
            {"readouts": 8, "sink": "random60"},
            {"readouts": 400, "sink": "random60"},
        ),
        _block_bench(
            "transfer-controller",
            "AGAD transfer controller against TwinTransferPeriphery (H, pulses to C, choppers, reference)",
            _transfer_config,
            _transfer,
            {"updates": 40},
            {"updates": 2_000},
        ),
        _block_bench(
            "sbe-unit",
            "rank-1 SBE unit against SbeUnitTwin (X, D, norms, projection sum, count per batch)",
            _sbe_config,
            _sbe,
            {"batches": 6},
            {"batches": 300},
        ),
    ]
)


def run_named_bench(
    name: str, simulator: runner.SimulatorName, *, seed: int = 1, long_mode: bool = False
) -> dict[str, Any]:
    """Build and run bench ``name``; a JSON-ready document with pass/fail, coverage and unhit bins."""
    if name not in BENCHES:
        raise ConfigError(f"--bench must be one of {', '.join(BENCHES)}; not {name!r}")
    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        raise ConfigError(f"sim {simulator.value} is not available: {reason}")
    entry = BENCHES[name]
    config = entry.config()
    built = runner.build(
        runner.verilog_of(entry.component(config), entry.toplevel), entry.toplevel, simulator
    )
    parameters = {
        "config": to_plain(config) if config is not None else None,
        "seed": seed,
        **entry.extra(config),
        **(entry.long if long_mode else entry.short),
    }
    result = runner.run_bench(
        built, entry.module, parameters, seed=seed, name=f"{name}-{seed}-{'long' if long_mode else 'short'}"
    )
    coverage = result.measurements.get("coverage", {})
    lines = [f"bench {name} on {simulator.value}: {'passed' if result.passed else 'FAILED'}"]
    if not result.passed:
        lines.append(result.describe_failure())
    if coverage:
        lines.append(format_summary(coverage))
    return {
        "bench": name,
        "simulator": simulator.value,
        "seed": seed,
        "long": long_mode,
        "passed": result.passed,
        "messages": result.messages,
        "measurements": result.measurements,
        "unhit_bins": unhit_bins(coverage) if coverage else [],
        "waveform": str(result.waveform) if result.waveform else None,
        "run_seconds": result.run_seconds,
        "build_seconds": built.build_seconds,
        "summary": "\n".join(lines),
    }
