"""What ``pulsetrain report`` computes: one validated, frozen config with a section per part.

:class:`ReportConfig` holds the defaults; ``--quick`` picks the small preset; a TOML file (``--config``)
and ``--set key=value`` override any field by dotted path, and everything is validated before any work
starts. Each part's section (``training``, ``cosim``, ``cost``, ``studies``) has an ``enabled`` switch
that the part registry (:mod:`pulsetrain.report.parts`) reads.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulsetrain import catalogue
from pulsetrain.config import ConfigError, check_choice, check_int, resolve, to_plain

#: every algorithm the report trains by default, in the order of its table (the catalogue's)
ALL_ALGORITHMS: tuple[str, ...] = catalogue.algorithm_names(report=True)
#: the three studies of the algorithms issue, by their ``pulsetrain experiment`` names
ALL_STUDIES: tuple[str, ...] = ("offset-sweep", "bp-vs-dfa", "sbe-batch")
#: algorithms whose periphery can run with the RTL in the loop (``pulsetrain cosim --algo``)
COSIM_ALGORITHMS: tuple[str, ...] = catalogue.algorithm_names(cosim=True)
#: simulators for the RTL-in-the-loop run
SIMULATORS: tuple[str, ...] = ("verilator", "icarus")
#: device models of the behavioral model (``pulsetrain train --device``)
DEVICE_KINDS: tuple[str, ...] = catalogue.DEVICE_KINDS
#: synthesis targets (``pulsetrain synth --target``)
SYNTH_TARGETS: tuple[str, ...] = catalogue.SYNTH_TARGETS


def _check_names(name: str, values: tuple[str, ...], allowed: tuple[str, ...], *, empty_ok: bool) -> None:
    if not isinstance(values, tuple):
        raise ConfigError(f"{name} must be a list of names, not {values!r}")
    if not values and not empty_ok:
        raise ConfigError(f"{name} must name at least one of {', '.join(allowed)}")
    for value in values:
        check_choice(name, value, allowed)
    if len(set(values)) != len(values):
        raise ConfigError(f"{name} must not repeat a name, not {values!r}")


@dataclass(frozen=True, kw_only=True)
class TrainingPart:
    """Training the default network with each algorithm on the behavioral model."""

    #: Run this part at all.
    enabled: bool = True
    #: Algorithms to train (``pulsetrain train --algo`` names).
    algorithms: tuple[str, ...] = ALL_ALGORITHMS
    #: Seeds per algorithm; the table shows the mean over seeds, the curves each seed.
    seeds: tuple[int, ...] = (0,)
    #: Training epochs over the training split.
    epochs: int = 30
    #: Hidden layer widths of the MLP (inputs and classes are fixed by the data set); unused with ``network``.
    hidden: tuple[int, ...] = (32,)
    #: A network by name (``pulsetrain train --network``: lenet5, mlp784); empty: the MLP of ``hidden``.
    network: str = ""
    #: Data set (``pulsetrain train --dataset``: digits, mnist, fashion-mnist, cifar10).
    dataset: str = "digits"
    #: Folder of the data set's files (empty: the data set's default place).
    data_dir: str = ""
    #: Train on the first N training samples only (0: the whole training split). For scaled timing runs.
    train_samples: int = 0
    #: Evaluate on the first N test samples only (0: the whole test split). For scaled timing runs.
    test_samples: int = 0
    #: Device model of the arrays (``pulsetrain train --device``): the defaults study uses soft bounds.
    device: str = "soft-bounds"
    #: Device model per algorithm, as ``algo=device-kind`` (e.g. ``c-ttv2=soft-bounds``); the others use
    #: ``device``.
    algorithm_devices: tuple[str, ...] = ()
    #: Overrides of the model's TrainConfig by dotted path, as ``key=value`` strings
    #: (e.g. ``("device.dw_min=0.002",)``), applied to every algorithm.
    train_set: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_names("training.algorithms", self.algorithms, ALL_ALGORITHMS, empty_ok=True)
        if not self.seeds:
            raise ConfigError("training.seeds must hold at least one seed")
        for seed in self.seeds:
            check_int("training.seeds", seed, 0, 2**32 - 1)
        check_int("training.epochs", self.epochs, 1, 10_000)
        if not self.hidden:
            raise ConfigError("training.hidden must hold at least one hidden layer width")
        for width in self.hidden:
            check_int("training.hidden", width, 1, 4096)
        check_choice("training.device", self.device, DEVICE_KINDS)
        for name in ("network", "dataset", "data_dir"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(f"training.{name} must be text, not {getattr(self, name)!r}")
        check_int("training.train_samples", self.train_samples, 0, 10_000_000)
        check_int("training.test_samples", self.test_samples, 0, 10_000_000)
        for item in self.algorithm_devices:
            algo, _, device = item.partition("=")
            check_choice("training.algorithm_devices (algorithm)", algo, ALL_ALGORITHMS)
            check_choice("training.algorithm_devices (device)", device, DEVICE_KINDS)
        for item in self.train_set:
            if "=" not in item:
                raise ConfigError(f"training.train_set entries must be key=value, not {item!r}")


@dataclass(frozen=True, kw_only=True)
class CosimPart:
    """One algorithm's periphery with the RTL in the loop, compared decision by decision with the model."""

    #: Run this part at all.
    enabled: bool = True
    #: The algorithm whose periphery decisions the simulated RTL serves.
    algorithm: str = "c-ttv2"
    #: Training samples run with the RTL in the loop.
    samples: int = 300
    #: HDL simulator.
    simulator: str = "verilator"
    #: Seed of the run (the pure-model run it is compared with uses the same).
    seed: int = 0
    #: Hidden layer widths of the co-simulated network (empty: the same as ``training.hidden``). The
    #: Verilator build grows with the number of pulsed lines, so the quick preset uses a narrow one.
    hidden: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        for width in self.hidden:
            check_int("cosim.hidden", width, 1, 4096)
        check_choice("cosim.algorithm", self.algorithm, COSIM_ALGORITHMS)
        check_int("cosim.samples", self.samples, 1, 1_000_000)
        check_choice("cosim.simulator", self.simulator, SIMULATORS)
        check_int("cosim.seed", self.seed, 0, 2**32 - 1)


