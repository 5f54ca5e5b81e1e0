"""The compiled read steps (``model/read_kernels.py``) against the tile's NumPy read path.

Every case reads the same tile twice, once through the kernels and once with them switched off, and
demands identical outputs and the same numbers drawn from the tile's generator.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
from pulsetrain.model import read_kernels
from pulsetrain.model.devices import ConstantStepDevice, SoftBoundsDevice
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IDEAL_IO, IOConfig, NoiseManagement, Tile, UpdateConfig

pytestmark = pytest.mark.skipif(not read_kernels.AVAILABLE, reason="numba is not importable")

IO_CONFIGS = {
    "default": IOConfig(),
    "ideal": IDEAL_IO,
    "no-noise-management": IOConfig(noise_management=NoiseManagement.NONE, inp_bound=0.7),
    "abs-max-bound-below-one": IOConfig(inp_bound=0.5, out_bound=0.8),
    "no-dac-no-adc": IOConfig(dac_bits=None, adc_bits=None, out_noise=0.2),
    "quiet-with-converters": IOConfig(out_noise=0.0, dac_bits=3, adc_bits=4, out_bound=2.0),
}


def make_tile(io: IOConfig, seed: int) -> Tile:
    tile = Tile(
        9,
        13,
        device=SoftBoundsDevice(dw_min=0.01, reference_offset_std=0.1) if seed % 2 else ConstantStepDevice(),
        forward_io=io,
        backward_io=io,
        update=UpdateConfig(),
        output_scale=np.linspace(0.5, 2.0, 9),
        pulse_source=FloatPulseSource(np.random.default_rng(1)),
        rng=np.random.default_rng(seed),
    )
    tile.set_weights(np.random.default_rng(3).uniform(-0.8, 0.8, size=(9, 13)))
    return tile


@pytest.mark.parametrize("batch", [1, 6])
@pytest.mark.parametrize("seed", [2, 5])
@pytest.mark.parametrize("name", list(IO_CONFIGS))
def test_compiled_reads_equal_the_numpy_reads(
    monkeypatch: pytest.MonkeyPatch, name: str, seed: int, batch: int
) -> None:
    compiled = make_tile(IO_CONFIGS[name], seed)
    reference = copy.deepcopy(compiled)
    rng = np.random.default_rng(seed + 10)
    x = rng.uniform(-1.5, 1.5, size=(batch, 13))
    x[0] = 0.0  # an all-zero row: the abs-max scale falls back to 1e-300
    d = rng.normal(0, 2.0, size=(batch, 9))
    outputs = [compiled.forward(x), compiled.backward(d), compiled.forward(x[:, ::-1].copy())]
    with monkeypatch.context() as patch:
        patch.setattr(read_kernels, "AVAILABLE", False)
        expected = [reference.forward(x), reference.backward(d), reference.forward(x[:, ::-1].copy())]
    for got, want in zip(outputs, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert compiled.rng.bit_generator.state == reference.rng.bit_generator.state


def test_reads_go_on_after_a_generator_is_replaced(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = make_tile(IOConfig(), 2)
    reference = copy.deepcopy(compiled)
    x = np.random.default_rng(4).uniform(-1, 1, size=(2, 13))
    compiled.forward(x)
    compiled.rng = np.random.default_rng(8)
    reference.rng = np.random.default_rng(8)
    got = compiled.forward(x)
    with monkeypatch.context() as patch:
        patch.setattr(read_kernels, "AVAILABLE", False)
        want = reference.forward(x)
    np.testing.assert_array_equal(got, want)
    assert compiled.rng.bit_generator.state == reference.rng.bit_generator.state
