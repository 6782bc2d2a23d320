import numpy as np
import pytest
import torch
from smtjlab.inference.cnn_checkpoint import load_cnn_checkpoint, save_cnn_checkpoint
from smtjlab.inference.decisions import DecisionCounter, PrngFairBits
from smtjlab.inference.engine import deterministic_scores
from smtjlab.inference.gxnor import (
    DstStats,
    GxnorCnn,
    GxnorConfig,
    cnn_from_checkpoint,
    cnn_inputs,
    dst_update,
    mlp_inputs,
    predict,
    snap,
    ternary,
    to_cnn_checkpoint,
    to_sc_checkpoint,
    train_gxnor,
)
from smtjlab.inference.mnist import load_mnist
from smtjlab.inference.switching import switching_law

TANH = switching_law("tanh")


@pytest.fixture(autouse=True)
def one_thread():
    # tiny models: a second thread only waits for its share of a busy machine
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits():
    images, labels = load_mnist("test")
    return (images[:400], labels[:400]), (images[400:600], labels[400:600])


def test_ternary_activation_and_its_window_gradient():
    x = torch.tensor([-2.0, -1.2, -0.6, 0.0, 0.4, 0.9, 1.6, 1.51], requires_grad=True)
    y = ternary(x)
    assert y.tolist() == [-1, -1, 0, 0, 0, 0, 1, 1]
    y.sum().backward()
    # 1 for r − a <= |x| <= r + a (0.5 .. 1.5), 0 elsewhere
    assert x.grad.tolist() == [0, 1, 1, 0, 0, 1, 0, 0]


def test_snap_puts_values_on_the_grid():
    assert snap(torch.tensor([-3.0, -0.4, 0.26, 0.6, 2.0]), 5).tolist() == [-1, -0.5, 0.5, 0.5, 1]


def dst(weights, delta, decide, states=3):
    w = torch.tensor(weights, dtype=torch.float32)
    stats = DstStats()
    dst_update(w, torch.tensor(delta), states, TANH, decide, stats)
    return w.tolist(), stats


def test_dst_takes_whole_jumps_then_one_decided_extra_jump():
    asked = []

    def always(p):
        asked.append(p.copy())
        return np.ones(p.shape, dtype=bool)

    # 5 states, Δz = 0.5: ΔW = 0.7 is one whole jump and a remainder 0.2 (x = 0.4)
    w, stats = dst([-1.0, 0.0, 0.5], [0.7, -0.2, 0.0], always, states=5)
    assert w == [0.0, -0.5, 0.5]
    assert np.allclose(asked[0], np.tanh(3 * np.array([0.4, 0.4])))
    assert stats.jumps == 1 and stats.extra_jumps == 2


def test_dst_skips_decisions_that_cannot_move_a_clipped_weight():
    asked = []

    def never(p):
        asked.append(len(p))
        return np.zeros(p.shape, dtype=bool)

    w, stats = dst([1.0, -1.0, 0.0, 1.0], [0.3, -0.3, 0.3, -0.3], never)
    assert w == [1.0, -1.0, 0.0, 1.0]
    assert asked == [2] and stats.skipped == 2


def test_dst_decisions_follow_f_in_the_mean():
    counter = DecisionCounter(PrngFairBits(0))
    w = torch.zeros(20_000)
    dst_update(w, torch.full((20_000,), 0.1), 3, TANH, counter.bernoulli, DstStats())
    expected = np.tanh(0.3)
    assert abs(w.mean().item() - expected) < 5 * np.sqrt(expected * (1 - expected) / 20_000)
    assert counter.decisions == 20_000


def run_mlp(digits, seed=0, **changes):
    config = GxnorConfig(
        hidden=(32,), epochs=3, batch_size=50, lr=0.05, lr_final=0.005, seed=seed, **changes
    )
    counter = DecisionCounter(PrngFairBits(seed))
    return config, counter, train_gxnor(config, TANH, counter, *digits)


def test_a_tiny_mlp_learns_deterministically_and_exports_exactly_to_the_sc_engine(digits):
    config, counter, result = run_mlp(digits)
    _, _, again = run_mlp(digits)
    for mine, theirs in zip(result.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert result.history[-1]["test_accuracy"] > 0.5
    assert counter.decisions == result.history[-1]["decisions"] > 0
    checkpoint = to_sc_checkpoint(result.model, config, 0.0, "test")
    assert checkpoint.states == 3 and checkpoint.train_mode == "gxnor"
    test_images = digits[1][0]
    sc = deterministic_scores(checkpoint, test_images).argmax(1)
    torch_predictions = predict(result.model, mlp_inputs(test_images))
    assert np.mean(sc == torch_predictions) >= 0.99  # ties at the thresholds may differ


def test_the_cnn_round_trips_through_its_checkpoint(tmp_path, digits):
    torch.manual_seed(0)
    model = GxnorCnn()
    images = cnn_inputs(digits[0][0][:50])
    model.train()
    model(images)  # give the batch norms running statistics
    checkpoint = to_cnn_checkpoint(model, train_bits="ideal", test_accuracy=0.5)
    path = save_cnn_checkpoint(checkpoint, tmp_path / "cnn.npz")
    np.load(path, allow_pickle=False).close()
    loaded = load_cnn_checkpoint(path)
    assert loaded.train_bits == "ideal" and set(np.unique(loaded.weights[2])) <= {-1, 0, 1}
    assert np.array_equal(predict(cnn_from_checkpoint(loaded), images), predict(model, images))
