"""Pulse response of pulsetrain's devices against IBM aihwkit's, side by side (issue 13).

    python benchmarks/compare_aihwkit.py [--devices 500] [--pulses 200]

500 devices per case, each given ``--pulses`` up pulses and then as many down pulses from w = 0, with
identical parameters on both sides: aihwkit ``ConstantStepDevice`` / ``SoftBoundsDevice`` in an
``AnalogTile`` (one pulse per device and step: stochastic-compressed pulses with bit length 1 at
probability 1, lr = dw_min) against pulsetrain's devices of the same names (``DeviceArray.apply``). The two
draw their device-to-device spreads and cycle noise from different generators, so only the statistics
across the devices can agree: per step, the difference of the means and the ratio of the standard
deviations. Without any noise or spread the trajectories must be identical.

aihwkit is not a dependency of pulsetrain. When it cannot be imported, the script prints the figures
last measured with it (below, with the versions) instead of rerunning them; install it in a separate
environment to rerun (aihwkit 1.1.0's CPython 3.11 wheel imports with torch 2.10.0; with torch 2.9.1 it
fails on an undefined libc10 symbol).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

import numpy as np
from pulsetrain.model import devices

#: The figures this script printed with aihwkit installed: aihwkit 1.1.0 (PyPI wheel, CPython 3.11),
#: torch 2.10.0+cu128 run on the CPU, pulsetrain at the commit that added this file; 500 devices, 200 up
#: then 200 down pulses, seed 0 (2-core machine, load 3.5; time is not compared). Every parameter is
#: given explicitly to both sides (aihwkit's own defaults differ: w_max/w_min 0.6 there, 1 here).
REFERENCE = """\
case                                     max |mean diff|  std ratio min-max  final mean pulsetrain / aihwkit
constant-step, no noise, no spread                0.0000          identical  -1.0000 / -1.0000
constant-step, spreads + cycle noise              0.0253          0.95-1.07  -0.7033 / -0.7286
constant-step, spreads + noise, up_down 0.2       0.0293          0.98-1.08  -0.4645 / -0.4939
constant-step, spreads + noise, up_down -0.2      0.0473          0.92-1.01  -0.7489 / -0.7962
soft-bounds, no noise, no spread                  0.0000          identical  -0.7500 / -0.7500
soft-bounds, spreads + cycle noise                0.0247          0.96-1.04  -0.6812 / -0.7056
soft-bounds, spreads + noise, up_down 0.2         0.0284          0.92-1.01  -0.5534 / -0.5817
soft-bounds, spreads + noise, up_down -0.2        0.0310          0.91-1.03  -0.6962 / -0.7270

