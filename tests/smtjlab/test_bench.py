import math
import time

import numpy as np
import pytest
from smtjlab.acquisition.bitstream import autocorrelation
from smtjlab.acquisition.packing import unpack_bits
from smtjlab.acquisition.pool import BitPool
from smtjlab.acquisition.record import record
from smtjlab.inference.bitsource import BitSourceError, PoolBits
from smtjlab.instruments.safety import BiasLimitError, BiasLimits, OutputMayBeOnError
from smtjlab.instruments.scpi import InstrumentError
from smtjlab.mocks import mock_infiniivision, recorded
from smtjlab.mocks.visa_library import KEITHLEY_RESOURCE, SCOPE_RESOURCE

from smtjlab.bench import Bench, mock_bit_bank, open_bit_source, take_final_states
from smtjlab.errors import SmtjlabError
from smtjlab.station import Station

FAST = BiasLimits(ramp_step_v=0.05, ramp_rate_v_per_s=1e6)


def mock_bench(seed: int = 0, limits: BiasLimits | None = None, **options) -> Bench:
    return Bench.open(Station.mock(seed=seed, limits=limits), **options)


def world(bench: Bench):
    """The SimulatedBench behind the mock cables."""
    return bench.source.resource.visalib.bench


def test_a_record_becomes_states_and_bits():
    with mock_bench(limits=FAST, points=200_000) as bench:
        bench.set_bias(0.30)
        record = bench.record()
        assert record.data.dtype == np.int8 and record.volts_per_code > 0
        assert record.bias_voltage == 0.30 and record.attrs["source"] == "synthetic"
        found = bench.digitize(record)
        assert found.p_high == pytest.approx(0.5, abs=0.05)
        assert found.tau_c_s == pytest.approx(1e-6, rel=0.15)  # the mock device's τc
        assert found.low_v == pytest.approx(0.10, abs=0.003)  # 0.30 V across the divider
        bits = bench.bits(record)
        assert 7_000 < len(bits) < 12_000  # every 2τc ≈ 20 samples
        assert len(bench.measure_bits(0.28, 15_000)) >= 15_000
        assert bench.bias_v == 0.28


def test_a_bias_beyond_the_limits_is_refused_and_nothing_moves():
    with mock_bench(limits=FAST, points=10_000) as bench:
        bench.set_bias(0.30)
        with pytest.raises(BiasLimitError, match="refused"):
            bench.set_bias(0.8)
        assert bench.bias_v == 0.30 and world(bench).source_voltage == pytest.approx(0.30)
        with pytest.raises(BiasLimitError):
            bench.calibrate([0.5], bias_range=(0.1, 0.9))
        assert world(bench).source_voltage == pytest.approx(0.30)


def test_leaving_the_block_ramps_to_zero_and_turns_the_output_off_even_after_an_error():
    bench = mock_bench(limits=FAST, points=10_000)
    simulated = world(bench)
    with pytest.raises(RuntimeError), bench:
        bench.set_bias(0.35)
        assert simulated.output_on and simulated.bias_v == pytest.approx(0.35)
        raise RuntimeError("boom")
    assert not simulated.output_on and simulated.source_voltage == 0.0


def test_fill_streams_records_through_the_ring_into_a_pool():
    pool = BitPool(0.5, 1 << 16)
    with mock_bench(limits=FAST, points=100_000) as bench:
        bench.set_bias(0.30)
        report = bench.fill(pool, 20_000)
    assert report.bits >= 20_000 and report.records >= 4 and report.dropped == 0
    assert pool.appended == report.bits
    assert pool.p_measured == pytest.approx(0.5, abs=0.03)


@pytest.mark.parametrize("digitizing_s", [0.0, 0.05])
def test_a_fill_acquires_the_same_records_however_fast_it_digitizes(digitizing_s, monkeypatch):
    # A simulated bench draws every record from one generator: if the acquisition thread ran
    # ahead by a timing-dependent number of records, the next pool would get other bits.
    with mock_bench(limits=FAST, points=20_000) as bench:
        bench.set_bias(0.30)
        acquired = []
        records = bench.records
        monkeypatch.setattr(
            bench, "records", lambda devices: acquired.append(1) or records(devices)
        )
        bits = bench.bits

        def slow_bits(record):
            time.sleep(digitizing_s)
            return bits(record)

        monkeypatch.setattr(bench, "bits", slow_bits)
        report = bench.fill(BitPool(0.5, 1 << 16), 4_000, ring_capacity=3)
    assert len(acquired) == report.records + 3 + 1


def test_a_resource_station_tells_the_instruments_apart_by_their_idn():
    # The scope named first: *IDN? decides which is the source and which the readout.
    station = Station.from_resources([SCOPE_RESOURCE, KEITHLEY_RESOURCE], limits=FAST)
    station = Station(station.instruments, limits=FAST, visa_library="@smtjlab")
    with Bench.open(station, points=10_000) as bench:
        assert bench.source.idn.startswith("KEITHLEY") and "SO-X" in bench.readout.idn
        assert bench.origin == "synthetic"


