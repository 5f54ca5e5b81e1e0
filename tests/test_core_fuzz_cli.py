"""Fuzz harness (hypothesis) over the config space and the command line.

The promise under test: every input either runs (a tiny step) or is refused with exit status 2 and one
line on stderr, before any work; never a traceback, never another exit status.

- ``train`` runs for real on a 40-sample MNIST-format data set the test writes (options, ``--set`` over
  every config key, a generated TOML file, generated output paths); the keys that scale the work
  (``epochs``, ``network.hidden``) draw from small valid values or invalid ones.
- ``report``, ``experiment``, ``synth``, ``estimate`` and ``rtl`` run up to the point where their work
  starts: that point (the executor, a synthesis, the estimator, the Verilog emitter) is replaced by a
  stub that stops the command, so the test sees "validated, would run" without running a study.
- The config dataclasses (training, report, estimator, synthesis flow) take ``--set`` values and TOML
  values of every type: each result is a config or a ``ConfigError``.

Budget: ``PULSETRAIN_FUZZ_EXAMPLES`` examples per test (default 12, derandomized, so the default
suite is fast and reproducible). A large run: ``PULSETRAIN_FUZZ_EXAMPLES=2000 nice pytest -n 0
tests/test_core_fuzz_cli.py --hypothesis-show-statistics`` (``PULSETRAIN_FUZZ_REASONS=1`` also counts the
refusals by message).
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from test_model_data import write_mnist  # tests/ is on sys.path under pytest

from pulsetrain.cli import main
from pulsetrain.config import ConfigError, apply_overrides, to_plain

EXAMPLES = int(os.environ.get("PULSETRAIN_FUZZ_EXAMPLES", "12"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

#: texts a hostile user types (numbers at every edge, other notations, list mistakes, junk)
HOSTILE = [
    "", " ", "0", "1", "-1", "2", "7", "0.5", "-0.5", "1e308", "-1e308", "1e-320", "nan", "inf", "-inf",
    "0x10", "0o7", "1_000", "true", "false", "yes", "none", "null", "1,2", "1,,2", ",", "1,1", "a", "é",
    "\x00", "[1]", "{}", "1e3", "99999999999999999999999", "１", " 3 ", "+4", "--5",
]  # fmt: skip
texts = st.one_of(
    st.sampled_from(HOSTILE),
    st.integers(-(10**6), 10**6).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6),
)
toml_values = st.recursive(
    st.one_of(
        st.booleans(),
        st.integers(-(2**63), 2**63 - 1),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=6),
    ),
    lambda inner: st.lists(inner, max_size=3),
    max_leaves=4,
)
#: keys whose valid values scale the work: small valid values or invalid ones only
BOUNDED: dict[str, list[str]] = {
    "epochs": ["1", "0", "-1", "true", "1.5", "0x1", "", "nan", "1,2", "a"],
    "network.hidden": ["4", "3,2", "0", "-1", "", "1,,2", "0x4", "100000,100000", "4.0", "true"],
}


def _defaults(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every dotted key of a config dataclass (sections walked) with its default value."""
    found: dict[str, Any] = {}
    for item in dataclasses.fields(config):
        value = getattr(config, item.name)
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            found.update(_defaults(value, f"{prefix}{item.name}."))
        else:
            found[prefix + item.name] = value
    return found


def _keys(config: Any, prefix: str = "") -> list[str]:
    return list(_defaults(config, prefix))


def _as_text(value: Any) -> str:
    plain = to_plain(value)
    if isinstance(plain, list):
        return ",".join(str(item) for item in plain)
    return str(plain).lower() if isinstance(plain, bool) else str(plain)


def _plausible(default: Any) -> st.SearchStrategy[str]:
    """Values near a field's default: the default, and for numbers a few multiples and neighbours."""
    options = [_as_text(default)]
    if isinstance(default, int | float) and not isinstance(default, bool):
        options += [_as_text(type(default)(default * factor)) for factor in (0, 2, -1)]
        options += [_as_text(default + 1), _as_text(default / 2)]
    return st.sampled_from(options)


