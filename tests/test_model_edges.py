"""Edges the suite left untested (issue 18's surviving mutants): each test fails on one plausible bug.

- BL management rounds the pulse count *up*: a ratio of 2.5 gives BL 3 (a floor gives 2);
- the output clip is symmetric: a large negative read stops at ``-out_bound`` like a positive one at
  ``+out_bound``;
- the float transfer server fires when ``|H|`` reaches the threshold exactly (``>=``, not ``>``);
- the digits split keeps the class balance of the data set (stratified), in training and test.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers.transfer import run_reads
from pulsetrain.model.data import load_digits_split
from pulsetrain.model.pulses import pulse_scales, scales_for
from pulsetrain.model.tile import IOConfig, NoiseManagement
from pulsetrain.model.transfer import FloatTransferPeriphery
from test_model_tile import make_tile  # tests/ is on sys.path under pytest

from pulsetrain.periphery.transfer import TransferControllerConfig, TransferMode


@pytest.mark.parametrize(
    ("lr", "x_max", "d_max", "dw_min", "expected"),
    [(0.25, 1.0, 1.0, 0.1, 3), (0.01, 0.5, 0.7, 0.001, 4), (0.1, 1.0, 0.01, 0.001, 1)],
    ids=["ratio-2.5", "ratio-3.5", "ratio-1.0"],
)
def test_bl_management_rounds_a_non_integer_ratio_up(
    lr: float, x_max: float, d_max: float, dw_min: float, expected: int
) -> None:
    # BL = ceil(lr x_max d_max / dw_min): enough pulses that the largest update can be written
    for scales in (
        pulse_scales(x_max, d_max, lr, dw_min, desired_bl=31),
        scales_for(x_max, d_max, lr, dw_min, 31, True, True),
    ):
        assert scales is not None and scales[0] == expected


def test_output_clip_is_symmetric() -> None:
    io = IOConfig(
        dac_bits=None, adc_bits=None, out_noise=0.0, out_bound=0.5, noise_management=NoiseManagement.NONE
    )
    tile = make_tile(in_size=5, io=io, output_scale=1.0)
    tile.set_weights(np.full((6, 5), 0.9))
    # W x = +-4.5 without the clip: both signs stop at the bound
    out = tile.forward(np.stack([np.ones(5), -np.ones(5)]))
    np.testing.assert_array_equal(out[0], 0.5)
    np.testing.assert_array_equal(out[1], -0.5)
    backward = tile.backward(-np.ones((1, 6)))
    np.testing.assert_array_equal(backward, -0.5)


@pytest.mark.parametrize(("threshold", "reads_to_fire"), [(1.0, 4), (0.5, 2), (0.75, 3)])
def test_float_transfer_server_fires_exactly_on_the_threshold(threshold: float, reads_to_fire: int) -> None:
    # lr 0.25 per LSB (exact in binary): after n reads of +1, H = 0.25 n lands exactly on the threshold
    config = TransferControllerConfig(
        mode=TransferMode.TTV2, in_size=1, out_size=1, transfer_lr_per_lsb=0.25, thres_scale=threshold
    )
    results = run_reads(FloatTransferPeriphery(config, seed=0), [np.array([1])] * reads_to_fire)
    fired = [0 if r.pulses is None else int(r.pulses[0]) for r in results]
    assert fired == [0] * (reads_to_fire - 1) + [1]


def test_digits_split_keeps_the_class_balance() -> None:
    split = load_digits_split()
    labels = np.concatenate([split.y_train, split.y_test])
    totals = np.bincount(labels, minlength=10)
    test_counts = np.bincount(split.y_test, minlength=10)
    # stratified: every class holds its 20 % share of the test set up to the rounding of one sample
    assert np.all(np.abs(test_counts - 0.2 * totals) <= 1.0), test_counts - 0.2 * totals
    train_counts = np.bincount(split.y_train, minlength=10)
    assert np.all(np.abs(train_counts - 0.8 * totals) <= 1.0)
