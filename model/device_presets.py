"""aihwkit's device presets, so that a user can run aihwkit's devices in pulsetrain (``--device reram-sb``).

Every number is copied from IBM aihwkit ``src/aihwkit/simulator/presets/devices.py`` at commit
4545f11b5214c5e3c6b9d293053bbf8baf74e110 (the class named in each docstring); the fields mean what they
mean there (see :mod:`pulsetrain.model.devices`). What is not modelled is said per preset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pulsetrain.model.devices import DeviceConfig, ExpStepDevice, LinearStepDevice, SoftBoundsDevice


@dataclass(frozen=True, kw_only=True)
class ReRamSBPreset(SoftBoundsDevice):
    """aihwkit ``ReRamSBPresetDevice``: soft-bounds ReRAM, loose fit to Gong et al., Nat. Commun. 2018.

    aihwkit assumes the devices are read against a reference at their symmetry point; here the bounds
    ``1.25 / -0.75`` with equal steps put that point at 0 already.
    """

    kind: ClassVar[str] = "reram-sb"
    dw_min: float = 0.002
    up_down: float = 0.0
    w_max: float = 1.25
    w_min: float = -0.75
    mult_noise: bool = False
    dw_min_dtod: float = 0.3
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.3 / 1.25
    w_min_dtod: float = 0.3 / 0.75
    dw_min_std: float = 3.75
    write_noise_std: float = 56.0


@dataclass(frozen=True, kw_only=True)
class ReRamESPreset(ExpStepDevice):
    """aihwkit ``ReRamESPresetDevice``: exp-step ReRAM, fit to Gong et al., Nat. Commun. 2018."""

    kind: ClassVar[str] = "reram-es"
    dw_min: float = 0.00135
    up_down: float = 0.259359
    w_max: float = 1.0
    w_min: float = -1.0
    a: float = -0.5
    b: float = -0.5
    gamma_up: float = 5.0
    gamma_down: float = 5.0
    A_up: float = -1.18445
    A_down: float = -0.081404
    dw_min_dtod: float = 0.2
    up_down_dtod: float = 0.05
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3
    dw_min_std: float = 5.0
    write_noise_std: float = 75.0


@dataclass(frozen=True, kw_only=True)
class CapacitorPreset(LinearStepDevice):
    """aihwkit ``CapacitorPresetDevice``: a capacitor cell with a slightly linear step.

    Not modelled: aihwkit's ``lifetime`` 1e6 (``lifetime_dtod`` 0.3), a decay toward zero by a factor
    ``1 - 1/lifetime`` per mini-batch; over 10^4 updates it moves a weight by about 1 %.
    """

    kind: ClassVar[str] = "capacitor"
    dw_min: float = 0.005
    up_down: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    mult_noise: bool = False
    gamma_up: float = 0.05
    gamma_down: float = 0.05
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.06
    w_max_dtod: float = 0.07
    w_min_dtod: float = 0.07
    gamma_up_dtod: float = 0.01
    gamma_down_dtod: float = 0.01
    dw_min_std: float = 0.3
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True


@dataclass(frozen=True, kw_only=True)
class EcRamMOPreset(LinearStepDevice):
    """aihwkit ``EcRamMOPresetDevice``: metal-oxide ECRAM, a linear step with unequal slopes."""

    kind: ClassVar[str] = "ecram-mo"
    dw_min: float = 2.8214e-4
    up_down: float = 0.0
    w_max: float = 1.1714
    w_min: float = -0.8286
    mult_noise: bool = True
    gamma_up: float = 0.4152
    gamma_down: float = 0.7342
    dw_min_dtod: float = 0.1
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    dw_min_std: float = 2.0
    write_noise_std: float = 0.0
    mean_bound_reference: bool = True


#: The presets, registered in :data:`pulsetrain.model.devices.DEVICES` under their ``kind``.
PRESETS: tuple[type[DeviceConfig], ...] = (ReRamSBPreset, ReRamESPreset, CapacitorPreset, EcRamMOPreset)