@dataclass(frozen=True, kw_only=True)
class CostPart:
    """Synthesis of the periphery blocks and the area / energy / latency estimator."""

    #: Run this part at all.
    enabled: bool = True
    #: Synthesis targets for the periphery blocks.
    targets: tuple[str, ...] = ("generic", "nangate45")
    #: Technology point of the estimator (a name from the estimator's technology table; empty: its default).
    technology: str = ""
    #: Cost the digital periphery from the Nangate45 synthesis reports of the RTL blocks (slow the first
    #: time: every block is synthesized; cached after).
    use_synthesis: bool = True

    def __post_init__(self) -> None:
        _check_names("cost.targets", self.targets, SYNTH_TARGETS, empty_ok=True)


@dataclass(frozen=True, kw_only=True)
class StudiesPart:
    """The three studies of the algorithms (``pulsetrain experiment NAME``)."""

    #: Run this part at all.
    enabled: bool = True
    #: Which studies to run.
    studies: tuple[str, ...] = ALL_STUDIES
    #: Use each study's ``--quick`` size instead of its full size.
    quick: bool = False
    #: Seeds of every study setting (the studies' own default is 0,1,2; one seed keeps the default report
    #: within about 15 minutes on 2 cores).
    seeds: tuple[int, ...] = (0,)
    #: Cap on the training epochs of every study run (0: the study's own number).
    max_epochs: int = 0

    def __post_init__(self) -> None:
        _check_names("studies.studies", self.studies, ALL_STUDIES, empty_ok=True)
        if not self.seeds:
            raise ConfigError("studies.seeds must hold at least one seed")
        for seed in self.seeds:
            check_int("studies.seeds", seed, 0, 2**32 - 1)
        check_int("studies.max_epochs", self.max_epochs, 0, 10_000)


