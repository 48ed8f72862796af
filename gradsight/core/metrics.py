"""Every number gradsight records, by name, with the levels and windows that define them.

Adapters measure these, the store keeps them, detectors and reports read them: a new statistic
is one line here, one in each adapter that measures it, and its reader.

Two tiers:

- **always-on**, every optimizer step, per parameter: ``STEP_METRICS``. The adapters ship them as
  rows (``step_row_width``): ``STEP_ROW_HEAD`` (whether the step had a loss, the loss), then
  for each parameter its ``STEP_METRICS`` in order, NaN where a value does not exist (no
  gradient, no clipping, not optimized).
- **detail**, on the steps the schedule picks (``schedule.py``): per module the activation
  statistics (``ACT_METRICS``, dead units), per parameter the exact weight norm, the non-finite
  counts once non-finite values appeared, and histograms.

Beside them the **stability** numbers, every step, per attention layer (``ATTN_METRICS``) and per
output layer (``LOGIT_LSE``), measured where the attention and the loss are computed.
"""

from __future__ import annotations

# -- always-on: every optimizer step, per parameter -------------------------------------------
HAS_GRAD = "has_grad"  # 1 when backward gave the parameter a gradient, else 0
GRAD_NORM = "grad_norm"  # |g| as the optimizer received it (after any clipping)
GRAD_NORM_PRECLIP = "grad_norm_preclip"  # |g| as backward computed it, where clipping ran
WEIGHT_NORM = "weight_norm"  # |w| after the step (exact on detail steps, see UPDATE_SAMPLE)
UPDATE_NORM = "update_norm"  # |w_after - w_before| of the step (see UPDATE_SAMPLE)
LR = "lr"  # the learning rate the parameter's group had at the step
OPTIMIZED = "optimized"  # 1 when an optimizer updated it at the step (else weight/update: NaN)
# 1: its gradient was reset since the previous step (zero_grad, or a new .grad tensor); 0: the
# step's backward added to the gradient the previous step used; NaN: unknown (the first step,
# or a framework whose gradients are fresh values, not accumulators)
GRAD_RESET = "grad_reset"
STEP_METRICS = (HAS_GRAD, GRAD_NORM, GRAD_NORM_PRECLIP, WEIGHT_NORM, UPDATE_NORM, LR, OPTIMIZED,
                GRAD_RESET)
EXACT_METRICS = (HAS_GRAD, LR, OPTIMIZED, GRAD_RESET)  # set by the script, not measured: stored to the last digit
LOSS = "loss"  # the step's training loss (the tensor backward() was called on)
LOSS_SEEN = "loss_seen"  # 1 when the step had a loss (a NaN loss is a value, not a gap)
STEP_ROW_HEAD = (LOSS_SEEN, LOSS)


def step_row_width(params: int) -> int:
    """Numbers in one always-on row: ``STEP_ROW_HEAD``, then each parameter's metrics."""
    return len(STEP_ROW_HEAD) + params * len(STEP_METRICS)


# The update and the weight norm of a large tensor are estimated every step from a fixed sample
# of its elements (an exact update norm needs a copy of every weight, which would double the
# memory read per step): UPDATE_SAMPLE elements taken at a stride coprime with the tensor's last
# dimension, so the sample covers every row and column. ``sum of squares x numel / UPDATE_SAMPLE``
# estimates the squared norm; the relative error of such an estimate is about
# sqrt(kurtosis / UPDATE_SAMPLE), a few percent for dense updates (the adapters' tests measure
# it against the exact value). Tensors of at most UPDATE_SAMPLE elements are measured exactly,
# and the weight-norm estimate is recalibrated to the exact norm on every detail step.
UPDATE_SAMPLE = 4096

# -- detail: per parameter --------------------------------------------------------------------
WEIGHT_NORM_INIT = "weight_norm_init"  # |w| before the first update (the init, exactly)
GRAD_NONFINITE = "grad_nonfinite"  # NaN/Inf elements of the gradient (once any appeared)
WEIGHT_NONFINITE = "weight_nonfinite"
CLIP_NORM_LIMIT = "clip_norm_limit"  # the max_norm of clip_grad_norm_ at that step
CLIP_VALUE_LIMIT = "clip_value_limit"
# Numbers the script set rather than gradsight measured, wherever they are stored: kept as
# float64, to the last digit, so that a reader compares them with what the script said.
SETTINGS = EXACT_METRICS + (CLIP_NORM_LIMIT, CLIP_VALUE_LIMIT)


def exact_columns(metrics: "tuple[str, ...] | list[str]") -> list[int]:
    """The columns of a record with these metrics that are ``SETTINGS``."""
    return [i for i, k in enumerate(metrics) if k in SETTINGS]
# In a job of several ranks, per replicated parameter after the step: the float64 sum of a fixed
# sample of its elements. Replicas that are alike have bit-identical fingerprints.
FINGERPRINT = "fingerprint"

