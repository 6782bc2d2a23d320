"""`emit`: one strict JSON object (no NaN, no Infinity), whatever the result holds."""

import json
import math

import numpy as np
import pytest

from smtjlab.console import emit, strict_json


def test_non_finite_numbers_become_null_and_numpy_values_python():
    result = {
        "nan": math.nan,
        "inf": -math.inf,
        "numpy": np.float32(0.5),
        "array": np.array([1.0, np.nan]),
        "nested": [{"x": np.inf}, (1, 2)],
    }
    assert strict_json(result) == {
        "nan": None,
        "inf": None,
        "numpy": 0.5,
        "array": [1.0, None],
        "nested": [{"x": None}, [1, 2]],
    }


def test_emit_prints_strict_json(capsys):
    emit({"tau_c": math.nan, "ok": 1}, as_json=True, text="unused")
    printed = capsys.readouterr().out

    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")

    assert json.loads(printed, parse_constant=refuse) == {"tau_c": None, "ok": 1}


def test_emit_refuses_what_json_cannot_hold(capsys):
    with pytest.raises(TypeError):
        emit({"path": object()}, as_json=True, text="unused")
