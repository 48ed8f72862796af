"""Two linear Dense(1) layers, SGD at Keras' default rate, fit to an unscaled quadratic: the
loss overflows to NaN within the first epoch.

Cross Validated question 418955 ("Why is deep neural net with linear activation diverges?"):
x standardized, but y = x^2 + 3 left at 3..9,804 and fitted by mean squared error with
``compile('sgd', loss='mse')`` (rate 0.01). Errors of ~10^4 make gradients of ~10^4-10^5 and
the two stacked layers multiply each other's steps: the loss grows by orders of magnitude every
step and turns NaN at the fourth.
"""
import numpy as np
import keras
from keras.models import Sequential
from keras.layers import Dense, Input

LABEL = {
    "framework": "keras",
    "source": "https://stats.stackexchange.com/questions/418955",
    "question": "Why does my deep network with linear activations diverge on a quadratic?",
    "changes": ["an Input layer instead of input_dim; keras.utils.set_random_seed(0)",
                "30 epochs (the post gives none), verbose=0 and one print"],
    "pair": None,
    "category": "positive",
    "architecture": "linear regression",
    "fast": False,
    "expected": [{"kind": "nonfinite", "where": ["sequential/dense_1"]},
                 {"kind": "loss_diverging", "where": []}],
    "allowed": ["exploding_gradient", "loss_spike"],
    "root_cause": None,
    "why": "targets of 3..9,804 under mse at rate 0.01: every parameter's |g|/|w| is ~100 from "
           "step 0, the gradients grow 1e16x and the forward of the second layer turns NaN at "
           "step 4 (its kernel's gradient the same step), 6e4x the best constant's loss before",
    "measured": {"loss_start": 536000000000.0, "loss_end": "nan",
                 "first_nonfinite_output": "sequential/dense_1@4",
                 "first_nonfinite_grad": "sequential/dense/kernel@4",
                 "best_constant_loss": 8720000.0, "grad_growth": 4.84e+16, "g_over_w_med": 100.0},
}

keras.utils.set_random_seed(0)

x = np.arange(100)[:, np.newaxis]
f = lambda x: x ** 2 + 3
y = f(x)
x_normed = (x - x.mean()) / x.std()
km = Sequential()
km.add(Input(shape=(1,)))
km.add(Dense(1, activation=None))
km.add(Dense(1, activation=None))
km.compile('sgd', loss='mse')
h = km.fit(x_normed, y, epochs=30, verbose=0)
print([round(v, 1) for v in h.history["loss"]])