def test_closing_reports_each_source_read_back():
    take_final_states()
    with mock_bench(limits=FAST, points=10_000) as bench:
        bench.set_bias(0.3)
    assert bench.final_state == ["smu: 0.000 V, output off"]
    assert take_final_states() == ["smu: 0.000 V, output off"]


def test_mock_bit_bank_serves_the_engine_draw():
    bank = mock_bit_bank([0.75, 0.25], bits_per_level=50_000)
    assert bank.levels == [0.25, 0.75]
    for pool in bank.pools:
        assert pool.n_bits >= 49_920 and pool.bias_v is not None
        assert pool.p_measured == pytest.approx(pool.p_target, abs=0.02)
    streams = bank.draw(0.25, 10, 100, np.random.default_rng(0))
    assert streams.shape == (10, 2) and streams.dtype == np.uint64


@pytest.mark.parametrize("spacing", [0.5, 4.0])
def test_the_bit_spacing_sets_the_lag_1_correlation_of_the_bits(spacing):
    with mock_bench(limits=FAST, points=400_000, spacing=spacing) as bench:
        bench.set_bias(0.30)
        found = bench.digitize(bench.record())
        bits = bench.bits_of(found)
    interval = math.ceil(spacing * found.tau_c_samples)  # whole samples, rounded up
    assert len(bits) == pytest.approx(400_000 / interval, abs=1)
    assert autocorrelation(bits, 1) == pytest.approx(math.exp(-spacing), abs=0.04)


def test_closer_bits_are_more_correlated_and_a_bad_spacing_is_refused():
    lag1 = {}
    for spacing in (0.25, 1.0, 2.0):
        with mock_bench(seed=2, limits=FAST, points=200_000, spacing=spacing) as bench:
            bench.set_bias(0.29)
            lag1[spacing] = autocorrelation(bench.bits(bench.record()), 1)
    assert lag1[0.25] > lag1[1.0] > lag1[2.0] > 0
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(SmtjlabError, match="bit spacing"):
            mock_bench(spacing=bad)


def test_a_mock_bit_bank_can_be_miscalibrated_and_spaced_on_purpose():
    bank = mock_bit_bank([0.25, 0.75], bits_per_level=100_000, level_error=0.04, spacing=1.0)
    assert bank.levels == [0.25, 0.75]  # each pool still serves its level ...
    for pool in bank.pools:  # ... from a bias solved 0.04 off it (± the calibration's 0.01)
        assert abs(pool.p_measured - pool.p_target) == pytest.approx(0.04, abs=0.012)
        assert autocorrelation(pool.bits(), 1) == pytest.approx(math.exp(-1.0), abs=0.05)
    with pytest.raises(SmtjlabError, match="out of"):
        mock_bit_bank([0.25, 0.75], level_error=0.3)


def test_a_record_that_barely_switches_keeps_its_real_levels():
    # At 0.15 V the mock device is high 0.25 % of the time (in dwells 9σ above the low
    # level), so most of the 64 level windows hold noise alone. Those were once taken for
    # two levels ~2.3σ apart, and about a third of the records came out at p ≈ 0.39.
    with mock_bench(seed=3) as bench:
        bench.set_bias(0.15)
        found = [bench.digitize(bench.record()) for _ in range(12)]
    assert all(f.p_high < 0.01 for f in found)
    assert all(f.snr > 7 for f in found)  # the gap of the real levels, not of a noise split


@pytest.mark.parametrize("seed", [3, 6, 11])  # the seeds whose 0.15 V point was split noise
def test_mock_calibration_reaches_every_level(seed):
    with mock_bench(seed=seed) as bench:
        result = bench.calibrate([0.25, 0.5, 0.75])
    assert result.fit.width == pytest.approx(0.025, abs=0.001)  # the mock device's sigmoid
    for level in result.levels:
        assert abs(level.p_measured - level.p_target) <= 0.01
    quality = result.quality()  # the model is a sigmoid, sampled at every bias asked
    assert quality.warnings == [] and quality.coverage.visited == quality.coverage.asked == 22


def test_a_replay_of_few_biases_calibrates_with_a_poor_fit_warning(tmp_path):
    staircase = recorded.generate(
        tmp_path / "few.h5", occupancies=(0.1, 0.25, 0.5, 0.75, 0.9), samples=1 << 17
    )
    with Bench.open(Station.mock("replay", recording=staircase), points=100_000) as bench:
        result = bench.calibrate([0.25, 0.5, 0.75])
    assert all(abs(level.p_measured - level.p_target) <= 0.01 for level in result.levels)
    quality = result.quality()
    assert quality.poor_fit and quality.fit_rms > 10 * quality.noise_rms
    assert quality.warnings[0].startswith("poor fit")


