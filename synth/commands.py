"""``pulsetrain synth`` and ``pulsetrain estimate``."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import click

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, apply_overrides, parse_set_options, resolve

__all__ = ["estimate", "parse_sweep", "synth"]


def _table(rows: list[dict[str, Any]], columns: list[str], title: str) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, justify="left" if column in ("block", "target", "quantity") else "right")
    for row in rows:
        cells = []
        for column in columns:
            value = row.get(column, "")
            cells.append(f"{value:.4g}" if isinstance(value, float) else str(value))
        table.add_row(*cells)
    Console(width=220).print(table)


def parse_sweep(spec: str) -> tuple[str, tuple[int, ...]]:
    """``"array_size=16,32"`` -> ``("array_size", (16, 32))``; a bare knob takes its default sweep.

    The default values are :data:`pulsetrain.synth.sweeps.DEFAULT_SWEEPS` (array size 16..512, ADC bits,
    BL, H width); anything else is a ConfigError naming the allowed knobs.
    """
    from pulsetrain.synth.blocks import KNOBS
    from pulsetrain.synth.sweeps import DEFAULT_SWEEPS

    knob, equals, values_text = spec.partition("=")
    if knob not in KNOBS or (equals and not values_text):
        raise ConfigError(
            f"--sweep must be knob=v1,v2 or a bare knob (its default values) with knob one of "
            f"{', '.join(KNOBS)}; not {spec!r}"
        )
    if not equals:
        return knob, DEFAULT_SWEEPS[knob]
    from pulsetrain.validate import parse_int_list

    # decimal, >= 1, no empty or repeated value: a sweep point 0 or -4 is an error row, not a result
    return knob, parse_int_list(f"--sweep {knob}", values_text, low=1, unique=True)


@click.command("synth")
@click.option(
    "--block",
    "block_name",
    default="all",
    show_default=True,
    help="registry block name(s), comma-separated, or 'all'",
)
@click.option(
    "--target",
    default="generic",
    show_default=True,
    help="generic, ice40, ecp5, nangate45, sky130, or 'all'",
)
@click.option("--size", type=int, default=None, help="array size knob (lines / rows / columns), e.g. 64")
@click.option("--config", "config_file", default=None, help="TOML file overriding the block config")
@click.option("--set", "sets", multiple=True, help="block config override key=value (repeatable)")
@click.option("--flow-set", "flow_sets", multiple=True, help="flow option override, e.g. clock_period_ns=5")
@click.option(
    "--sweep",
    "sweep_spec",
    default=None,
    help="knob=v1,v2,... or a bare knob for its default values (array_size = 16..512, adc_bits, bl, h_bits)",
)
@click.option("--plot", "plot_path", default=None, help="PNG of the sweep")
@click.option("--no-cache", is_flag=True, help="rerun even when a cached report exists")
@click.option("--json", "json_path", default=None, help="write the reports as JSON")
def synth(
    block_name: str,
    target: str,
    size: int | None,
    config_file: str | None,
    sets: tuple[str, ...],
    flow_sets: tuple[str, ...],
    sweep_spec: str | None,
    plot_path: str | None,
    no_cache: bool,
    json_path: str | None,
) -> None:
    """Synthesize periphery blocks and report cells, LUTs, area, timing and power."""
    from pulsetrain.synth.blocks import block_design, block_names
    from pulsetrain.synth.flows import FlowOptions, synthesize
    from pulsetrain.synth.sweeps import plot_sweep, sweep

    from pulsetrain.results import write_json

    names = _block_list(block_name, block_names())
    targets = _target_list(target)
    base = apply_overrides(FlowOptions(), parse_set_options(flow_sets))
    knobs = {"array_size": size} if size is not None else {}
    sweep_knob: str | None = None
    sweep_values: tuple[int, ...] = ()
    if sweep_spec:
        sweep_knob, sweep_values = parse_sweep(sweep_spec)
    # validate every block config before any synthesis starts
    designs = [block_design(name, sets=sets, config_file=config_file, knobs=knobs) for name in names]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    reports: list[Any] = []
    for options in (dataclasses.replace(base, target=t) for t in targets):
        if sweep_knob is not None:
            found = sweep(names, sweep_knob, sweep_values, options, base_knobs=knobs, sets=sets)
            rows.extend(found)
            continue
        for design in designs:
            report = synthesize(design, options, use_cache=not no_cache)
            reports.append(report)
            rows.append({**report.summary(), "runtime_s": report.runtime_s, "cached": report.cached})
    _table(rows, _synthesis_columns(rows, sweep_knob), f"synthesis ({time.perf_counter() - started:.1f} s)")
    if sweep_knob and plot_path:
        for t in targets:
            subset = [r for r in rows if r.get("target") == t.value]
            if subset:
                path = plot_path if len(targets) == 1 else plot_path.replace(".png", f"_{t.value}.png")
                click.echo(f"plot: {plot_sweep(subset, sweep_knob, path)}")
    if json_path:
        document: dict[str, Any] = {"rows": rows}
        if reports:
            document["reports"] = [dataclasses.asdict(r) for r in reports]
        write_json(json_path, document)
        click.echo(f"wrote {json_path}")


def _block_list(block_name: str, known: list[str]) -> list[str]:
    """``--block``: ``all`` or comma-separated names, each one the catalogue knows."""
    names = known if block_name == "all" else [n.strip() for n in block_name.split(",") if n.strip()]
    for name in names:
        if name not in known:
            raise ConfigError(f"--block must be one of {', '.join(known)} or all; not {name!r}")
    return list(names)


def _target_list(target: str) -> list[Any]:
    """``--target``: ``all`` or one synthesis target."""
    from pulsetrain.synth.flows import Target

    if target == "all":
        return list(Target)
    try:
        return [Target(target)]
    except ValueError:
        raise ConfigError(
            f"--target must be one of {', '.join(t.value for t in Target)} or all; not {target!r}"
        ) from None


#: the synthesis table's figure columns, in order; a column shows when any row has it
SYNTHESIS_COLUMNS = (
    "cells",
    "flip_flops",
    "luts",
    "brams",
    "fmax_MHz",
    "area_um2",
    "sram_area_um2",
    "critical_path_ns",
    "power_W",
    "memory_bits",
    "cached",
)


def _synthesis_columns(rows: list[dict[str, Any]], sweep_knob: str | None) -> list[str]:
    """Block, target, the swept knob, then every figure some row has."""
    columns = ["block", "target"] + ([sweep_knob] if sweep_knob else [])
    return columns + [column for column in SYNTHESIS_COLUMNS if any(column in row for row in rows)]


@click.command("estimate")
@click.option(
    "--network",
    default="64-32-10",
    show_default=True,
    help="layer sizes, input to output, or a convolutional network: lenet5, vgg8 (analog SGD)",
)
@click.option(
    "--algo",
    "algorithm",
    default="all",
    show_default=True,
    help=f"{', '.join(catalogue.algorithm_names(estimator=True))} or all",
)
@click.option(
    "--tech", "technology", default="rpu_45nm", show_default=True, help="technology table name or path"
)
@click.option(
    "--pulse-counts", default=None, help="JSON with measured pulse counts per sample (see estimator)"
)
@click.option("--set", "sets", multiple=True, help="EstimateConfig override key=value, e.g. bl=15")
@click.option("--no-synthesis", is_flag=True, help="leave the digital periphery out (no synthesis runs)")
@click.option(
    "--crosscheck",
    is_flag=True,
    help="also print the comparison with NeuroSim V2.1's published output and models",
)
@click.option("--depths", default=None, help="DFA vs BP latency for these depths, e.g. 2,3,4,5,6")
@click.option(
    "--accuracy", "accuracy_file", default=None, help="JSON {algorithm: accuracy} from training runs"
)
@click.option("--json", "json_path", default=None, help="write the estimates as JSON")
def estimate(
    network: str,
    algorithm: str,
    technology: str,
    pulse_counts: str | None,
    sets: tuple[str, ...],
    no_synthesis: bool,
    crosscheck: bool,
    depths: str | None,
    accuracy_file: str | None,
    json_path: str | None,
) -> None:
    """Area / energy / latency of training a network in-situ with each algorithm."""
    from pulsetrain.synth import estimator as est
    from pulsetrain.synth.technology import load_technology

    from pulsetrain.results import write_json

    if network in ("lenet5", "vgg8"):
        _conv_estimate(network, algorithm, technology, json_path)
        return
    sizes = est.parse_network(network)
    load_technology(technology)
    configs = _estimate_configs(sizes, algorithm, technology, not no_synthesis, sets)
    counts = est.load_pulse_counts(pulse_counts) if pulse_counts else None
    accuracy = _read_accuracy(accuracy_file) if accuracy_file else {}
    depth_list = _parse_depths(depths) if depths else []
    started = time.perf_counter()
    results = []
    with click.progressbar(configs, label="estimating", file=None) as bar:
        for config in bar:
            results.append(est.estimate(config, counts))
    rows = [_estimate_row(result) for result in results]
    _table(
        rows,
        list(rows[0]),
        f"estimate {network} on {technology}: energy per sample by category (pJ), "
        f"{time.perf_counter() - started:.1f} s",
    )
    area_rows = [
        {"algorithm": r.config["algorithm"], **{c: _area_cell(r, c) for c in est.CATEGORIES}} for r in results
    ]
    _table(area_rows, list(area_rows[0]), "area per category (µm²)")
    _print_not_costed(results)
    unverified = sorted({entry for r in results for entry in r.unverified})
    if unverified:
        click.echo(
            f"not verified here ({technology} table entries whose source is an assumption): "
            + ", ".join(unverified)
        )
    document: dict[str, Any] = {
        "estimates": [r.as_dict() for r in results],
        "wall_s": time.perf_counter() - started,
    }
    if len(results) > 1:
        document["overhead"] = est.overhead_table(results, accuracy)
        overhead = document["overhead"]
        _table(overhead, list(overhead[0]), "periphery each algorithm adds over analog SGD")
    if depth_list:
        document["depths"] = est.depth_study(
            depth_list, technology=technology, use_synthesis=not no_synthesis
        )
        _table(document["depths"], list(document["depths"][0]), "BP vs DFA by depth")
    if crosscheck:
        document["neurosim_crosscheck"] = _print_neurosim_crosscheck()
    if json_path:
        write_json(json_path, document)
        click.echo(f"wrote {json_path}")


def _conv_estimate(network: str, algorithm: str, technology: str, json_path: str | None) -> None:
    """``--network lenet5 / vgg8``: analog SGD on subarrays mapped by NeuroSim's rules."""
    from pulsetrain.synth.conv_estimate import ConvEstimateConfig, conv_estimate
    from pulsetrain.synth.estimator import CATEGORIES
    from pulsetrain.synth.technology import load_technology

    from pulsetrain.results import write_json

    if algorithm not in ("sgd", "all"):
        raise ConfigError(
            f"--algo for --network {network} must be sgd (conv layers estimate analog SGD), not {algorithm!r}"
        )
    load_technology(technology)
    images = 50_000 if network == "vgg8" else 60_000
    result = conv_estimate(
        ConvEstimateConfig(network=network, technology=technology, samples_per_epoch=images)
    )
    row: dict[str, Any] = {}
    for category in CATEGORIES:
        text = result.category_text(category, result.energy_per_sample_pJ[category])
        row[category] = (
            text if text in ("not costed", "unavailable") else result.energy_per_sample_pJ[category]
        )
    row |= {"E_image_pJ": result.total_energy_per_sample_pJ, "t_image_ns": result.total_latency_per_sample_ns}
    _table([row], list(row), f"estimate {network} (sgd) on {technology}: energy per image by category (pJ)")
    _print_not_costed([result])
    for note in result.notes:
        click.echo(f"  note: {note}")
    if json_path:
        write_json(json_path, {"estimates": [result.as_dict()]})
        click.echo(f"wrote {json_path}")