# -- detail: per module (layer outputs) ---------------------------------------------------------
ACT_MEAN = "act_mean"
ACT_STD = "act_std"
ACT_ZERO_FRAC = "act_zero_frac"  # fraction of output values exactly 0
ACT_NONFINITE = "act_nonfinite"  # 1 when any output value of the step was NaN/Inf, else 0
ACT_SATURATED_FRAC = "act_saturated_frac"  # tanh/sigmoid family: within 0.01 of an asymptote
ACT_METRICS = (ACT_MEAN, ACT_STD, ACT_ZERO_FRAC, ACT_NONFINITE, ACT_SATURATED_FRAC)
DEAD_FRAC = "dead_frac"  # ReLU family: units positive for no input of the step
DEAD_FRAC_WINDOW = "dead_frac_window"  # ... for no input over DEAD_WINDOW detail steps
DEAD_METRICS = (DEAD_FRAC, DEAD_FRAC_WINDOW)

# |tanh| above this, or sigmoid outside (1 - this, this): the usual 0.99/0.01; the local
# gradient there is below ~0.02 (tanh) or ~0.01 (sigmoid).
SATURATION_LEVEL = 0.99
DEAD_WINDOW = 5  # detail steps over which a unit must never fire to count as dead
# A detail step where at least this fraction of a ReLU layer's units fired for no input is a
# suspicion: the recorder forces the next DEAD_WINDOW steps into detail so that a window
# confirms it (or not) right there, whatever the schedule's spacing. dead_units warns at it.
DEAD_SUSPECT = 0.5
DEAD_CONFIRMATIONS = 2  # windows in a row that held: confirmed, no more forcing for that layer
RELU_FAMILY = ("relu",)  # exactly-zero outputs with a zero gradient: units that can die
SATURATING = ("tanh", "sigmoid")

# -- stability: every step, per attention layer and per output (``adapters/torch/attention.py``) --
ATTN_LOGIT_MAX = "attn_logit_max"  # largest q.k*scale (+ mask) over the sampled query rows
ATTN_ENTROPY = "attn_entropy"  # their softmax entropy / log(keys seen): 1 uniform, 0 one-hot
ATTN_METRICS = (ATTN_LOGIT_MAX, ATTN_ENTROPY)
LOGIT_LSE = "logit_lse"  # mean log-sum-exp (log Z) of the logits given to cross_entropy
# LayerNorm/RMSNorm gain growth needs no measurement of its own: it is the norm weights'
# WEIGHT_NORM (always-on) against their WEIGHT_NORM_INIT.
ATTN_BATCH = 4  # sequences of a batch whose attention rows are sampled ...
ATTN_ROWS = 32  # ... and query positions per sequence (every head): see attention.py
LOGIT_ROWS = 1024  # rows of the logits whose log-sum-exp is averaged

# -- detail: the training loss against its reference (role LOSS_ROLE, named by the family) ------
# The loss of the best constant prediction (what a model that learned nothing from its inputs
# can reach) follows from the targets alone; the adapters measure it at the loss call, over every
# target seen so far, and ship it on detail steps (and when watching stops) beside the mean of
# the same loss function's values since the previous row.
LOSS_ROLE = "loss"
# An event, once per layer: a layer with trainable weights whose output, in a training forward
# pass, did not require grad (it ran under no_grad, or on detached weights and inputs).
EVENT_OUTPUT_WITHOUT_GRAD = "output_without_grad"
# A ReLU-family activation applied to what the training loss takes (the class scores): its units
# are the model's outputs, and any one dead for every input is a class never predicted.
EVENT_ACTIVATION_AT_LOSS = "activation_at_loss"
# An event, once per model: a Lightning module that optimizes by hand (automatic_optimization
# off), whose backward must go through ``self.manual_backward`` for DDP to average gradients.
EVENT_MANUAL_OPTIMIZATION = "manual_optimization"
CRITERION_LOSS = "criterion_loss"  # the loss function's mean value over the window
REFERENCE_LOSS = "reference_loss"  # the best constant prediction's loss, all targets so far
CRITERION_STEPS = "criterion_steps"  # optimizer steps the window covers
CRITERION_METRICS = (CRITERION_LOSS, REFERENCE_LOSS, CRITERION_STEPS)
# The fraction of the window's calls of a class loss that takes logits (cross_entropy) or
# log-probabilities (nll_loss) whose input rows were probabilities instead: every entry in
# [0, 1], every row summing to 1 (a softmax applied before a loss that applies it again).
PROBABILITY_INPUTS = "probability_inputs"
FAMILY_CLASSES = "cross_entropy"  # (and NLL): the entropy of the class frequencies
FAMILY_BINARY = "binary_cross_entropy"  # each output's binary entropy of its positive rate
FAMILY_SQUARED = "mse"  # the targets' variance (predict their mean)
FAMILY_ABSOLUTE = "l1"  # the targets' mean absolute deviation about their median
LOSS_FAMILIES = (FAMILY_CLASSES, FAMILY_BINARY, FAMILY_SQUARED, FAMILY_ABSOLUTE)

# -- histograms -------------------------------------------------------------------------------
# A histogram travels as HIST_BINS + 2 numbers: [lo, hi, counts...] with equal-width bins over
# the finite range [lo, hi] of the values (non-finite values are not counted).
HIST_BINS = 30
HIST_WIDTH = HIST_BINS + 2
HIST_SAMPLE = 1 << 14  # larger tensors are histogrammed on a uniform strided sample
HIST_WEIGHT = "weight"
HIST_GRAD = "grad"
HIST_ACT = "act"

