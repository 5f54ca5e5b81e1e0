"""Report part ``schedule``: BP versus DFA cycles per sample, from the model's schedule and from the
schedule controller RTL (simulated with the Amaranth simulator)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pulsetrain.report.config import ReportConfig
from pulsetrain.report.page import Plot, Section, Table, colour, figure_png
from pulsetrain.report.part import (
    Part,
    PartData,
    PartOutcome,
    PartPlan,
    failed_outcome,
    failures,
    require,
    short,
    spec_from_plain,
    typed_run,
)

KEY = "schedule"
TITLE = "BP versus DFA: cycles per sample versus depth (model and RTL)"
#: network depths (weight layers) of the MLPs 64-32x(N-1)-10 counted
DEPTHS: tuple[int, ...] = (2, 3, 4, 5, 6)


@dataclass(frozen=True, kw_only=True)
class ScheduleSpec:
    """The depths to count cycles for."""

    #: weight layers of each MLP
    depths: tuple[int, ...]


@dataclass(frozen=True, kw_only=True)
class ScheduleData(PartData):
    """results.json's ``schedule`` entry."""

    #: per depth: cycles of the model's schedule, the twin and the RTL for BP and DFA, and the speed-ups
    rows: list[dict[str, Any]]
    #: the model's schedule and the RTL agree at every depth
    rtl_matches_model: bool
    #: the twin and the RTL agree at every depth
    rtl_matches_twin: bool


def _rtl_cycles(config: Any) -> int:
    """Simulate the ScheduleController RTL (Amaranth simulator) for one sample; its cycle counter."""
    from amaranth.sim import Simulator

    from pulsetrain.rtl.schedule_controller import ScheduleController

    dut = ScheduleController(config)
    simulator = Simulator(dut)
    simulator.add_clock(1e-8)
    measured: list[int] = []
    # a generous bound: every phase at its full cost, sequentially, plus slack
    limit = 4 * sum(config.phase_cycles()) + 100

    async def bench(ctx: Any) -> None:
        ctx.set(dut.start, 1)
        await ctx.tick()
        ctx.set(dut.start, 0)
        for _ in range(limit):
            if ctx.get(dut.done):
                measured.append(int(ctx.get(dut.cycles)))
                return
            await ctx.tick()

    simulator.add_testbench(bench)
    simulator.run()
    if not measured:
        raise RuntimeError(f"the schedule controller did not finish within {limit} cycles")
    return measured[0]


def schedule_cycles_run(plain: Mapping[str, Any]) -> dict[str, Any]:
    """Cycles per training sample of BP and DFA for each depth: the model's schedule and the RTL's count."""
    from pulsetrain.model.schedule import mlp_sizes, training_schedule
    from pulsetrain.model.twins.schedule import ScheduleControllerTwin
    from pulsetrain.periphery.schedule import ScheduleConfig, ScheduleMode

    spec = spec_from_plain(ScheduleSpec, plain)
    rows = []
    for depth in spec.depths:
        row: dict[str, Any] = {"depth": int(depth)}
        for mode in (ScheduleMode.BP, ScheduleMode.DFA):
            config = ScheduleConfig(mode=mode, layer_sizes=mlp_sizes(int(depth)))
            row[f"{mode.value}_model_cycles"] = int(training_schedule(config).total_cycles)
            row[f"{mode.value}_twin_cycles"] = int(ScheduleControllerTwin(config).run_sample().cycles)
            row[f"{mode.value}_rtl_cycles"] = _rtl_cycles(config)
        row["model_speedup"] = row["bp_model_cycles"] / row["dfa_model_cycles"]
        row["rtl_speedup"] = row["bp_rtl_cycles"] / row["dfa_rtl_cycles"]
        rows.append(row)
    return {"rows": rows}


def plan(config: ReportConfig) -> list[PartPlan]:
    """One run over every depth."""
    require("pulsetrain.rtl.schedule_controller", "ScheduleController")
    require("pulsetrain.model.schedule", "training_schedule", "mlp_sizes")
    run = typed_run(schedule_cycles_run, ScheduleSpec(depths=DEPTHS), "schedule cycles by depth")
    return [PartPlan(key=KEY, title=TITLE, runs=(run,), assemble=assemble_schedule)]


def assemble_schedule(results: list[Any]) -> PartOutcome:
    """The cycle table, whether model, twin and RTL agree, and the plot."""
    section = Section(
        KEY,
        TITLE,
        intro=(
            "Per-sample cycles of the BP and DFA schedules for MLPs 64-32x(N-1)-10: the model's schedule "
            "(pulsetrain.model.schedule) and the cycle counter of the ScheduleController RTL simulated "
            "with the Amaranth simulator, from the same ScheduleConfig."
        ),
    )
    failed = failures(results)
    if failed:
        return failed_outcome(section, failed)
    rows = results[0]["rows"]
    header = list(rows[0].keys())
    section.tables.append(Table(header, [[short(row[k]) for k in header] for row in rows]))
    agree = all(row[f"{m}_model_cycles"] == row[f"{m}_rtl_cycles"] for row in rows for m in ("bp", "dfa"))
    twin = all(row[f"{m}_twin_cycles"] == row[f"{m}_rtl_cycles"] for row in rows for m in ("bp", "dfa"))
    section.notes.append(
        "RTL and twin cycle counts agree at every depth."
        if twin
        else "RTL and twin cycle counts DIFFER (see the table)."
    )
    section.notes.append(
        "The model's schedule (used for the studies' latency) agrees with the RTL at every depth."
        if agree
        else "The model's schedule (pulsetrain.model.schedule, which the studies' latency uses) and the "
        "RTL's cycle counter DIFFER (see the table); the speed-ups are compared side by side above."
    )
    section.plots.append(_schedule_plot(rows))
    data = ScheduleData(status="ok", rows=rows, rtl_matches_model=agree, rtl_matches_twin=twin)
    return PartOutcome(section=section, data=data)


def _schedule_plot(rows: list[dict[str, Any]]) -> Plot:
    def draw(figure: Any) -> None:
        left, right = figure.subplots(1, 2)
        depths = [r["depth"] for r in rows]
        for mode, name, algo in (("bp", "BP", "sgd"), ("dfa", "DFA", "dfa")):
            left.plot(
                depths, [r[f"{mode}_model_cycles"] for r in rows], color=colour(algo), label=f"{name} model"
            )
            left.plot(
                depths,
                [r[f"{mode}_rtl_cycles"] for r in rows],
                color=colour(algo),
                linestyle="none",
                marker="x",
                markersize=9,
                label=f"{name} RTL",
            )
        left.set(xlabel="depth N (weight layers)", ylabel="cycles per sample", title="cycles per sample")
        left.legend(fontsize=8)
        right.plot(depths, [r["model_speedup"] for r in rows], marker="o", label="model")
        right.plot(
            depths, [r["rtl_speedup"] for r in rows], linestyle="none", marker="x", markersize=9, label="RTL"
        )
        right.plot(depths, depths, color="grey", linestyle=":", label="N")
        right.set(xlabel="depth N", ylabel="BP / DFA cycles", title="DFA speed-up (whole sample)")
        right.legend(fontsize=8)
        for axes in (left, right):
            axes.grid(alpha=0.3)

    return Plot(
        "BP versus DFA cycles versus depth",
        figure_png(draw, width_in=10.0, height_in=4.0),
        "Lines: the model's schedule; crosses: the simulated schedule controller RTL.",
    )


PART = Part(key=KEY, title=TITLE, switch="cost", plan=plan)