aihwkit's cycle noise is not seeded by ``construction_seed`` or ``torch.manual_seed``: a second run of
the same command gave 0.013-0.059 and std ratios 0.87-1.07 for the noisy cases. With 5000 devices
(seeds 1 and 2, every spread case) the mean differences fall to 0.003-0.013 and the std ratios to
0.97-1.02: sampling noise of 500 devices (the final std is about 0.3, so the standard error of a
difference of two means is about 0.02) explains the table's 0.025-0.047. The final mean differences
were negative (pulsetrain lower) in all 12 of those runs (-0.0015 to -0.013): a
small residual bias whose cause was not identified (candidates: how each side clips the bound spread,
pulsetrain at 5 % of the nominal bound). Before issue 13's change to aihwkit's up_down semantics the
reviewer measured mean differences of 0.043-0.061 at up_down 0.2 (issue 13, not rerun here).
"""


@dataclass(frozen=True, kw_only=True)
class Case:
    """One comparison: a device kind and the parameters both sides get."""

    #: shown in the output
    name: str
    #: "constant-step" or "soft-bounds"
    kind: str
    #: parameters by their (shared) aihwkit names
    params: dict[str, float]


QUIET = {"dw_min_dtod": 0.0, "dw_min_std": 0.0, "up_down_dtod": 0.0, "w_max_dtod": 0.0, "w_min_dtod": 0.0}
SPREADS = {"dw_min_dtod": 0.3, "dw_min_std": 0.3, "up_down_dtod": 0.01, "w_max_dtod": 0.3, "w_min_dtod": 0.3}
CASES = [
    Case(name=f"{kind}, {label}", kind=kind, params={"dw_min": 0.01, "w_max": 1.0, "w_min": -1.0, **extra})
    for kind in ("constant-step", "soft-bounds")
    for label, extra in (
        ("no noise, no spread", QUIET),
        ("spreads + cycle noise", SPREADS),
        ("spreads + noise, up_down 0.2", {**SPREADS, "up_down": 0.2}),
        ("spreads + noise, up_down -0.2", {**SPREADS, "up_down": -0.2}),
    )
]


def pulsetrain_walk(case: Case, n_devices: int, pulses: int, seed: int) -> np.ndarray:
    """(2 * pulses, n_devices) states of pulsetrain's devices: ``pulses`` up, then as many down."""
    cls = devices.ConstantStepDevice if case.kind == "constant-step" else devices.SoftBoundsDevice
    extra = {"mult_noise": False} if case.kind == "soft-bounds" else {}
    array = cls(**case.params, **extra).sample((1, n_devices), np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    w = np.zeros((1, n_devices))
    trajectory = []
    for step in range(2 * pulses):
        array.apply(w, np.full((1, n_devices), 1 if step < pulses else -1), rng)
        trajectory.append(w[0].copy())
    return np.array(trajectory)


def aihwkit_walk(case: Case, n_devices: int, pulses: int, seed: int) -> np.ndarray:
    """The same walk on aihwkit's device of the same name (one device per tile row)."""
    import torch
    from aihwkit.simulator.configs import SingleRPUConfig
    from aihwkit.simulator.configs import devices as aihwkit_devices
    from aihwkit.simulator.parameters.enums import PulseType
    from aihwkit.simulator.tiles.analog import AnalogTile

    cls = (
        aihwkit_devices.ConstantStepDevice
        if case.kind == "constant-step"
        else aihwkit_devices.SoftBoundsDevice
    )
    extra = {"mult_noise": False} if case.kind == "soft-bounds" else {}
    device = cls(**case.params, **extra, construction_seed=seed)
    config = SingleRPUConfig(device=device)
    config.update.pulse_type = PulseType.STOCHASTIC_COMPRESSED
    config.update.desired_bl = 1
    config.update.update_bl_management = False
    config.update.update_management = False
    torch.manual_seed(seed)
    tile = AnalogTile(n_devices, 1, config)
    tile.set_learning_rate(case.params["dw_min"])
    tile.set_weights(torch.zeros(n_devices, 1))
    x = torch.ones(1, 1)
    trajectory = []
    for step in range(2 * pulses):
        # aihwkit's update is W -= lr d x^T: d = -1 is an up pulse
        tile.update(x, torch.full((1, n_devices), -1.0 if step < pulses else 1.0))
        weights, _ = tile.get_weights()
        trajectory.append(weights[:, 0].numpy().astype(np.float64))
    return np.array(trajectory)


def compare(n_devices: int, pulses: int) -> None:
    """Print, per case, the largest difference of the means and the range of the std ratio."""
    print(
        f"{'case':48s} {'max |mean diff|':>16s} {'std ratio min-max':>20s} {'final mean pt / aihwkit':>24s}"
    )
    for case in CASES:
        ours = pulsetrain_walk(case, n_devices, pulses, seed=0)
        theirs = aihwkit_walk(case, n_devices, pulses, seed=0)
        mean_diff = float(np.max(np.abs(ours.mean(axis=1) - theirs.mean(axis=1))))
        spread = theirs.std(axis=1) > 1e-9
        if spread.any():
            ratio = ours.std(axis=1)[spread] / theirs.std(axis=1)[spread]
            ratio_text = f"{ratio.min():.2f}-{ratio.max():.2f}"
        else:
            identical = np.allclose(ours, theirs, atol=1e-6)
            ratio_text = "identical" if identical else "no spread, differ"
        finals = f"{ours[-1].mean():+.4f} / {theirs[-1].mean():+.4f}"
        print(f"{case.name:48s} {mean_diff:16.4f} {ratio_text:>20s} {finals:>24s}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=500, help="devices per case (default 500)")
    parser.add_argument("--pulses", type=int, default=200, help="up pulses, then as many down (default 200)")
    args = parser.parse_args()
    for name, value in (("--devices", args.devices), ("--pulses", args.pulses)):
        if value < 1:
            print(f"{name} must be a positive integer, not {value}", file=sys.stderr)
            return 2
    try:
        import aihwkit  # noqa: F401
    except ImportError as error:
        print(f"aihwkit is not importable here ({error}); the figures last measured with it:\n")
        print(REFERENCE)
        return 0
    compare(args.devices, args.pulses)
    return 0


if __name__ == "__main__":
    sys.exit(main())
