"""The model's per-sample BP and DFA schedules: order, dependencies, costs and the DFA speed-up."""

from __future__ import annotations

import dataclasses

import pytest
from pulsetrain.model.schedule import latency_by_depth, mlp_sizes, training_schedule

from pulsetrain.config import ConfigError
from pulsetrain.periphery.adc import AdcMode
from pulsetrain.periphery.schedule import (
    FeedbackPath,
    OperationKind,
    OperationTiming,
    ScheduleConfig,
    ScheduleMode,
)

DEPTHS = [2, 3, 4, 5, 6]


def config(mode: ScheduleMode, depth: int, **timing: object) -> ScheduleConfig:
    return ScheduleConfig(mode=mode, layer_sizes=mlp_sizes(depth), timing=OperationTiming(**timing))  # type: ignore[arg-type]


@pytest.mark.parametrize("depth", DEPTHS, ids=lambda d: f"depth{d}")
def test_bp_runs_backward_layer_by_layer_after_the_forward_pass(depth: int) -> None:
    ops = training_schedule(config(ScheduleMode.BP, depth)).operations
    kinds = [(op.layer, op.kind) for op in ops]
    forward = [(layer, OperationKind.FORWARD) for layer in range(depth)]
    backward: list[tuple[int, OperationKind]] = []
    for layer in reversed(range(depth)):
        if layer:
            backward.append((layer, OperationKind.BACKWARD))
        backward.append((layer, OperationKind.UPDATE))
    assert kinds == [*forward, (depth - 1, OperationKind.ERROR), *backward]
    # strictly sequential: each operation starts when the previous one ends
    assert all(b.start == a.end for a, b in zip(ops, ops[1:], strict=False))


@pytest.mark.parametrize("depth", DEPTHS, ids=lambda d: f"depth{d}")
def test_dfa_projects_and_updates_all_layers_together(depth: int) -> None:
    schedule = training_schedule(config(ScheduleMode.DFA, depth))
    projections = [op for op in schedule.operations if op.kind is OperationKind.PROJECTION]
    updates = [op for op in schedule.operations if op.kind is OperationKind.UPDATE]
    assert [op.layer for op in projections] == list(range(depth - 1))
    assert [op.layer for op in updates] == list(range(depth))
    assert len({op.start for op in projections}) == 1
    assert len({op.start for op in updates}) == 1
    error = next(op for op in schedule.operations if op.kind is OperationKind.ERROR)
    assert projections[0].start == error.end
    assert updates[0].start == max(op.end for op in projections)
    assert schedule.count(OperationKind.BACKWARD) == 0


@pytest.mark.parametrize("mode", list(ScheduleMode), ids=lambda m: m.value)
def test_no_array_does_two_operations_at_once(mode: ScheduleMode) -> None:
    schedule = training_schedule(config(mode, 5))
    for layer in range(5):
        # forward, backward and update use the weight array; the projection uses B_l's own tile
        ops = sorted(
            (
                op
                for op in schedule.operations
                if op.layer == layer and op.kind is not OperationKind.PROJECTION
            ),
            key=lambda op: op.start,
        )
        assert all(b.start >= a.end for a, b in zip(ops, ops[1:], strict=False))


def test_bp_total_matches_the_closed_form() -> None:
    cfg = config(ScheduleMode.BP, 4)
    timing = cfg.timing
    read = timing.read_cycles
    t_fwd = sum(read(cfg.layer_sizes[layer + 1]) for layer in range(4))
    t_bwd = sum(read(cfg.layer_sizes[layer]) for layer in range(1, 4))
    expected = t_fwd + timing.error_cycles + t_bwd + 4 * timing.update_cycles()
    assert training_schedule(cfg).total_cycles == expected


def test_read_cost_follows_adc_bits_and_multiplexing() -> None:
    sar = OperationTiming(adc_bits=8, columns_per_adc=8, adc_sample_cycles=1)
    assert sar.read_cycles(32) == sar.read_integration_cycles + 8 * 9 + sar.activation_cycles
    # 10 lines over ceil(10/8) = 2 ADCs: 5 conversions each
    assert sar.conversions(10) == 5
    ramp = dataclasses.replace(sar, adc_kind=AdcMode.RAMP, adc_bits=4)
    assert ramp.conversion_cycles == 1 + 16
    assert OperationTiming(bl=31, cycles_per_slot=2, update_setup_cycles=3).update_cycles() == 65


def test_digital_feedback_costs_products_over_macs() -> None:
    cfg = ScheduleConfig(
        mode=ScheduleMode.DFA,
        layer_sizes=(64, 32, 10),
        timing=OperationTiming(
            feedback=FeedbackPath.DIGITAL, feedback_macs_per_cycle=16, activation_cycles=1
        ),
    )
    assert cfg.operation_cycles(OperationKind.PROJECTION, 0) == 32 * 10 // 16 + 1


def test_dfa_training_speedup_grows_toward_depth() -> None:
    rows = latency_by_depth(tuple(DEPTHS))
    speedups = [row["training_speedup"] for row in rows]
    assert speedups == sorted(speedups)
    for row in rows:
        # the part after the forward pass: (N-1) T_bwd + N T_upd against T_proj + T_upd, with T_proj = T_bwd
        assert row["depth"] - 1 < row["training_speedup"] <= row["depth"]
        assert 1 < row["speedup"] < row["training_speedup"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"layer_sizes": (64,)},
        {"layer_sizes": (64, 0, 10)},
        {"counter_bits": 4},
        {"mode": "dfa"},
    ],
    ids=["one-layer-size", "zero-width", "counter-too-small", "mode-not-enum"],
)
def test_bad_configs_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ScheduleConfig(**kwargs)  # type: ignore[arg-type]


def test_bad_timing_is_refused() -> None:
    with pytest.raises(ConfigError, match="timing.adc_bits"):
        OperationTiming(adc_bits=0)
