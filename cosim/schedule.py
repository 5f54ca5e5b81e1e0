"""BP versus DFA cycles per training sample, measured on the schedule controller RTL.

One top (:func:`schedule_sweep`) holds a :class:`~pulsetrain.rtl.schedule_controller.ScheduleController`
per depth and mode (BP and DFA for depths 2..6 of the 64-32-...-10 MLP), so one build serves the whole
table. The bench (:mod:`pulsetrain.cosim.bench_schedule`) starts them all in the same cycle, waits for
every ``done`` and reads every cycle counter; the host sets the RTL's cycles beside the model's schedule
estimate (:func:`pulsetrain.model.schedule.latency_by_depth`) and the twin's.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pulsetrain.cosim import runner

from pulsetrain.config import ConfigError, to_plain
from pulsetrain.periphery.schedule import ScheduleConfig, ScheduleMode

DEPTHS = (2, 3, 4, 5, 6)


def sweep_configs(depths: tuple[int, ...] = DEPTHS) -> dict[str, ScheduleConfig]:
    """``d{depth}_{mode}`` -> controller config, for every depth in BP and DFA mode."""
    from pulsetrain.model.schedule import mlp_sizes

    configs: dict[str, ScheduleConfig] = {}
    for depth in depths:
        base = ScheduleConfig(mode=ScheduleMode.BP, layer_sizes=mlp_sizes(depth))
        for mode in (ScheduleMode.BP, ScheduleMode.DFA):
            configs[f"d{depth}_{mode.value}"] = dataclasses.replace(base, mode=mode)
    return configs


def schedule_sweep(configs: dict[str, ScheduleConfig]) -> Any:
    """An Amaranth top with one schedule controller per entry, ports prefixed with the entry's name."""
    from amaranth.hdl import Module
    from amaranth.lib import wiring
    from amaranth.lib.wiring import Out
    from pulsetrain.rtl.schedule_controller import ScheduleController

    class ScheduleSweep(wiring.Component):
        """Schedule controllers side by side (one build for the whole BP/DFA table)."""

        def __init__(self) -> None:
            self._controllers = {name: ScheduleController(config) for name, config in configs.items()}
            super().__init__({name: Out(c.signature) for name, c in self._controllers.items()})

        def elaborate(self, platform: object) -> Module:
            m = Module()
            for name, controller in self._controllers.items():
                m.submodules[name] = controller
                wiring.connect(m, wiring.flipped(getattr(self, name)), controller)
            return m

    return ScheduleSweep()


def run_schedule_sweep(
    simulator: runner.SimulatorName, depths: tuple[int, ...] = DEPTHS, component: Any = None
) -> dict[str, Any]:
    """Cycles per sample of BP and DFA per depth from the RTL, beside the model and the twin."""
    from pulsetrain.model.schedule import latency_by_depth
    from pulsetrain.model.twins.schedule import ScheduleControllerTwin

    reason = runner.unavailable_reason(simulator)
    if reason is not None:
        raise ConfigError(f"sim {simulator.value} is not available: {reason}")
    configs = sweep_configs(depths)
    top = component if component is not None else schedule_sweep(configs)
    built = runner.build(runner.verilog_of(top, "schedule_sweep"), "schedule_sweep", simulator)
    result = runner.run_bench(
        built,
        "pulsetrain.cosim.bench_schedule",
        {"names": list(configs)},
        name=f"sweep-{'-'.join(map(str, depths))}",
    )
    rtl_cycles: dict[str, int] = result.measurements.get("cycles", {})
    model_rows = {int(row["depth"]): row for row in latency_by_depth(depths)}
    rows = []
    for depth in depths:
        bp, dfa = rtl_cycles.get(f"d{depth}_bp"), rtl_cycles.get(f"d{depth}_dfa")
        twin_bp = ScheduleControllerTwin(configs[f"d{depth}_bp"]).run_sample().cycles
        twin_dfa = ScheduleControllerTwin(configs[f"d{depth}_dfa"]).run_sample().cycles
        model = model_rows[depth]
        rows.append(
            {
                "depth": depth,
                "rtl_bp_cycles": bp,
                "rtl_dfa_cycles": dfa,
                "rtl_speedup": (bp / dfa) if bp and dfa else None,
                "model_bp_cycles": model["bp_cycles"],
                "model_dfa_cycles": model["dfa_cycles"],
                "model_speedup": model["speedup"],
                "twin_bp_cycles": twin_bp,
                "twin_dfa_cycles": twin_dfa,
            }
        )
    agree = result.passed and all(
        r["rtl_bp_cycles"] == r["twin_bp_cycles"] and r["rtl_dfa_cycles"] == r["twin_dfa_cycles"]
        for r in rows
    )
    return {
        "simulator": simulator.value,
        "configs": {name: to_plain(config) for name, config in configs.items()},
        "rows": rows,
        "rtl_matches_twin": agree,
        "passed": result.passed,
        "messages": result.messages,
        "waveform": str(result.waveform) if result.waveform else None,
    }
