"""Example arguments for every advice action, built from a real run's layer (``layer_ref``).

Shared by the phrasebook tests of every framework: each phrase's code is executed against a
real model of that framework. A new action without an example here fails the tests."""

from __future__ import annotations

from typing import Any

from gradsight.core import advice as a


def examples(ref: dict[str, Any], owner: str | None = "model") -> dict[str, list[dict[str, Any]]]:
    lr = {"factor": 10, "current": 0.1, "new": 0.01}
    return {
        a.INIT_LAYER: [{"layer": ref, "scheme": s, "activation": act}
                       for s, act in (("he", "relu"), ("xavier", "tanh"), ("xavier", None),
                                      ("lecun", "selu"))],
        a.INIT_ALL: [{"layer": ref, "activation": "relu"}, {"layer": {"owner": owner}}],
        a.POSITIVE_BIAS: [{"layer": ref, "value": 0.1}],
        a.KEEP_DEFAULT_INIT: [{}],
        a.ADD_NORMALIZATION: [{"layer": ref}, {"layer": None}],
        a.USE_OPTIMIZER: [{"name": "adam", "lr": 1e-3, "owner": owner}],
        a.LOWER_LR: [lr, {"factor": 10}, {"factor": 10, "why": "a reason"}],
        a.RAISE_LR: [{**lr, "current": 0.01, "new": 0.1, "layer": ref, "optimizer": "SGD"},
                     {"factor": "3-10", "why": "check the loss moves"}],
        a.CLIP_GRAD_NORM: [{"max_norm": 1.0, "owner": owner},
                           {"max_norm": 0.5, "recurrent": True, "owner": owner}],
        a.USE_OUTPUT: [{"layer": ref}],
        a.FIND_DETACH: [{}],
        a.FREEZE_EXPLICITLY: [{"layer": ref}],
        a.OPTIMIZE_ALL: [{"layer": ref}],
        a.ADD_PARAM_GROUP: [{"layer": ref}],
        a.POSITIVE_LR: [{}],
        a.CHECK_INPUTS_FINITE: [{}],
        a.GUARD_NUMERICS: [{}],
        a.CHECK_LR_SCHEDULE: [{"step": 12}],
        a.CHECK_DATA: [{"step": 12}],
        a.CHECK_OUTPUT_LAYER: [{"loss": "cross_entropy"}],
        a.NORMALIZE_INPUTS: [{}],
        a.CHANGE_ACTIVATION: [{"current": "sigmoid", "to": "relu", "why": "a reason"},
                              {"current": "tanh", "to": "gelu"}],
        a.LEAKY_ACTIVATION: [{}],
        a.CHECK_NEGATIVE_BIAS: [{"layer": ref}],
        a.DROP_BIAS: [{"layer": ref}],
        a.CHECK_OTHER_FINDINGS: [{}, {"why": "a reason"}],
        a.CHECK_LABELS: [{}],
        a.SATURATION_NORM: [{"layer": ref}],
        a.RESET_GRADIENTS: [{}],
        a.DDP_FORWARD: [{"owner": owner}],
        a.ALL_REDUCE_GRADS: [{}],
        a.SAME_INIT: [{}],
        a.SYNC_BUFFERS: [{"batch_norm": True}, {"batch_norm": False}],
        a.DDP_UNUSED: [{"stopped": True}, {"stopped": True, "lightning": True}, {}],
        a.QK_NORM: [{"layers": ["blocks.0.attn", "blocks.1.attn"]}, {}],
        a.Z_LOSS: [{"coef": 1e-4}],
        a.WARMUP_LR: [{"steps": 500, "lr": 1e-3}],
        a.SEQUENCE_STEPS: [{}],
        a.FLOAT32_WEIGHTS: [{"dtype": "bfloat16", "owner": owner}, {"dtype": "float16"}],
        a.NORM_WEIGHT_DECAY: [{"layers": ["ln_1", "ln_2"], "value": 0.1, "owner": owner}],
    }


def actions() -> list[str]:
    return sorted(a.GENERIC)
