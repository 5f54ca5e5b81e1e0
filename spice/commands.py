"""``pulsetrain spice``: the behavioral model's reads checked against ngspice.

* ``pulsetrain spice check``: the small check (16 rows; ideal wires, then a technology's real wires);
* ``pulsetrain spice sweep``: the error against rows, wire resistance and on/off ratio, with the
  IR-drop calibration: ``sweep.md``, ``sweep.png`` and ``sweep.json`` in ``--out`` (docs/spice);
* ``pulsetrain spice training``: what the calibrated IR drop changes in training at 256 and 512 rows;
* ``pulsetrain spice netlist``: the netlist of one random read, for inspection or another simulator.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from pulsetrain.config import ConfigError, check_int, check_range
from pulsetrain.results import write_atomic, write_json


def _int_list(name: str, text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of integers, not {text!r}") from None


def _float_list(name: str, text: str) -> tuple[float, ...]:
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a comma-separated list of numbers, not {text!r}") from None


def _require_ngspice() -> str:
    from pulsetrain.spice.ngspice import ngspice_info

    info = ngspice_info()
    if info is None:
        raise ConfigError("ngspice is not installed (Debian: apt-get install ngspice)")
    return info.banner


@click.group("spice")
def spice() -> None:
    """The behavioral model's crossbar reads checked against ngspice (batch mode)."""


@spice.command("check")
@click.option("--rows", default="16", help="Array rows of the check's tiles (default 16).")
@click.option("--tech", default="neurosim_v21", help="Technology of the real-wire case (neurosim_v21).")
@click.option("--json", "json_path", default=None, help="Write the summary to this JSON file.")
def check(rows: str, tech: str, json_path: str | None) -> None:
    """Model versus ngspice on a few random reads: ideal wires, then the technology's real wires."""
    from pulsetrain.spice.check import model_versus_spice
    from pulsetrain.spice.circuit import technology_physics

    row_count = _int_list("--rows", rows)
    if len(row_count) != 1:
        raise ConfigError(f"--rows must be one integer, not {rows!r}")
    check_int("--rows", row_count[0], 2, 512)
    technology_physics(tech)  # validates --tech before any work
    _require_ngspice()
    summary = model_versus_spice(rows=row_count[0], technology=tech)
    assert summary is not None
    for field in dataclasses.fields(summary):
        click.echo(f"{field.name:32s} {getattr(summary, field.name)}")
    if json_path:
        write_json(json_path, dataclasses.asdict(summary))
    if not summary.passed:
        raise click.ClickException("model and ngspice disagree beyond the stated tolerance")


@spice.command("sweep")
@click.option("--out", "out_dir", default="docs/spice", help="Folder for sweep.md/.png/.json (docs/spice).")
@click.option("--rows", default="16,32,64,128,256,512", help="Array rows, comma-separated.")
@click.option("--wire-ohm", default="0,0.668,2.12", help="Wire resistance per cell (ohm), comma-separated.")
@click.option("--on-off", default="8,100", help="On/off conductance ratios, comma-separated.")
@click.option("--outputs", default=8, type=int, help="Outputs (column pairs) per tile (default 8).")
@click.option("--states", default=2, type=int, help="Random tiles per point (default 2).")
@click.option("--inputs", default=2, type=int, help="Random inputs per tile (default 2).")
@click.option("--jobs", default=1, type=int, help="ngspice processes at once (default 1).")
@click.option("--seed", default=0, type=int, help="Seed of tiles and inputs (default 0).")
def sweep(
    out_dir: str,
    rows: str,
    wire_ohm: str,
    on_off: str,
    outputs: int,
    states: int,
    inputs: int,
    jobs: int,
    seed: int,
) -> None:
    """Error of the model against ngspice over rows, wire resistance and on/off ratio; fits the IR drop."""
    from pulsetrain.spice.sweep import SweepConfig, run_sweep, write_outputs

    config = SweepConfig(
        rows=_int_list("--rows", rows),
        wire_ohm=_float_list("--wire-ohm", wire_ohm),
        on_off=_float_list("--on-off", on_off),
        outputs=outputs,
        states=states,
        inputs=inputs,
        jobs=jobs,
        seed=seed,
    )
    banner = _require_ngspice()
    with click.progressbar(length=1, label="ngspice reads") as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(1)

        samples = run_sweep(config, progress)
    document = write_outputs(config, samples, Path(out_dir), banner)
    click.echo(f"calibration alpha = {document['calibration']}, kappa = {document['saturation']}")
    click.echo((Path(out_dir) / "sweep.md").read_text())


@spice.command("netlist")
@click.option("--rows", default=16, type=int, help="Array rows (default 16).")
@click.option("--outputs", default=4, type=int, help="Outputs, i.e. column pairs (default 4).")
@click.option("--tech", default="neurosim_v21", help="Technology (rpu_45nm or neurosim_v21).")
@click.option("--seed", default=0, type=int, help="Seed of the tile and the input.")
@click.option("--out", "out_path", required=True, help="Netlist file to write.")
def netlist(rows: int, outputs: int, tech: str, seed: int, out_path: str) -> None:
    """Write the netlist of one random forward read (ngspice dialect, one .op analysis)."""
    import numpy as np
    from pulsetrain.model.tile import IOConfig
    from pulsetrain.spice.circuit import ReadCircuit, technology_physics, technology_read_voltage
    from pulsetrain.spice.compare import tile_netlist
    from pulsetrain.spice.sweep import sample_tile

    check_int("--rows", rows, 2, 4096)
    check_int("--outputs", outputs, 1, 1024)
    circuit = ReadCircuit(physics=technology_physics(tech), read_voltage_V=technology_read_voltage(tech))
    rng = np.random.default_rng(seed)
    tile = sample_tile(rows, outputs, IOConfig(out_noise=0.0), rng)
    text, _ = tile_netlist(tile, rng.uniform(0.0, 1.0, rows), circuit)
    write_atomic(out_path, text.text)
    click.echo(f"wrote {out_path}: comparator inputs {', '.join(text.comparator_nodes)}")


@spice.command("training")
@click.option("--out", "out_dir", default="docs/spice", help="Folder for training.md/.json (docs/spice).")
@click.option("--hidden", default="256,512", help="Hidden sizes (the second layer's rows), comma-separated.")
@click.option("--epochs", default=3, type=int, help="Epochs per run (default 3).")
@click.option("--seeds", default=2, type=int, help="Seeds per configuration (default 2).")
@click.option("--tech", default="neurosim_v21", help="Technology of the IR drop (default neurosim_v21).")
def training(out_dir: str, hidden: str, epochs: int, seeds: int, tech: str) -> None:
    """Train with and without the calibrated IR drop; accuracy and pulses at each hidden size."""
    from pulsetrain.spice.circuit import technology_physics
    from pulsetrain.spice.training import TrainingStudy, run_study, write_study

    study = TrainingStudy(
        hidden=_int_list("--hidden", hidden), epochs=epochs, seeds=seeds, physics=technology_physics(tech)
    )
    check_range("--epochs", epochs, 1, 1000)
    rows = run_study(study, lambda line: click.echo(line))
    write_study(study, rows, Path(out_dir), tech)
    click.echo((Path(out_dir) / "training.md").read_text())
