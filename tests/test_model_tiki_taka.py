"""TTv2, c-TTv2 and AGAD: every device model, any depth, endurance counts, the periphery seam, offsets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from pulsetrain.model.algorithms import create_algorithm
from pulsetrain.model.algorithms.configs import TikiTakaSettings, TransferServerKind
from pulsetrain.model.algorithms.tiki_taka import TikiTakaFamily, transfer_controller_config
from pulsetrain.model.devices import DEVICES, SoftBoundsDevice
from pulsetrain.model.experiments import regression_weight_error
from pulsetrain.model.network import NetworkConfig
from pulsetrain.model.training import TrainConfig, train
from pulsetrain.model.transfer import FloatTransferPeriphery
from pulsetrain.model.twins.transfer import TwinTransferPeriphery

from pulsetrain.config import ConfigError, apply_overrides
from pulsetrain.periphery.transfer import TransferMode

FAMILY = ("ttv2", "c-ttv2", "agad")


def _algorithm(algo: str, *, hidden: tuple[int, ...] = (8,), **fields: object) -> TikiTakaFamily:
    config = TrainConfig(algo=algo, network=NetworkConfig(hidden=hidden), **fields)  # type: ignore[arg-type]
    algorithm = create_algorithm(config, (12, *hidden, 4), np.random.SeedSequence(3))
    assert isinstance(algorithm, TikiTakaFamily)
    return algorithm


def _train_steps(algorithm: TikiTakaFamily, steps: int, seed: int = 0) -> list[float]:
    rng = np.random.default_rng(seed)
    x = rng.random((steps, 12))
    labels = (x[:, :4].argmax(axis=1)).astype(np.int64)
    return [algorithm.train_batch(x[i : i + 1], labels[i : i + 1]) for i in range(steps)]


@pytest.mark.parametrize("device", sorted(DEVICES), ids=str)
@pytest.mark.parametrize("algo", FAMILY, ids=str)
def test_runs_on_every_device_model_and_pulses_both_arrays(algo: str, device: str) -> None:
    algorithm = _algorithm(algo, device=DEVICES[device]())
    _train_steps(algorithm, 300)
    counts = algorithm.pulse_counts()
    assert set(counts) == {"layer0", "layer1"}
    for arrays in counts.values():
        assert arrays["A"] > 0, "every sample writes its gradient into A"
        assert arrays["C"] > 0, "transfers reach C"
        # C is written only by sparse transfers: far fewer pulses than A
        assert arrays["C"] < arrays["A"]
    per_device = algorithm.device_pulse_counts()
    assert per_device["layer0"]["A"].shape == (8, 13)
    assert per_device["layer1"]["C"].sum() == counts["layer1"]["C"]
    extra = algorithm.extra_results()["layers"]["layer0"]
    assert extra["samples"] == 300
    assert extra["column_reads"] == 300  # transfer_every = 1, one column per transfer


@pytest.mark.parametrize("algo", FAMILY, ids=str)
def test_any_depth_trains_and_records_every_layer(algo: str) -> None:
    algorithm = _algorithm(algo, hidden=(8, 8, 8), device=SoftBoundsDevice())
    _train_steps(algorithm, 100)
    assert sorted(algorithm.pulse_counts()) == ["layer0", "layer1", "layer2", "layer3"]
    assert all(arrays["A"] > 0 for arrays in algorithm.pulse_counts().values())
    assert [w.shape for w in algorithm.weights()] == [(8, 13), (8, 9), (8, 9), (4, 9)]


def test_effective_weight_is_c_unless_gamma() -> None:
    plain = _algorithm("ttv2")
    _train_steps(plain, 50)
    layer = plain.layers[0]
    np.testing.assert_array_equal(plain.weights()[0], layer.slow.weights())
    mixed = _algorithm("ttv2", tiki_taka=TikiTakaSettings(gamma=0.5))
    _train_steps(mixed, 50)
    layer = mixed.layers[0]
    np.testing.assert_allclose(mixed.weights()[0], layer.slow.weights() + 0.5 * layer.fast.weights())


@pytest.mark.parametrize(
    ("kind", "server"),
    [(TransferServerKind.FLOAT, FloatTransferPeriphery), (TransferServerKind.TWIN, TwinTransferPeriphery)],
    ids=["float", "twin"],
)
def test_periphery_switch_picks_the_server(kind: TransferServerKind, server: type) -> None:
    algorithm = _algorithm("c-ttv2", tiki_taka=TikiTakaSettings(periphery=kind))
    assert all(isinstance(layer.periphery, server) for layer in algorithm.layers)
    _train_steps(algorithm, 100)
    assert algorithm.pulse_counts()["layer0"]["C"] > 0


def test_a_served_periphery_replaces_the_twin_and_brings_its_column_adc() -> None:
    from pulsetrain.model.algorithms.tiki_taka import TRANSFER_SERVERS, serving_transfer_periphery

    original = TRANSFER_SERVERS[TransferServerKind.TWIN]
    marker = object()
    served: list[TwinTransferPeriphery] = []

    def factory(config, rng):  # type: ignore[no-untyped-def]
        periphery = TwinTransferPeriphery(config)
        periphery.column_adc = marker  # type: ignore[attr-defined]
        served.append(periphery)
        return periphery

    with pytest.raises(RuntimeError), serving_transfer_periphery(TransferServerKind.TWIN, factory):
        algorithm = _algorithm("c-ttv2", tiki_taka=TikiTakaSettings(periphery=TransferServerKind.TWIN))
        raise RuntimeError("leave the block early")
    # one periphery per layer, in layer order, each layer's tile A reading through its ADC
    assert [layer.periphery for layer in algorithm.layers] == served
    assert all(
        layer.fast.column_adc is marker and layer.slow.column_adc is None for layer in algorithm.layers
    )
    assert TRANSFER_SERVERS[TransferServerKind.TWIN] is original  # restored even after an error


def test_twin_served_run_is_reproducible() -> None:
    settings = TikiTakaSettings(periphery=TransferServerKind.TWIN)
    first = _algorithm("agad", tiki_taka=settings)
    second = _algorithm("agad", tiki_taka=settings)
    _train_steps(first, 200)
    _train_steps(second, 200)
    assert first.weights_digest() == second.weights_digest()
    np.testing.assert_array_equal(first.layers[1].periphery.h_buffer(), second.layers[1].periphery.h_buffer())


def test_transfer_rate_in_h_units_per_adc_lsb() -> None:
    # H counts pulses on C: one read of value v (device units) adds lr * transfer_lr * v / dw_min.
    config = transfer_controller_config(
        TikiTakaSettings(transfer_lr=0.5),
        TransferMode.CHOPPED_TTV2,
        in_size=5,
        out_size=3,
        adc_bits=9,
        adc_lsb=0.04,
        dw_min=0.01,
        lr=0.1,
        seeds=(1, 2),
    )
    assert config.transfer_lr_per_lsb == pytest.approx(0.1 * 0.5 * 0.04 / 0.01)
    assert config.mode is TransferMode.CHOPPED_TTV2
    assert config.in_chop_prob == 0.1


def test_ttv2_mode_has_no_choppers_whatever_the_settings() -> None:
    config = transfer_controller_config(
        TikiTakaSettings(in_chop_prob=0.5, out_chop_prob=0.5),
        TransferMode.TTV2,
        in_size=4,
        out_size=4,
        adc_bits=9,
        adc_lsb=0.04,
        dw_min=0.01,
        lr=0.1,
        seeds=(1, 2),
    )
    assert config.in_chop_prob == 0.0 and config.out_chop_prob == 0.0


def test_twin_needs_adc_codes() -> None:
    config = TrainConfig(algo="ttv2", tiki_taka=TikiTakaSettings(periphery=TransferServerKind.TWIN))
    config = apply_overrides(config, {"io.adc_bits": "none"})
    with pytest.raises(ConfigError, match="adc_bits"):
        create_algorithm(config, (4, 3), np.random.SeedSequence(0))


def test_bad_settings_are_refused_with_the_parameter_name() -> None:
    with pytest.raises(ConfigError, match="tiki_taka.transfer_every"):
        TikiTakaSettings(transfer_every=0)
    with pytest.raises(ConfigError, match="tiki_taka.chopper_flip"):
        TikiTakaSettings(chopper_flip="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="tiki_taka.periphery"):
        apply_overrides(TrainConfig(), {"tiki_taka.periphery": "fpga"})


def test_ttv2_learns_digits_on_soft_bounds_devices() -> None:
    # Two epochs on the digits set, where analog SGD on the same devices suffers the soft-bounds decay:
    # TTv2 must be well above chance (10 %) already; 60 % leaves room for seed noise (measured ~80 %).
    from pulsetrain.model.data import load_digits_split

    config = TrainConfig(algo="ttv2", device=SoftBoundsDevice(), epochs=2, seed=0)
    results = train(config, data=load_digits_split())
    assert results["test_accuracy"] > 0.60
    layer = results["algorithm"]["layers"]["layer0"]
    assert 0 < layer["pulses_per_sample_per_device_C"] < layer["pulses_per_sample_per_device_A"]


# ----------------------------------------------------------------------------------------------------
# Offsets: the claim of Rasch et al. 2023 on the weight-error task, at sigma_r = 0.3
# ----------------------------------------------------------------------------------------------------

OFFSET_STEPS = 4000


@pytest.fixture(scope="module")
def offset_errors() -> dict[tuple[str, float], float]:
    errors = {}
    for algo in FAMILY:
        for offset in (0.0, 0.3):
            result = regression_weight_error(algo, offset, 50, OFFSET_STEPS, 0)
            errors[(algo, offset)] = result["weight_error"]
    return errors


def test_offset_ordering_at_sigma_0_3(offset_errors: dict[tuple[str, float], float]) -> None:
    # Rasch et al.: TTv2 suffers from the reference offset, c-TTv2 much less, AGAD hardly at all.
    # Tolerance: each step of the ordering must hold by at least 0.05 relative weight error (5 % of |W*|),
    # larger than the seed-to-seed spread of one configuration measured here (about 0.02). Measured
    # (seed 0): ttv2 0.92, c-ttv2 0.37, agad 0.20 (without offset all three 0.18-0.21).
    ttv2, chopped, agad = (offset_errors[(algo, 0.3)] for algo in FAMILY)
    assert ttv2 > chopped + 0.05, offset_errors
    assert chopped > agad + 0.05, offset_errors


def test_agad_is_nearly_insensitive_to_the_offset(offset_errors: dict[tuple[str, float], float]) -> None:
    # "nearly flat": AGAD's weight error at sigma_r = 0.3 within 0.1 (10 % of |W*|) of its error without
    # offset, while TTv2's grows by more than 0.5.
    assert abs(offset_errors[("agad", 0.3)] - offset_errors[("agad", 0.0)]) < 0.10, offset_errors
    assert offset_errors[("ttv2", 0.3)] - offset_errors[("ttv2", 0.0)] > 0.5, offset_errors


def test_settings_sections_are_part_of_train_config() -> None:
    config = apply_overrides(TrainConfig(), {"tiki_taka.in_chop_prob": "0.05", "sbe.rank": "2"})
    assert config.tiki_taka.in_chop_prob == 0.05
    assert config.sbe.rank == 2
    assert dataclasses.replace(config, algo="agad").algo == "agad"