def _area_cell(result: Any, category: str) -> Any:
    """The area of ``category``, or ``not costed`` / ``unavailable``."""
    text = result.category_text(category, result.area_um2[category], area=True)
    return text if text in ("unavailable", "not costed") else result.area_um2[category]


def _print_not_costed(results: list[Any]) -> None:
    """What the estimates leave out, and why (one line each; never a silent zero)."""
    listed: dict[str, str] = {}
    for result in results:
        listed.update(result.not_costed)
    for what, why in listed.items():
        click.echo(f"not costed: {what}: {why}")


def _estimate_configs(
    sizes: tuple[int, ...], algorithm: str, technology: str, use_synthesis: bool, sets: tuple[str, ...]
) -> list[Any]:
    """One resolved estimate config per algorithm named by ``--algo`` (``all``: every one it knows)."""
    from pulsetrain.synth import estimator as est

    algorithms = list(est.ESTIMATE_ALGORITHMS) if algorithm == "all" else [algorithm]
    configs = []
    for name in algorithms:
        try:
            algo = est.Algorithm(name)
        except ValueError:
            raise ConfigError(
                f"--algo must be one of {', '.join(est.ESTIMATE_ALGORITHMS)} or all; not {name!r}"
            ) from None
        config = est.EstimateConfig(
            network=sizes, algorithm=algo, technology=technology, use_synthesis=use_synthesis
        )
        configs.append(resolve(config, sets=sets))
    return configs


