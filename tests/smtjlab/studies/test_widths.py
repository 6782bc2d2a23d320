import math

import pytest

from smtjlab.studies.widths import PAPER, nearest_to_paper, summarize


def result(depth, width, states, by_length, deterministic=0.97):
    config = {
        "encoding": "bipolar",
        "hidden": [width] * depth,
        "states": states,
        "lengths": sorted(by_length),
    }
    rows = [
        {"length": length, "stream_seed": seed, "accuracy": accuracy}
        for length, accuracies in by_length.items()
        for seed, accuracy in enumerate(accuracies)
    ]
    return {"config": config, "deterministic_accuracy": deterministic, "rows": rows}


def test_each_length_is_summarized_over_its_own_stream_seeds():
    rows = summarize([result(1, 64, 5, {100: [0.90, 0.92], 400: [0.95, 0.95]})], ["trained"])
    assert [(r["length"], r["stream_seeds"]) for r in rows] == [(100, 2), (400, 2)]
    assert rows[0]["accuracy"] == pytest.approx(91.0)
    assert rows[0]["accuracy_sd"] == pytest.approx(math.sqrt(2) * 1.0)
    assert rows[1]["accuracy"] == pytest.approx(95.0) and rows[1]["model_source"] == "trained"
    (single,) = summarize([result(1, 64, 5, {100: [0.9]})], ["shipped"])
    assert math.isnan(single["accuracy_sd"])


def test_the_nearest_setting_is_found_for_each_paper_figure_of_its_depth_and_length():
    results = [
        result(1, 32, 5, {100: [0.915]}),  # 0.5 below 92: the nearest at 1 hidden layer
        result(1, 256, 5, {100: [0.972]}),
        result(3, 32, 11, {100: [0.950], 400: [0.960]}),
        result(3, 256, 5, {100: [0.975], 400: [0.9690]}),  # 0.08 above 96.82
    ]
    found = {
        (f["hidden_layers"], f["length"]): f
        for f in nearest_to_paper(summarize(results, ["trained"] * 4))
    }
    assert set(found) == set(PAPER)
    assert found[1, 100]["width"] == 32 and found[1, 100]["difference"] == pytest.approx(-0.5)
    assert found[3, 100]["width"] == 32 and found[3, 100]["states"] == 11
    assert found[3, 400]["width"] == 256 and found[3, 400]["difference"] == pytest.approx(0.08)


def test_a_paper_figure_with_no_setting_of_its_depth_is_left_out():
    found = nearest_to_paper(summarize([result(1, 32, 5, {100: [0.9]})], ["trained"]))
    assert [(f["hidden_layers"], f["length"]) for f in found] == [(1, 100)]
