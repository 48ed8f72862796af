"""The fix of keras-team/keras issue 3040: the same one-unit regression at a rate of 1e-5.

The poster's fix was a lower learning rate (no value given); below 1/x^2 for the largest x
(~2.5e-5) every per-sample step shrinks the error, and one epoch of batch 1 fits y = 2x.
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
                "iterations? (the poster's fix: a lower rate)",
    "changes": ["Keras 1 API made Keras 3: nb_epoch -> epochs, lr -> learning_rate, an Input "
                "layer instead of input_dim; SGD's removed decay=1e-6 written as the "
                "InverseTimeDecay schedule it was, momentum=0 -> 0.0 (Keras 3 wants a float)",
                "keras.utils.set_random_seed(0); Python 3 prints",
                "learning rate 1e-5 (the poster gave none for the fix)"],
    "pair": "keras_linreg_sgd_nan",
    "category": "healthy",
    "architecture": "linear regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "below 1/x^2 for the largest x every step shrinks the error: y = 2x is fitted within "
           "the epoch",
    "measured": {"loss_first": 1830.0, "loss_start": 788.0, "loss_end": 4.13e-05,
                 "best_constant_loss": 13300.0, "loss_end_over_best_constant": 3.1e-09},
}

keras.utils.set_random_seed(0)

x = 1.0 * np.array(range(200))
y = 2.0 * x

model = Sequential()
model.add(Input(shape=(1,)))
model.add(Dense(1))

lr = keras.optimizers.schedules.InverseTimeDecay(1e-5, decay_steps=1, decay_rate=1e-6)
sgd = SGD(learning_rate=lr, momentum=0.0, nesterov=False)
model.compile(loss='mean_squared_error', optimizer=sgd)
model.fit(x, y, epochs=1, batch_size=1, verbose=0)
score = model.predict(x[:10], batch_size=10, verbose=0)
for layer in model.layers:
    weights = layer.get_weights()
    print(layer)
    print(weights)
print(score)