def _read_accuracy(accuracy_file: str) -> dict[str, float]:
    """``--accuracy``: a JSON object algorithm -> test accuracy (the shared validation layer checked it)."""
    import json
    from pathlib import Path

    try:
        return {str(k): float(v) for k, v in json.loads(Path(accuracy_file).read_text()).items()}
    except (OSError, ValueError, AttributeError) as error:
        raise ConfigError(f"--accuracy must be a JSON object algorithm -> accuracy: {error}") from None


def _parse_depths(depths: str) -> list[int]:
    """``--depths`` as integers."""
    try:
        return [int(d) for d in depths.split(",")]
    except ValueError:
        raise ConfigError(f"--depths must be integers like 2,3,4, not {depths!r}") from None


def _estimate_row(result: Any) -> dict[str, Any]:
    """One line of the energy table: per-category energy, or ``unavailable`` where a figure is missing."""
    from pulsetrain.synth import estimator as est

    row: dict[str, Any] = {"algorithm": result.config["algorithm"]}
    row["area_mm2"] = result.total_area_um2 * 1e-6
    for category in est.CATEGORIES:
        value = result.energy_per_sample_pJ[category]
        text = result.category_text(category, value)
        row[category] = text if text in ("unavailable", "not costed") else value
    row["digital_random_bound_pJ"] = _digital_bound(result.digital_blocks)
    row["E_sample_pJ"] = "unavailable" if result.unavailable else result.total_energy_per_sample_pJ
    low = sum(lo for lo, _ in result.energy_range_pJ.values())
    high = sum(hi for _, hi in result.energy_range_pJ.values())
    row["E_range_pJ"] = f"{low:.4g}..{high:.4g}"
    row["t_sample_ns"] = result.total_latency_per_sample_ns
    row["E_epoch_uJ"] = result.energy_per_epoch_uJ
    row["latency"] = result.latency_source
    return row


def _digital_bound(blocks: dict[str, Any]) -> float | str:
    """The digital energy with every counted block at random-input activity (the bound), or ``-``."""
    counted = [row for row in blocks.values() if row.get("counted") == "yes"]
    if not counted:
        return "-"
    return sum(row["leakage_pJ"] + row["random_activity_dynamic_pJ"] for row in counted)


def _print_neurosim_crosscheck() -> list[dict[str, Any]]:
    """The cross-check against NeuroSim V2.1 as a table and numbered explanations; its rows."""
    from pulsetrain.synth import estimator as est

    rows: list[dict[str, Any]] = est.neurosim_crosscheck()
    _table(
        rows,
        ["quantity", "ours", "neurosim", "ratio", "neurosim_source"],
        "cross-check against NeuroSim V2.1 (published output and formula check)",
    )
    for number, row in enumerate(rows, start=1):
        click.echo(f"  {number}. {row['quantity']}: {row['explanation']}")
    return rows
