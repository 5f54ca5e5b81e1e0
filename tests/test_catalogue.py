"""The catalogue of algorithms and blocks agrees with every layer that reads it and stays the bottom layer."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import pytest

from pulsetrain import catalogue
from pulsetrain.config import ConfigError


def _has_field(config: object, dotted: str) -> bool:
    current = config
    for part in dotted.split("."):
        if not dataclasses.is_dataclass(current) or part not in {f.name for f in dataclasses.fields(current)}:
            return False
        current = getattr(current, part)
    return True


def test_importing_the_catalogue_imports_no_other_layer() -> None:
    layers = ("pulsetrain.model", "pulsetrain.rtl", "pulsetrain.cosim", "pulsetrain.synth", "amaranth")
    code = (
        "import sys, pulsetrain.catalogue as c; c.algorithm_names(cosim=True); c.block_names(); "
        f"print(sorted(m for m in sys.modules if m.startswith({layers!r})))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert loaded.strip() == "[]"


@pytest.mark.parametrize("spec", catalogue.BLOCKS.values(), ids=lambda spec: spec.name)
def test_every_block_reference_loads_and_its_sweep_fields_exist(spec: catalogue.BlockSpec) -> None:
    config = spec.config_class()()
    assert callable(catalogue.load(spec.component))
    if spec.twin is not None:
        assert isinstance(catalogue.load(spec.twin), type)
    for knob in catalogue.SWEEP_KNOBS:
        for field in spec.sweep.of(knob):
            assert _has_field(config, field), f"{spec.name}: sweep {knob} names missing field {field}"
    assert catalogue.block_for_config(config) is spec


def test_every_block_bench_is_registered_under_the_block_name() -> None:
    from pulsetrain.cosim.benches import BENCHES

    for spec in catalogue.BLOCKS.values():
        if spec.bench is not None:
            assert BENCHES[spec.name].module == spec.bench
    assert set(BENCHES) - set(catalogue.BLOCKS) == {"running-sum"}


def test_the_rtl_and_synthesis_registries_list_the_catalogue_blocks() -> None:
    from pulsetrain.rtl.blocks import BLOCKS
    from pulsetrain.synth.blocks import block_names, knob_fields

    assert list(BLOCKS) == list(catalogue.BLOCKS)
    assert block_names() == sorted(catalogue.BLOCKS)
    pulse = BLOCKS["pulse-generator"].default_config()
    assert knob_fields(pulse, "array_size") == ["x_lines", "d_lines"]
    assert knob_fields(pulse, "adc_bits") == []


@pytest.mark.parametrize("spec", catalogue.ALGORITHMS.values(), ids=lambda spec: spec.name)
def test_every_algorithm_class_carries_its_catalogue_name_and_section(spec: catalogue.AlgorithmSpec) -> None:
    from pulsetrain.model.algorithms import algorithm_class
    from pulsetrain.model.training import TrainConfig

    assert algorithm_class(spec.name).name == spec.name
    if spec.config_section is not None:
        assert spec.config_section in {f.name for f in dataclasses.fields(TrainConfig)}


def test_the_cosim_lists_come_from_the_catalogue() -> None:
    from pulsetrain.cosim.training import COSIM_ALGORITHMS, TRANSFER_ALGORITHMS

    assert set(COSIM_ALGORITHMS) == {"sgd", "dfa", "ttv2", "c-ttv2", "agad"}
    assert set(TRANSFER_ALGORITHMS) == {"ttv2", "c-ttv2", "agad"}


def test_device_kinds_and_synthesis_targets_match_their_owners() -> None:
    from pulsetrain.model.devices import DEVICES
    from pulsetrain.synth.flows import Target

    assert catalogue.DEVICE_KINDS == tuple(DEVICES)
    assert catalogue.SYNTH_TARGETS == tuple(target.value for target in Target)


def test_the_estimator_knows_exactly_the_catalogue_algorithms_it_claims() -> None:
    from pulsetrain.synth.estimator import ESTIMATE_ALGORITHMS, Algorithm

    assert ESTIMATE_ALGORITHMS == catalogue.algorithm_names(estimator=True)
    assert tuple(member.value for member in Algorithm) == ESTIMATE_ALGORITHMS


def test_unknown_names_are_refused_with_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="algo must be one of fp, sgd"):
        catalogue.get_algorithm("adam")
    with pytest.raises(ConfigError, match="--block must be one of adc-readout"):
        catalogue.get_block("pulse")
    with pytest.raises(ConfigError, match="sweep knob must be one of array_size"):
        catalogue.SweepFields().of("width")