def _train_defaults() -> dict[str, Any]:
    from pulsetrain.model.devices import DEVICES, device_from_name
    from pulsetrain.model.training import TrainConfig

    found = _defaults(TrainConfig())
    for kind in DEVICES:
        found.update({f"device.{key}": value for key, value in _defaults(device_from_name(kind)).items()})
    found.update({"device.kind": "soft-bounds", "nonsense": 1, "device.nonsense": 1})
    del found["data_dir"]
    return found


#: default values by key: the train keys, and the others' as the tests met them
DEFAULTS: dict[str, Any] = _train_defaults()
TRAIN_KEYS = sorted(DEFAULTS)


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_text(item) for item in value) + "]"
    return str(value)


@st.composite
def set_options(draw: st.DrawFn, keys: list[str], max_size: int = 3) -> list[str]:
    options = []
    for key in draw(st.lists(st.sampled_from(keys), max_size=max_size)):
        if key in BOUNDED:
            value = draw(st.sampled_from(BOUNDED[key]))
        elif key in DEFAULTS:
            value = draw(st.one_of(_plausible(DEFAULTS[key]), _plausible(DEFAULTS[key]), texts))
        else:
            value = draw(texts)
        options += ["--set", f"{key}={value}"]
    return options


@st.composite
def toml_files(draw: st.DrawFn, keys: list[str]) -> str:
    lines = []
    for key in draw(st.lists(st.sampled_from(keys), max_size=3, unique=True)):
        if key in BOUNDED:
            lines.append(f"{key} = {json.dumps(draw(st.sampled_from(BOUNDED[key])))}")
        else:
            default = st.just(to_plain(DEFAULTS[key])) if key in DEFAULTS else toml_values
            lines.append(f"{key} = {_toml_text(draw(default | toml_values))}")
    return "\n".join(lines) + "\n"


PATH_KINDS = ["new-file", "folder", "missing-parent", "empty", "a-file", "proc", "nul"]


def _path(folder: Path, kind: str) -> str:
    (folder / "a-file").write_text("x")
    return {
        "new-file": str(folder / "out.json"),
        "folder": str(folder),
        "missing-parent": str(folder / "missing" / "out.json"),
        "empty": "",
        "a-file": str(folder / "a-file"),
        "proc": "/proc/pulsetrain-fuzz/out",
        "nul": str(folder / "a\0b"),  # (argv cannot carry a NUL byte; a program calling the CLI can)
    }[kind]


def check_outcome(args: list[str], *, reached_work: type[BaseException] | None = None) -> str:
    """Run ``pulsetrain ARGS``: 'ran' (exit 0), 'work' (the stubbed work reached) or 'refused' (exit 2)."""
    result = CliRunner().invoke(main, args)
    if reached_work is not None and isinstance(result.exception, reached_work):
        return "work"
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"pulsetrain {args!r} raised {result.exception!r}") from result.exception
    lines = result.stderr.strip().splitlines()
    if result.exit_code == 2:
        assert len(lines) == 1 and lines[0].startswith("pulsetrain: error: "), (args, result.stderr)
        assert result.stdout == "", (args, result.stdout)
        if os.environ.get("PULSETRAIN_FUZZ_REASONS"):
            event(lines[0][19:60])
        return "refused"
    assert result.exit_code == 0, (args, result.exit_code, result.stderr, result.stdout)
    assert "Traceback" not in result.stderr
    return "ran"


def _option_values() -> dict[str, st.SearchStrategy[str]]:
    from pulsetrain.model.algorithms import ALGORITHMS
    from pulsetrain.model.devices import DEVICES

    return {
        "--epochs": st.sampled_from(BOUNDED["epochs"]),
        "--hidden": st.sampled_from(BOUNDED["network.hidden"]),
        "--batch-size": st.sampled_from(["1", "4", "40", "41", "0"]),
        "--lr": _plausible(DEFAULTS["lr"]),
        "--seed": st.sampled_from(["0", "3", "-1", str(2**63)]),
        "--algo": st.sampled_from([*ALGORITHMS, "SGD", "nope"]),
        "--device": st.sampled_from([*DEVICES, "flash"]),
    }


