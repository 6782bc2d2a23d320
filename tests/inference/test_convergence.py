"""Done-when 3: with ideal streams the engine converges to the deterministic quantized network."""

import pytest
from smtjlab.inference.checkpoint import load_checkpoint
from smtjlab.inference.engine import ScEngine, deterministic_scores
from smtjlab.inference.mnist import load_mnist


@pytest.mark.parametrize("name", ["mlp1-s5-sc", "mlp3-s11-plain"])
def test_long_streams_reach_the_deterministic_accuracy(name):
    images, labels = load_mnist("test")
    images, labels = images[:1000], labels[:1000]
    checkpoint = load_checkpoint(name)
    exact = deterministic_scores(checkpoint, images).argmax(1)
    predicted = ScEngine(checkpoint, 4096, seed=1).predict(images, batch_size=250)
    assert abs((predicted == labels).mean() - (exact == labels).mean()) <= 0.003
    # and not just on average: nearly every image gets the deterministic answer
    assert (predicted == exact).mean() >= 0.99
