"""Device arrays: one s-MTJ per level, each calibrated on its own, all filling pools at once."""

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from smtjlab.acquisition.calibration import WATCH_BITS, DriftError, assign_levels, drift_of

from smtjlab.bench import Bench
from smtjlab.cli import main
from smtjlab.station import Station, StationError

ARRAY = Path(__file__).resolve().parents[2] / "docs" / "stations" / "array.toml"


def test_levels_go_to_devices_in_order_and_multiplex_when_there_are_too_few():
    assert assign_levels([0.75, 0.25, 0.5], ["a", "b", "c", "d"]) == {
        "a": [0.25],
        "b": [0.5],
        "c": [0.75],
    }
    levels = [k / 10 for k in range(1, 10)]
    served = assign_levels(levels, ["a", "b", "c", "d"])
    assert served["a"] == [0.1, 0.5, 0.9] and served["d"] == [0.4, 0.8]
    assert sorted(p for ps in served.values() for p in ps) == levels


def test_a_four_device_array_calibrates_every_device_in_one_command(capsys):
    assert main(["calibrate", "--station", str(ARRAY), "--levels", "5", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    devices = {device["name"]: device for device in result["devices"]}
    assert sorted(devices) == ["mtj-1", "mtj-2", "mtj-3", "mtj-4"]
    # Each device is its own: the wafer spreads V50 (docs/device-model.md: σ = 10 mV).
    v50s = [device["fit"]["v50"] for device in devices.values()]
    assert np.ptp(v50s) > 0.002
    assert [(lv["device"], lv["p_target"]) for lv in result["levels"]] == [
        ("mtj-1", 0.25),
        ("mtj-2", 0.5),
        ("mtj-3", 0.75),
    ]
    for level in result["levels"]:
        assert abs(level["p_measured"] - level["p_target"]) <= 0.01
        own = devices[level["device"]]["levels"]
        assert own == [{key: level[key] for key in ("p_target", "bias_v", "p_measured")}]
    assert devices["mtj-4"]["levels"] == []  # a spare: fitted, serving nothing
    assert result["warnings"] == [] and all(device["warnings"] == [] for device in devices.values())
    assert all(device["fit_rms"] < 0.01 for device in devices.values())
    for line in ("smu-a ch1", "smu-a ch2", "smu-b ch1", "smu-b ch2"):
        assert f"{line}: 0.000 V, output off" in captured.err


def test_the_pools_fill_from_all_devices_at_once():
    with Bench.open(Station.load(ARRAY), points=200_000) as bench:
        calibration = bench.calibrate_array([0.25, 0.5, 0.75])
        world = bench.readout.resource.visalib.bench
        digitized_before = len(
            bench.readout.resource.visalib.written(bench.readout.resource.resource_name)
        )
        bank = bench.fill_array(calibration, bits_per_level=40_000)
        sent = bench.readout.resource.visalib.written(bench.readout.resource.resource_name)
        # One acquisition records the three serving channels together.
        acquisitions = [msg for msg in sent[digitized_before:] if msg.startswith(":DIGitize")]
        assert acquisitions and all(
            msg.strip() == ":DIGitize CHANnel1,CHANnel2,CHANnel3" for msg in acquisitions
        )
        assert [round(world.bias_on(k), 6) for k in range(3)] == [
            lv.bias_v for lv in calibration.levels
        ]
    for pool in bank.pools:
        assert pool.n_bits >= 40_000
        assert pool.p_measured == pytest.approx(pool.p_target, abs=0.015)


def test_the_mock_array_is_an_option_of_the_mock_station(capsys):
    assert main(["calibrate", "--devices", "4"]) == 1
    assert "--devices are options of the mock station" in capsys.readouterr().err
    with pytest.raises(StationError, match="1 to 4"):
        Station.mock(devices=5)


def test_a_device_that_drifts_while_serving_is_reported_not_used():
    with Bench.open(Station.load(ARRAY), points=200_000) as bench:
        calibration = bench.calibrate_array([0.25, 0.5, 0.75])
        world = bench.readout.resource.visalib.bench
        records = bench.records
        taken = []

        def drifting(devices):
            taken.append(len(devices))
            if len(taken) == 3:  # mid-run, junction 1 (mtj-2) shifts its V50 by 20 mV
                device = world.devices[1]
                device.params = replace(device.params, v50=device.params.v50 + 0.02)
            return records(devices)

        bench.records = drifting
        with pytest.raises(DriftError, match=r"mtj-2 drifted while serving p = 0.5") as raised:
            bench.fill_array(calibration, bits_per_level=400_000)
    # Detected within the documented window: WATCH_BITS of drifted bits, ~2 records here.
    assert len(taken) <= 3 + 1 + WATCH_BITS // 10_000
    assert "its pool is not used" in str(raised.value)


def test_drift_of_ignores_noise_and_sees_a_shift():
    rng = np.random.default_rng(0)
    assert drift_of((rng.random(WATCH_BITS) < 0.5).astype(np.uint8), 0.5) is None
    assert drift_of((rng.random(WATCH_BITS) < 0.53).astype(np.uint8), 0.5) == pytest.approx(
        0.53, abs=0.01
    )
    assert drift_of(np.ones(100, np.uint8), 0.5) is None  # too few bits to judge
