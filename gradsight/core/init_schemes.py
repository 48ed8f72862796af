"""Which initialization a layer should get, by the activation after it. Framework-free, so the
PyTorch and Keras sides (adapters, probe, fix) agree on one answer."""

from __future__ import annotations

# What each scheme is, in the words a practitioner searches for.
SCHEMES = {
    "he": "He (Kaiming) normal, fan-in, for ReLU",
    "xavier": "Xavier/Glorot uniform, gain for the activation that follows",
    "lecun": "LeCun normal (std 1/sqrt(fan_in))",
    "orthogonal": "orthogonal",
    "auto": "per layer: He before ReLU, LeCun before SELU, Xavier otherwise",
}
RELU_LIKE = ("relu", "leaky_relu", "gelu", "elu", "silu", "mish")


def scheme_for(activation: str | None, recurrent: bool = False) -> str:
    """The init a layer should get for the activation that follows it."""
    if recurrent:
        return "orthogonal"
    if activation in RELU_LIKE:
        return "he"
    if activation == "selu":
        return "lecun"
    return "xavier"  # tanh/sigmoid (with their gain), or no activation: keeps variance both ways


# Gain of the activation after a layer, as He/Glorot/LeCun pick std = gain / sqrt(fan_in): a
# layer initialized that way keeps the signal's scale through it and its activation.
ACTIVATION_GAINS = {"relu": 2.0 ** 0.5, "leaky_relu": 2.0 ** 0.5, "gelu": 2.0 ** 0.5,
                    "tanh": 5.0 / 3.0}
