"""Data Science Stack Exchange question "Why does accuracy remain the same" (read through the
geeksmental.com mirror): a 1-3-5-1 Keras network, ReLU everywhere including the output unit,
binary cross-entropy and Adam, asked whether a number in [0, 100000) is above 50,000.

The poster: "accuracy is always about 0.5", the batch loss hovering at 7.4-7.9. The inputs are
the raw numbers (0 to 99,999), the output unit is a ReLU read by binary_crossentropy as a
probability, and `random.shuffle` on a 2-D NumPy array duplicates rows while it shuffles (both
the author's).
"""
import os
import random

import keras
import numpy as np
from keras import Sequential
from keras.layers import Dense, Input
from random import shuffle

LABEL = {
    "framework": "keras",
    "source": "https://geeksmental.com/question/why-does-accuracy-remain-the-same",
    "question": "Why does my Keras network that classifies numbers above/below 50,000 stay at "
                "50% accuracy?",
    "changes": ["keras.utils.set_random_seed(0) (seeds Python's random too; the post sets none)",
                "Input(shape=(1,)) instead of input_dim=1 (Keras 3)",
                "epochs=1 instead of 10 (2,000 steps of batch 5)",
                "model.evaluate dropped; verbose=0 and one print"],
    "pair": None,
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["no_gradient", "stalled_weights", "vanishing_gradient", "dead_units",
                "saturated_activation"],
    "root_cause": None,
    "why": ("the raw inputs (up to 99,999) make the ReLU output ~4e4 (rms 4.1e4 at step 0, 5.2e4 at "
           "the end), far above 1; binary_crossentropy clips it to 1 - 1e-7, and the clip passes "
           "no gradient, so every kernel gradient is exactly 0 at every one of the 2,000 steps "
           "(|g|/|w| = 0, |dw|/|w| = 0: the weights never move). The loss is 16.1 x the share of "
           "class-0 rows in each batch of 5: medians 6.4 (first 10%) and 9.6 (last 10%), 9-14x the "
           "best constant (0.693); accuracy 50%, the poster's. 2 of the 3 first-layer and 3 of "
           "the 5 second-layer ReLUs are never positive from step 0 (true of the run, but with "
           "every gradient 0 they change nothing: allowed)"),
    "measured": {"loss_first": 1.19e-07, "loss_start": 6.38, "loss_end": 9.57, "best_constant_loss": 0.693,
                 "loss_end_over_best_constant": 13.8, "g_over_w_med_all_kernels": 0.0,
                 "update_over_w_all_kernels": 0.0, "output_rms_step0": 41000.0,
                 "dead_dense_end": 0.667, "dead_dense_1_end": 0.6},
}

keras.utils.set_random_seed(0)

os.environ['TF_CPP_MIN_LOG_LEVEL'] = '2'
threshold = 50000
samples = 5000

train_data = []
for i in range(0, samples):
    train_data.append([random.randrange(0, threshold), 0])
    train_data.append([random.randrange(threshold, 2 * threshold), 1])

data_set = np.array(train_data)
shuffle(data_set)

input_value = data_set[:, 0:1]
expected_result = data_set[:, 1]


model = Sequential()
model.add(Input(shape=(1,)))
model.add(Dense(3, activation='relu'))
model.add(Dense(5, activation='relu'))
model.add(Dense(1, activation='relu'))

# compile the keras model
model.compile(loss='binary_crossentropy', optimizer='adam', metrics=['accuracy'])

# fit the keras model on the dataset
history = model.fit(input_value, expected_result, epochs=1, batch_size=5, verbose=0)
print("loss", history.history["loss"], "accuracy", history.history["accuracy"])