@dataclass(frozen=True, kw_only=True)
class ReportConfig:
    """Everything ``pulsetrain report`` computes, as one validated, frozen config.

    Override any field by dotted path: ``--set training.epochs=5``, ``--set cosim.samples=100``,
    ``--set studies.studies=offset-sweep,sbe-batch``, or the same keys as TOML tables.
    """

    #: Title of the HTML page.
    title: str = "pulsetrain report"
    #: Training every algorithm on the model.
    training: TrainingPart = field(default_factory=TrainingPart)
    #: The RTL-in-the-loop comparison.
    cosim: CosimPart = field(default_factory=CosimPart)
    #: Synthesis and the cost estimator.
    cost: CostPart = field(default_factory=CostPart)
    #: The three studies.
    studies: StudiesPart = field(default_factory=StudiesPart)

    def __post_init__(self) -> None:
        if not isinstance(self.title, str):
            raise ConfigError(f"title must be text, not {self.title!r}")

    @classmethod
    def preset(cls, *, quick: bool = False, size: str | None = None) -> ReportConfig:
        """A named size (:data:`SIZES`): ``default`` (full), ``quick`` (about two minutes on two cores;
        ``quick=True`` picks it too) or ``lenet`` (LeNet-5 on Fashion-MNIST, every algorithm)."""
        if size is not None:
            check_choice("--size", size, SIZES)
            if quick and size != "quick":
                raise ConfigError(f"--quick and --size {size} name two sizes; give one")
        size = size or ("quick" if quick else "default")
        if size == "lenet":
            return lenet_preset()
        if size == "default":
            return cls()
        return cls(
            title="pulsetrain report (quick)",
            training=TrainingPart(epochs=3),
            cosim=CosimPart(samples=100, hidden=(8,)),
            cost=CostPart(targets=("generic",), use_synthesis=False),
            studies=StudiesPart(quick=True, max_epochs=3),
        )


#: the named sizes of the report (``--size``)
SIZES: tuple[str, ...] = ("default", "quick", "lenet")
#: the LeNet size's devices per algorithm: the issue's comparison puts the Tiki-Taka family on soft bounds
#: (c-TTv2 and AGAD "on SoftBounds"), analog SGD on ConstantStep (as aihwkit's LeNet-5 example 4 does)
LENET_ALGORITHM_DEVICES: tuple[str, ...] = ("ttv2=soft-bounds", "c-ttv2=soft-bounds", "agad=soft-bounds")


def lenet_preset() -> ReportConfig:
    """``--size lenet``: LeNet-5 on Fashion-MNIST, every algorithm, 10 epochs, seed 0; no other part.

    The RTL in the loop, synthesis, the estimator and the studies are switched off: this size is the
    training comparison alone (``pulsetrain cosim --network lenet5`` co-simulates the network).
    """
    return ReportConfig(
        title="pulsetrain report: LeNet-5 on Fashion-MNIST",
        training=TrainingPart(
            epochs=10,
            network="lenet5",
            dataset="fashion-mnist",
            device="constant-step",
            algorithm_devices=LENET_ALGORITHM_DEVICES,
        ),
        cosim=CosimPart(enabled=False),
        cost=CostPart(enabled=False),
        studies=StudiesPart(enabled=False),
    )


def resolve_report_config(
    *,
    quick: bool = False,
    size: str | None = None,
    config_file: str | Path | None = None,
    sets: tuple[str, ...] = (),
) -> ReportConfig:
    """Preset, then the TOML file, then ``--set``: the resolved, validated config (ConfigError if bad)."""
    return resolve(ReportConfig.preset(quick=quick, size=size), config_file=config_file, sets=sets)


def config_document(config: ReportConfig) -> dict[str, Any]:
    """The config as plain data (for results.json and the page)."""
    document: dict[str, Any] = to_plain(config)
    return document