#: values near the valid ones for the train command's own options
OPTION_VALUES = _option_values()


@pytest.fixture(scope="module")
def tiny_mnist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mnist")
    write_mnist(folder)
    return folder


@FUZZ
@given(
    options=st.lists(
        st.sampled_from(
            ["--epochs", "--batch-size", "--lr", "--seed", "--algo", "--device", "--hidden"]
        ).flatmap(
            lambda flag: st.tuples(st.just(flag), st.one_of(OPTION_VALUES[flag], OPTION_VALUES[flag], texts))
        ),
        max_size=3,
    ),
    sets=set_options(TRAIN_KEYS),
    toml=st.sampled_from([None, None]) | toml_files(TRAIN_KEYS),
    json_kind=st.sampled_from([None, None, None, "new-file", "new-file", *PATH_KINDS]),
    checkpoint_kind=st.sampled_from([None, None, None, "new-file", "new-file", *PATH_KINDS]),
    resume=st.booleans(),
)
def test_train_runs_or_refuses_in_one_line(
    tiny_mnist: Path,
    tmp_path: Path,
    options: list[tuple[str, str]],
    sets: list[str],
    toml: str | None,
    json_kind: str | None,
    checkpoint_kind: str | None,
    resume: bool,
) -> None:
    args = ["train", "--dataset", "mnist", "--data-dir", str(tiny_mnist), "--no-progress", "--epochs", "1"]
    for flag, value in options:
        if flag == "--epochs":
            value = value if value in BOUNDED["epochs"] else "1"
        if flag == "--hidden":
            value = value if value in BOUNDED["network.hidden"] else "4"
        args += [flag, value]
    args += sets
    if toml is not None:
        config = tmp_path / "fuzz.toml"
        config.write_text(toml)
        args += ["--config", str(config)]
    if json_kind is not None:
        args += ["--json", _path(tmp_path, json_kind)]
    if checkpoint_kind is not None:
        args += ["--checkpoint-dir", _path(tmp_path, checkpoint_kind).replace("out.json", "ckpt")]
    if resume:
        args.append("--resume")
    event(check_outcome(args))


class ReachedWork(Exception):
    """Raised by the stubs that stand in for the work of a command."""


def _stop(*args: Any, **kwargs: Any) -> Any:
    raise ReachedWork


@pytest.fixture
def stubbed_work() -> Iterator[None]:
    """The work of report / experiment / synth / estimate / rtl replaced by :func:`_stop`."""
    import pulsetrain.rtl.emit
    import pulsetrain.synth.estimator
    import pulsetrain.synth.flows
    import pulsetrain.synth.sweeps

    import pulsetrain.executor

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pulsetrain.executor.Executor, "__init__", _stop)
        patch.setattr(pulsetrain.synth.flows, "synthesize", _stop)
        patch.setattr(pulsetrain.synth.sweeps, "sweep", _stop)
        patch.setattr(pulsetrain.synth.estimator, "estimate", _stop)
        patch.setattr(pulsetrain.rtl.emit, "emit", _stop)
        yield


def _report_keys() -> list[str]:
    from pulsetrain.report import ReportConfig

    found = _defaults(ReportConfig())
    DEFAULTS.update({key: value for key, value in found.items() if key not in DEFAULTS})
    return [*found, "nonsense"]


