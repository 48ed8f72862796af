"""Keras Dense(1) linear regression on x = 0..199, SGD at 1e-3 with batch 1: the weights go NaN.

keras-team/keras issue 3040 ("Simple Linear Regression Nan's after a few iterations"): y = 2x,
one Dense unit, mean squared error, SGD(lr=0.001, decay=1e-6), one epoch of batch size 1. A
sample with x ~ 100 has curvature 2x^2 ~ 20,000, so a rate of 1e-3 overshoots ~20x per step;
the error and the weight grow geometrically until they overflow. The poster: "realized my
learning rate was too high".
"""
import keras
import numpy as np
from keras.layers import Dense, Input
from keras.models import Sequential
from keras.optimizers import SGD

LABEL = {
    "framework": "keras",
    "source": "https://github.com/keras-team/keras/issues/3040",
    "question": "Why do the weights of my one-unit Keras linear regression become NaN after a few "
                "iterations?",
    "changes": ["Keras 1 API made Keras 3: nb_epoch -> epochs, lr -> learning_rate, an Input "
                "layer instead of input_dim; SGD's removed decay=1e-6 written as the "
                "InverseTimeDecay schedule it was, momentum=0 -> 0.0 (Keras 3 wants a float)",
                "keras.utils.set_random_seed(0); Python 3 prints"],
    "pair": "keras_linreg_sgd_small_lr",
    "category": "positive",
    "architecture": "linear regression",
    "fast": True,
    "expected": [{"kind": "nonfinite", "where": ["sequential/dense/kernel"]}],
    "allowed": ["exploding_gradient", "loss_diverging", "loss_spike"],
    "root_cause": None,
    "why": "rate 1e-3 against a per-sample curvature 2x^2 of up to 80,000: every step overshoots, "
           "the squared error overflows to inf at step 22 and the weights turn NaN at step 34",
    "measured": {"loss_first": 1830.0, "loss_start": 9.08e+19, "loss_end": "nan",
                 "first_nonfinite_loss_step": 22, "best_constant_loss": 13300.0,
                 "loss_end_over_best_constant": "nan",
                 "first_nonfinite_output": "sequential/dense@35",
                 "first_nonfinite_grad": "sequential/dense/kernel@34", "grad_growth": 2.7e+29},
}

keras.utils.set_random_seed(0)

x = 1.0 * np.array(range(200))
y = 2.0 * x

model = Sequential()
model.add(Input(shape=(1,)))
model.add(Dense(1))

lr = keras.optimizers.schedules.InverseTimeDecay(0.001, decay_steps=1, decay_rate=1e-6)
sgd = SGD(learning_rate=lr, momentum=0.0, nesterov=False)
model.compile(loss='mean_squared_error', optimizer=sgd)
model.fit(x, y, epochs=1, batch_size=1, verbose=0)
score = model.predict(x[:10], batch_size=10, verbose=0)
for layer in model.layers:
    weights = layer.get_weights()
    print(layer)
    print(weights)
print(score)
