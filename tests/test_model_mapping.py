"""Weight mappings onto the device range: fixed output scale, NeuroSim's weight range, aihwkit's omega."""

from __future__ import annotations

import numpy as np
import pytest
from pulsetrain.model.devices import ConstantStepDevice, IdealDevice
from pulsetrain.model.pulses import FloatPulseSource
from pulsetrain.model.tile import IDEAL_IO, MappingConfig, Tile, UpdateConfig, WeightMapping
from pulsetrain.model.training import resolve_train_config

from pulsetrain.config import ConfigError


def _tile(mapping: MappingConfig, device: object = None) -> Tile:
    return Tile(
        4,
        5,
        device=device or ConstantStepDevice(w_max=0.8, w_min=-0.8, dw_min=0.01),  # type: ignore[arg-type]
        forward_io=IDEAL_IO,
        backward_io=IDEAL_IO,
        update=UpdateConfig(),
        output_scale=mapping,
        pulse_source=FloatPulseSource(np.random.default_rng(0)),
        rng=np.random.default_rng(1),
    )


def test_output_scale_mapping_is_the_old_fixed_gain() -> None:
    assert np.all(_tile(MappingConfig(output_scale=3.0)).output_scale == 3.0)


def test_weight_range_maps_the_range_onto_the_nominal_device_bounds() -> None:
    # NeuroSim: (-1, 1) spans the conductance range; here w_max = 0.8 device units stands for weight 1
    tile = _tile(MappingConfig(mode=WeightMapping.WEIGHT_RANGE, weight_range=1.0))
    np.testing.assert_allclose(tile.output_scale, 1.0 / 0.8)
    assert np.all(_tile(MappingConfig(mode=WeightMapping.WEIGHT_RANGE), IdealDevice()).output_scale == 1.0)


def test_initial_omega_maps_the_largest_programmed_weight_to_omega() -> None:
    tile = _tile(MappingConfig(mode=WeightMapping.INITIAL_OMEGA, weight_scaling_omega=0.5))
    weights = np.linspace(-0.2, 0.3, 20).reshape(4, 5)
    tile.set_weights(weights)
    # aihwkit weight_scaling_omega: max |W| = 0.3 sits at 0.5 device units
    assert np.max(np.abs(tile.device_weights())) == pytest.approx(0.5)
    np.testing.assert_allclose(tile.weights(), weights, atol=1e-12)


def test_mapping_mode_is_selectable_from_the_command_line_and_checked() -> None:
    config = resolve_train_config(sets=["mapping.mode=weight-range", "mapping.weight_range=2.0"])
    assert config.mapping.mode is WeightMapping.WEIGHT_RANGE and config.mapping.weight_range == 2.0
    with pytest.raises(ConfigError, match="mapping.weight_range"):
        MappingConfig(weight_range=0.0)


def test_a_run_with_a_mapping_and_write_noise_resumes_bit_for_bit(tmp_path: object) -> None:
    # the new tile state (mapping, apparent write-noise offsets) goes through the checkpoint
    from pulsetrain.model.data import DataSplit
    from pulsetrain.model.study_tuning import digits
    from pulsetrain.model.training import train

    data = digits()
    small = DataSplit(
        x_train=data.x_train[:200],
        y_train=data.y_train[:200],
        x_test=data.x_test[:50],
        y_test=data.y_test[:50],
        n_classes=10,
    )
    config = resolve_train_config(sets=["mapping.mode=initial-omega", "device.kind=reram-sb", "epochs=2"])
    straight = train(config, data=small)
    train(config, data=small, checkpoint_dir=str(tmp_path), stop_after_epoch=1)
    resumed = train(config, data=small, checkpoint_dir=str(tmp_path), resume=True)
    assert resumed["weights_sha256"] == straight["weights_sha256"]
