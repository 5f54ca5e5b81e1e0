"""Build and run NeuroSim V2.1 on the shared MLP configuration, then rewrite the comparison table.

NeuroSim's code cannot be shipped here; this script takes a checkout of it (github.com/neurosim/
DNN_NeuroSim_V2.1; the comparison was made at 18289cbb1ffa74947a9e3b785688e530240b9bf1), copies its
``Training_pytorch/NeuroSIM`` folder into a work folder, sets the shared configuration in the copy's
``Param.cpp``, builds it with its makefile, writes the network, weight and input files, runs it and stores
its printout in ``synth/results/neurosim_mlp_output.txt``; :mod:`pulsetrain.synth.neurosim_mlp` then
rewrites the comparison. ::

    python -m pulsetrain.synth.neurosim_run --neurosim PATH/DNN_NeuroSim_V2.1 [--work DIR]

What it sets (``synth/results/neurosim_mlp_run.json`` says why): the SAR ADC (``SARADC = true``), the
conventional mapping (``novelMapping = false``), the inference estimate (``trainingEstimation = false``;
NeuroSim's training estimate does not finish on fully connected layers), ``batchSize = 2`` and
``numIteration = 899``. The network is 64-512-10 (fully connected layers as 1x1 convolutions), 5-bit
weights ``N(0, 0.3)`` quantized in [-1, 1) with "old" weights one ``N(0, 0.05)`` step away, 8-bit inputs:
digits sample 0 for layer 1, the tanh of layer 1's output for layer 2, bit-serial as NeuroSim reads them.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from pulsetrain.config import ConfigError

__all__ = ["PARAM_SETTINGS", "configure_param", "main", "run_neurosim", "write_inputs"]

RESULTS = Path(__file__).resolve().parent / "results"

#: Param.cpp assignments set in the copy (name -> value as C++ text).
PARAM_SETTINGS: dict[str, str] = {
    "SARADC": "true",
    "novelMapping": "false",
    "trainingEstimation": "false",
    "batchSize": "2",
    "numIteration": "899",
}

NETWORK = (64, 512, 10)
#: (fan_in, fan_out) per layer.
LAYERS = tuple(zip(NETWORK[:-1], NETWORK[1:], strict=True))
WEIGHT_BITS, INPUT_BITS = 5, 8


def configure_param(text: str) -> str:
    """``Param.cpp`` with :data:`PARAM_SETTINGS` assigned; a setting it does not assign is an error."""
    for name, value in PARAM_SETTINGS.items():
        pattern = re.compile(rf"^(\s*{name}\s*=\s*)[^;]+;", re.MULTILINE)
        text, count = pattern.subn(rf"\g<1>{value};", text, count=1)
        if count != 1:
            raise ConfigError(
                f"Param.cpp assigns no {name}: is this NeuroSim V2.1's Training_pytorch/NeuroSIM?"
            )
    return text


def _quantize(values: NDArray[np.float64], bits: int) -> NDArray[np.float64]:
    """Values on the ``2**bits`` levels of [-1, 1)."""
    step = 2.0 / 2**bits
    return np.clip(np.round(values / step) * step, -1.0, 1.0 - step)


def _bit_planes(codes: NDArray[np.int64]) -> NDArray[np.int64]:
    """Unsigned ``INPUT_BITS`` codes (rows) as NeuroSim's input file: one column per bit, LSB first."""
    return np.stack([(codes >> bit) & 1 for bit in range(INPUT_BITS)], axis=1)


def write_inputs(folder: Path, seed: int = 0) -> list[str]:
    """Network, weight, old-weight, input and activity files; the arguments of NeuroSim's ``main``."""
    from sklearn.datasets import load_digits

    rng = np.random.default_rng(seed)
    (folder / "NetWork_mlp.csv").write_text(
        "".join(f"1,1,{fan_in},1,1,{fan_out},0,1\n" for fan_in, fan_out in LAYERS)
    )
    image = load_digits().data[0] / 16.0
    layer_input = image
    arguments = ["0", "NetWork_mlp.csv", str(WEIGHT_BITS), str(INPUT_BITS)]
    for index, (fan_in, fan_out) in enumerate(LAYERS):
        old = _quantize(rng.normal(0.0, 0.3, (fan_in, fan_out)), WEIGHT_BITS)
        new = _quantize(old + rng.normal(0.0, 0.05, old.shape), WEIGHT_BITS)
        codes = np.clip(np.round(np.abs(layer_input) * (2**INPUT_BITS - 1)), 0, 2**INPUT_BITS - 1).astype(
            np.int64
        )
        planes = _bit_planes(codes)
        names = [f"weight{index + 1}.csv", f"oldweight{index + 1}.csv", f"input{index + 1}.csv"]
        np.savetxt(folder / names[0], new, delimiter=",", fmt="%.6f")
        np.savetxt(folder / names[1], old, delimiter=",", fmt="%.6f")
        np.savetxt(folder / names[2], planes, delimiter=",", fmt="%d")
        arguments += [*names, f"{planes.mean():.6f}"]
        layer_input = np.tanh(layer_input @ new)
    return arguments


def run_neurosim(checkout: Path, work: Path) -> str:
    """Copy, configure, build and run NeuroSim; its printout."""
    source = checkout / "Training_pytorch" / "NeuroSIM"
    if not (source / "Param.cpp").is_file():
        raise ConfigError(f"--neurosim {str(checkout)!r} holds no Training_pytorch/NeuroSIM/Param.cpp")
    build = work / "NeuroSIM"
    shutil.rmtree(build, ignore_errors=True)
    shutil.copytree(source, build)
    param = build / "Param.cpp"
    param.write_text(configure_param(param.read_text()))
    subprocess.run(["make", "-j2"], cwd=build, check=True, capture_output=True)
    (build / "NeuroSim_Results_Each_Epoch").mkdir(exist_ok=True)
    arguments = write_inputs(build)
    done = subprocess.run(
        ["./main", *arguments],
        cwd=build,
        check=True,
        capture_output=True,
        text=True,
        env={"OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
        timeout=600,
    )
    return done.stdout


def main(argv: list[str] | None = None) -> None:
    """Run NeuroSim (see the module docstring), store its printout and rewrite the comparison table."""
    from pulsetrain.synth import neurosim_mlp
    from pulsetrain.synth.tools import cache_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neurosim", required=True, type=Path, help="a DNN_NeuroSim_V2.1 checkout")
    parser.add_argument("--work", type=Path, default=None, help="build folder (default: the cache)")
    parser.add_argument("--output", type=Path, default=RESULTS / "neurosim_mlp_output.txt")
    options = parser.parse_args(argv)
    work = options.work or cache_root() / "neurosim"
    work.mkdir(parents=True, exist_ok=True)
    options.output.write_text(run_neurosim(options.neurosim, work))
    neurosim_mlp.main()


if __name__ == "__main__":
    main()