COMMAND_OPTIONS: dict[str, list[str]] = {
    "report": ["--workers", "--scheduler"],
    "experiment offset-sweep": ["--seeds", "--workers", "--scheduler"],
    "synth": ["--block", "--target", "--size", "--sweep", "--flow-set"],
    "estimate": ["--network", "--algo", "--tech", "--depths"],
    "rtl": ["--block"],
}
PATH_OPTIONS: dict[str, list[str]] = {
    "report": ["--out", "--cache-dir", "--json"],
    "experiment offset-sweep": ["--cache-dir", "--json", "--plot"],
    "synth": ["--json"],
    "estimate": ["--json"],
    "rtl": ["--out", "--json"],
}
SPECIAL: dict[str, list[str]] = {
    "--scheduler": ["notaurl", "tcp://127.0.0.1:1", "", "tcp://:8786", "http://x:1", "tcp://127.0.0.1:99999"],
    "--block": ["lfsr", "pulse-generator", "lfsr,lfsr", ",", "lfsr,", "all", "nope"],
    "--sweep": ["array_size=16", "array_size=0,-4", "bl=7,15", "bl", "array_size=", "x=1"],
    "--flow-set": ["clock_period_ns=5", "clock_period_ns=0x10", "seed=true", "power=1", "nope=1"],
    "--network": ["64-32-10", "64--5-10", "64-0-10", "64", "64-x-10", "-64-10", "64-10-"],
    "--tech": ["rpu_45nm", "neurosim_v21", "nope", "x.toml"],
    "--workers": ["1", "2", "0", "-1", "1025", "true"],
    "--seeds": ["0", "0,1", "0 1", "0,0", "-1", "0,,1", "0x1"],
    "--target": ["generic", "ice40", "all", "nope", ""],
    "--size": ["16", "64", "0", "-1", "1.5"],
    "--algo": ["sgd", "all", "c-ttv2", "fp", "nope"],
    "--depths": ["2,3", "2..4", "2,2", "0", ""],
}


@FUZZ
@given(data=st.data(), command=st.sampled_from(sorted(COMMAND_OPTIONS)))
def test_other_commands_reach_their_work_or_refuse_in_one_line(
    stubbed_work: None, tmp_path: Path, data: st.DataObject, command: str
) -> None:
    args = command.split()
    if command == "report":
        args.append("--quick")
    for flag in data.draw(st.lists(st.sampled_from(COMMAND_OPTIONS[command]), max_size=3)):
        special = st.sampled_from(SPECIAL.get(flag, HOSTILE))
        value = data.draw(st.one_of(special, special, texts))
        args += [flag, value]
    for flag in data.draw(st.lists(st.sampled_from(PATH_OPTIONS[command]), max_size=2, unique=True)):
        args += [flag, _path(tmp_path, data.draw(st.sampled_from(["new-file", "new-file", *PATH_KINDS])))]
    if command == "report":
        args += data.draw(set_options(_report_keys()))
    elif command in ("synth", "rtl"):
        args += data.draw(set_options(["width", "seed", "lines", "bl", "nonsense"], max_size=2))
    event(f"{command}: {check_outcome(args, reached_work=ReachedWork)}")


def _config_space() -> dict[str, Any]:
    from pulsetrain.model.training import TrainConfig
    from pulsetrain.synth.estimator import EstimateConfig
    from pulsetrain.synth.flows import FlowOptions

    from pulsetrain.report import ReportConfig

    return {
        "train": TrainConfig(),
        "report": ReportConfig(),
        "estimate": EstimateConfig(),
        "flow": FlowOptions(),
    }


CONFIGS = _config_space()


@FUZZ
@given(data=st.data(), name=st.sampled_from(sorted(CONFIGS)), typed=st.booleans())
def test_config_space_gives_a_config_or_a_config_error(data: st.DataObject, name: str, typed: bool) -> None:
    config = CONFIGS[name]
    keys = _keys(config)
    overrides: dict[str, Any] = {}
    defaults = _defaults(config)
    for key in data.draw(st.lists(st.sampled_from(keys), min_size=1, max_size=4, unique=True)):
        if typed:
            overrides[key] = data.draw(toml_values | st.just(to_plain(defaults[key])))
        else:
            overrides[key] = data.draw(texts | _plausible(defaults[key]))
    try:
        result = apply_overrides(config, overrides)
    except ConfigError as error:
        assert "\n" not in str(error)
        event(f"{name}: refused")
        return
    assert type(result) is type(config)
    event(f"{name}: accepted")
