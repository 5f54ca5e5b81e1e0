"""One PNG per study (matplotlib, Agg backend), drawn from the study's summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulsetrain.model.study_settings import DEFAULT_FLOORS, SBE_TARGET_ACCURACY, TIKI_TAKA_FAMILY


def _errorbar(axis: Any, xs: list[Any], cells: list[Mapping[str, float]], **style: Any) -> None:
    axis.errorbar(
        xs, [100 * c["mean"] for c in cells], yerr=[100 * c["std"] for c in cells], capsize=3, **style
    )


def _offset(figure_axes: Any, summary: Mapping[str, Any]) -> None:
    left, right = figure_axes
    rows = summary["rows"]
    for algo in TIKI_TAKA_FAMILY:
        mine = [r for r in rows if r["algo"] == algo]
        offsets = [r["offset"] for r in mine]
        _errorbar(left, offsets, [r["test_accuracy"] for r in mine], marker="o", label=algo)
        _errorbar(right, offsets, [r["weight_error"] for r in mine], marker="o", label=algo)
    left.set(xlabel="reference offset σ_r (of w_max)", ylabel="digits test accuracy (%)", title="accuracy")
    right.set(
        xlabel="reference offset σ_r (of w_max)", ylabel="weight error (%)", title="linear-map weight error"
    )
    left.legend()
    right.legend()


def _bp_dfa(figure_axes: Any, summary: Mapping[str, Any]) -> None:
    left, right = figure_axes
    rows = summary["rows"]
    for network in sorted({r["network"] for r in rows}):
        for activation in sorted({r["activation"] for r in rows}):
            for algo, style in (("sgd", "-"), ("dfa", "--")):
                mine = [
                    r
                    for r in rows
                    if r["algo"] == algo and r["network"] == network and r["activation"] == activation
                ]
                if mine:
                    name = "BP" if algo == "sgd" else "DFA"
                    _errorbar(
                        left,
                        [r["level"] for r in mine],
                        [r["test_accuracy"] for r in mine],
                        linestyle=style,
                        marker="o",
                        label=f"{name} {network} {activation}",
                    )
    left.set(xlabel="non-ideality level", ylabel="digits test accuracy (%)", title="accuracy")
    if rows:
        left.legend(fontsize=6)
    latency = summary.get("latency", [])
    depths = [r["depth"] for r in latency]
    right.plot(depths, [r["speedup"] for r in latency], marker="o", label="whole sample")
    right.plot(depths, [r["training_speedup"] for r in latency], marker="s", label="after the forward pass")
    right.plot(depths, depths, color="grey", linestyle=":", label="N")
    right.set(xlabel="depth N (weight layers)", ylabel="BP / DFA cycles per sample", title="DFA speed-up")
    right.legend(fontsize=8)


def _sbe(figure_axes: Any, summary: Mapping[str, Any]) -> None:
    left, right = figure_axes
    rows = summary["rows"]
    ranks = sorted({r["rank"] for r in rows if r["algo"] == "sbe"})
    for label, match in [("SGD", {"algo": "sgd"})] + [
        (f"SBE rank {k}", {"algo": "sbe", "rank": k}) for k in ranks
    ]:
        mine = [r for r in rows if all(r[k] == v for k, v in match.items())]
        batches = [r["batch"] for r in mine]
        left.plot(batches, [r["updates_to_target"]["mean"] for r in mine], marker="o", label=label)
        right.plot(batches, [100 * r["test_accuracy"]["mean"] for r in mine], marker="o", label=label)
    left.set(
        xscale="log",
        yscale="log",
        xlabel="batch size",
        ylabel="array updates to target",
        title=f"updates to {100 * SBE_TARGET_ACCURACY:.0f} % train accuracy",
    )
    right.set(xscale="log", xlabel="batch size", ylabel="test accuracy (%)", title="final accuracy")
    left.legend(fontsize=8)
    right.legend(fontsize=8)


def _defaults(axis: Any, summary: Mapping[str, Any]) -> None:
    rows = summary["rows"]
    names = [r["algo"] for r in rows]
    axis.bar(
        names,
        [100 * r["test_accuracy"]["mean"] for r in rows],
        yerr=[100 * r["test_accuracy"]["std"] for r in rows],
        capsize=3,
    )
    for name, floor in DEFAULT_FLOORS.items():
        if name in names:
            index = names.index(name)
            axis.hlines(100 * floor, index - 0.4, index + 0.4, colors="red")
    axis.set(ylabel="digits test accuracy (%)", title="defaults (red: required floor)", ylim=(0, 100))


def plot(study: str, summary: Mapping[str, Any], path: str | Path) -> Path:
    """Draw the study's figure into ``path`` (PNG) with matplotlib's Agg backend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if study == "defaults":
        figure, axis = plt.subplots(figsize=(6, 4))
        _defaults(axis, summary)
    else:
        figure, axes = plt.subplots(1, 2, figsize=(11, 4.5))
        {"offset-sweep": _offset, "bp-vs-dfa": _bp_dfa, "sbe-batch": _sbe}[study](axes, summary)
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    plt.close(figure)
    return target
