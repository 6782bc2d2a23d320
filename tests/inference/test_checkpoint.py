import io
import itertools
import zipfile

import numpy as np
import pytest
from smtjlab.inference.checkpoint import (
    Checkpoint,
    CheckpointError,
    Layer,
    checkpoint_from_bytes,
    load_checkpoint,
    resolve_model,
    save_checkpoint,
)
from smtjlab.inference.cnn_checkpoint import load_cnn_checkpoint
from smtjlab.inference.encoding import Encoding

from smtjlab.cli import main


def small_checkpoint(hidden=(3,), states=5, encoding="sign-magnitude"):
    rng = np.random.default_rng(0)
    h = (states - 1) // 2
    widths = [784, *hidden, 10]
    layers = tuple(
        Layer(
            rng.integers(-h, h + 1, size=(n_out, n_in)).astype(np.int8),
            rng.uniform(0.01, 1, n_out),
            rng.normal(0, 1, n_out),
        )
        for n_in, n_out in itertools.pairwise(widths)
    )
    return Checkpoint(
        states, encoding, layers, train_mode="sc", train_sc_length=100, test_accuracy=0.9
    )


def arrays_of(path):
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def test_round_trip_keeps_every_field(tmp_path):
    original = small_checkpoint(hidden=(4, 3), states=11, encoding="bipolar")
    path = save_checkpoint(original, tmp_path / "model")
    assert path.name == "model.npz"
    loaded = load_checkpoint(path)
    assert loaded.hidden == (4, 3) and loaded.states == 11 and loaded.encoding is Encoding.BIPOLAR
    with np.load(path) as archive:  # the file keeps the name, as before the Encoding object
        assert archive["encoding"].dtype.kind == "U" and archive["encoding"].item() == "bipolar"
    assert loaded.train_mode == "sc" and loaded.train_sc_length == 100
    assert loaded.test_accuracy == 0.9
    for a, b in zip(original.layers, loaded.layers, strict=True):
        assert np.array_equal(a.weights, b.weights) and a.weights.dtype == b.weights.dtype
        assert np.array_equal(a.scale, b.scale) and np.array_equal(a.bias, b.bias)


def test_a_device_aware_checkpoint_keeps_its_profile_and_others_do_not_store_one(tmp_path):
    from dataclasses import replace

    from smtjlab.acquisition.profile import DeviceProfile

    profile = DeviceProfile.ideal([0.25, 0.5, 0.75])
    tuned = replace(small_checkpoint(), train_mode="device-aware", device_profile=profile.to_json())
    loaded = load_checkpoint(save_checkpoint(tuned, tmp_path / "tuned.npz"))
    assert loaded.train_mode == "device-aware"
    assert DeviceProfile.from_json(loaded.device_profile) == profile
    plain = save_checkpoint(small_checkpoint(), tmp_path / "plain.npz")
    assert "device_profile" not in arrays_of(plain)  # the file is as it always was
    assert load_checkpoint(plain).device_profile == ""
    assert load_checkpoint("mlp1-s5-sc-bipolar").device_profile == ""  # shipped, older files


def test_bytes_of_a_file_load_like_the_file(tmp_path):
    path = save_checkpoint(small_checkpoint(hidden=(4,), states=5), tmp_path / "m.npz")
    from_bytes = checkpoint_from_bytes(path.read_bytes(), "sent.npz")
    assert from_bytes.hidden == load_checkpoint(path).hidden == (4,)
    with pytest.raises(CheckpointError, match=r"sent\.npz: not a readable \.npz checkpoint"):
        checkpoint_from_bytes(b"garbage", "sent.npz")


def test_names_resolve_to_shipped_files_and_unknown_names_fail():
    with pytest.raises(CheckpointError, match="not a shipped model name"):
        resolve_model("mlp9-s5-sc")


def rewrite(path, **changes):
    arrays = arrays_of(path)
    arrays.update(changes)
    for key in [key for key, value in changes.items() if value is None]:
        del arrays[key]
    np.savez(path, **arrays)