def test_bit_pool_files_open_through_the_acquisition_layer(tmp_path):
    rng = np.random.default_rng(2)
    pools = {p: (rng.random(768) < p).astype(np.uint8) for p in (0.25, 0.5, 0.75)}
    path = PoolBits(pools).save(tmp_path / "pools.h5")
    bank = open_bit_source(str(path), [0.25, 0.5, 0.75])
    assert bank.levels == [0.25, 0.5, 0.75]
    assert np.array_equal(unpack_bits(bank.draw(0.5, 1, 768, rng), 768)[0], pools[0.5])
    with pytest.raises(BitSourceError, match="no such bit-pool file"):
        open_bit_source(str(tmp_path / "absent.h5"), [0.5])


# -- random faults on both instruments: every run ends with the output off, or says it may not --

FAULT_RATES = {"timeout": 0.01, "garbled": 0.01, "short_block": 0.02, "scpi_error": 0.01}
DISCONNECT_RATE = 0.004


@pytest.fixture(scope="module")
def outcomes(request):
    """How the random-fault runs ended, printed after them."""
    counts = {"completed": 0, "failed": 0, "warned": 0}
    yield counts
    plugins = request.config.pluginmanager
    reporter, capture = plugins.get_plugin("terminalreporter"), plugins.get_plugin("capturemanager")
    if reporter is not None and capture is not None and any(counts.values()):
        with capture.global_and_fixture_disabled():
            reporter.write_line(
                f"\nrandom faults: {counts['completed'] + counts['failed']} runs ended with the"
                f" output off ({counts['completed']} completed, {counts['failed']} stopped by a"
                f" fault), {counts['warned']} said it may still be on"
            )


def faulty_bench(seed: int) -> Bench:
    """The built-in mock station, with seeded random faults on both cables.

    Timeouts of 5 ms keep an injected timeout cheap.
    """
    bench = mock_bench(seed, FAST, points=4000)
    rm = bench.readout.resource.visalib
    for instrument in (bench.source, bench.readout):
        instrument.resource.timeout = 5
    for resource in (KEITHLEY_RESOURCE, SCOPE_RESOURCE):
        faults = rm.faults(resource)
        for fault, rate in FAULT_RATES.items():
            faults.set_rate(fault, rate)
        faults.set_rate("disconnect", DISCONNECT_RATE)
    return bench


def calibrate_briefly(bench: Bench, path) -> None:
    bench.calibrate([0.5], sweep_points=5, sweep_bits=400, verify_bits=400, tolerance=0.1)


def record_briefly(bench: Bench, path) -> None:
    record(bench.source, bench.readout, path, [0.25, 0.3], 0.004, record_points=1000)


@pytest.mark.parametrize("seed", range(50))
@pytest.mark.parametrize("run", [calibrate_briefly, record_briefly])
def test_random_faults_end_with_the_output_off_or_say_it_may_be_on(
    tmp_path, monkeypatch, outcomes, run, seed
):
    # A scope with 100 kpts of memory (a DSO-X 2000's) keeps each record cheap to simulate.
    monkeypatch.setattr(mock_infiniivision, "MEMORY_POINTS", 100_000)
    bench = faulty_bench(seed)
    simulated = world(bench)
    ended = "completed"
    try:
        with bench:
            run(bench, tmp_path / "faulty.h5")
    except OutputMayBeOnError as warning:
        assert "the output may still be ON at" in str(warning)
        assert isinstance(warning.__cause__, InstrumentError)
        outcomes["warned"] += 1
        return
    except SmtjlabError:
        ended = "failed"  # a fault the run could not survive: fine, if the device is safe
    assert not simulated.output_on and simulated.bias_v == 0.0
    outcomes[ended] += 1


def test_the_bench_takes_its_bits_at_the_spacing_it_is_opened_with():
    from smtjlab.acquisition.bitstream import BitstreamError, autocorrelation

    lag1 = {}
    for spacing in (2.0, 0.5):
        with mock_bench(limits=FAST, points=200_000, spacing=spacing) as bench:
            bench.set_bias(0.30)
            bits = bench.measure_bits(0.30, 30_000)
            lag1[spacing] = autocorrelation(bits, 1)
    # exp(-Δt/τc), Δt rounded up to whole samples of the measured τc (about 10 samples)
    assert lag1[2.0] == pytest.approx(np.exp(-2.0), abs=0.04)  # the usual Δt = 2τc
    assert np.exp(-0.7) < lag1[0.5] < np.exp(-0.45)  # correlated on purpose
    with pytest.raises(BitstreamError, match="spacing"):
        mock_bench(spacing=0.0)
