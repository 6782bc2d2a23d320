"""The quantized stochastic-computing MLP: MNIST, quantizers, training, the packed-bit engine."""