BAD = {
    "wrong shape": (lambda p: rewrite(p, weight_0=np.zeros((3, 783), np.int8)), "shape"),
    "wrong output width": (lambda p: rewrite(p, weight_1=np.zeros((9, 3), np.int8)), "shape"),
    "off-grid weight": (lambda p: rewrite(p, weight_1=np.full((10, 3), 7, np.int8)), "grid"),
    "negative scale": (lambda p: rewrite(p, scale_0=-np.ones(3)), "scale"),
    "nan bias": (lambda p: rewrite(p, bias_1=np.full(10, np.nan)), "bias"),
    "missing layer": (lambda p: rewrite(p, bias_1=None), "missing key 'bias_1'"),
    "wrong format": (lambda p: rewrite(p, format=np.array("other")), "format"),
    "even states": (lambda p: rewrite(p, states=np.array(4)), "states"),
    "hidden mismatch": (lambda p: rewrite(p, hidden=np.array([5])), "hidden"),
    "unknown encoding": (
        lambda p: rewrite(p, encoding=np.array("unipolar")),
        "unknown encoding 'unipolar'; use one of sign-magnitude, bipolar",
    ),
    "extra key": (lambda p: rewrite(p, payload=np.zeros(3)), "unexpected key"),
    "bad device profile": (
        lambda p: rewrite(p, device_profile=np.array("{}")),
        "device_profile: not a device profile",
    ),
    "array device profile": (
        lambda p: rewrite(p, device_profile=np.zeros(2)),
        "'device_profile' must be a scalar str",
    ),
    "pickle": (
        lambda p: rewrite(p, train_command=np.array([{"x": 1}], dtype=object)),
        "pickle",
    ),
    "fractional states": (
        lambda p: rewrite(p, states=np.array(5.5)),
        "'states' must be a scalar int, not float64",
    ),
    "boolean seed": (lambda p: rewrite(p, train_seed=np.array(True)), "'train_seed' must be"),
    "integer flag": (lambda p: rewrite(p, input_8bit=np.array(1)), "'input_8bit' must be"),
    "array states": (lambda p: rewrite(p, states=np.array([5, 5])), "shape \\(2,\\)"),
    "a million states": (
        lambda p: rewrite(p, states=np.array(1_000_001)),
        "1000001 states are more than the 255",
    ),
    "truncated": (lambda p: p.write_bytes(p.read_bytes()[:300]), "not a readable"),
    "not a zip": (lambda p: p.write_bytes(b"garbage" * 100), "not a readable"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_checkpoints_give_one_clear_error(tmp_path, case):
    corrupt, message = BAD[case]
    path = save_checkpoint(small_checkpoint(), tmp_path / "model.npz")
    corrupt(path)
    with pytest.raises(CheckpointError, match=message) as raised:
        load_checkpoint(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)


def test_a_pickle_member_is_refused_not_executed(tmp_path, capsys):
    path = save_checkpoint(small_checkpoint(), tmp_path / "model.npz")
    buffer = io.BytesIO()
    np.save(buffer, np.array([print], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("evil.npy", buffer.getvalue())
    assert main(["evaluate", "--model", str(path), "--length", "10", "--images", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pickle" in err and str(path) in err


def test_the_shipped_gxnor_models_resolve_by_name_and_say_how_they_were_made():
    mlp = load_checkpoint("tnn-mlp-gxnor")
    assert mlp.states == 3 and mlp.train_mode == "gxnor" and mlp.encoding == "sign-magnitude"
    assert "--method gxnor" in mlp.train_command and "--bits mock" in mlp.train_command
    cnn = load_cnn_checkpoint(resolve_model("tnn-cnn-gxnor"))
    assert cnn.train_bits == "mock" and cnn.fair_bits >= cnn.decisions > 0
    assert "--arch cnn" in cnn.train_command
