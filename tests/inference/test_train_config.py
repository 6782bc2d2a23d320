import pytest
from smtjlab.inference.encoding import Encoding, EncodingError
from smtjlab.inference.train_config import TrainConfig

from smtjlab.cli import main


def test_the_encoding_is_parsed_once_into_the_enum():
    assert TrainConfig(hidden=(8,), states=5).encoding is Encoding.SIGN_MAGNITUDE
    assert TrainConfig(hidden=(8,), states=5, encoding="bipolar").encoding is Encoding.BIPOLAR
    with pytest.raises(EncodingError, match="use one of sign-magnitude, bipolar"):
        TrainConfig(hidden=(8,), states=5, encoding="unipolar")


def test_the_train_command_offers_exactly_the_known_encodings(capsys, tmp_path):
    argv = ["train", "--hidden", "8", "--states", "5", "-o", str(tmp_path / "m.npz")]
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--encoding", "unipolar"])
    assert exit_.value.code == 2
    assert "(choose from 'sign-magnitude', 'bipolar')" in capsys.readouterr().err
