"""A 1-4-2-1 Keras network with a ReLU on its output unit too, fit to y = 2x - 1: the output
unit dies during training (one of the poster's stuck runs).

DeepLearning.AI community thread 324182 ("loss values do not change"): 7 points, MSE, Adam 1e-3,
500 epochs; the poster's loss sticks at one value in 6-7 of 10 runs. With this seed the output
unit is alive at first, Adam pushes it below zero for every input within the first epochs, and
from then on every gradient is exactly 0 and the loss stays at mean(y^2) = 25.
"""
import keras
import numpy as np
from keras import Model
from keras.layers import Dense, Input

LABEL = {
    "framework": "keras",
    "source": "https://community.deeplearning.ai/t/loss-values-do-not-change/324182",
    "question": "Why does the loss of my small ReLU regression network stick at one value in most "
                "runs?",
    "changes": ["keras.utils.set_random_seed(3) (the post sets none; seeds 1, 3, 4, 5, 6 and 8 "
                "of 1-8 stick)", "verbose=0 and two prints"],
    "pair": "keras_relu_output_dead_at_init",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["dense_2/kernel"], "step_max": 130},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "dead_units",
    "why": 'the output ReLU is alive at step 0 and 0 for all 7 inputs from optimizer step 112 (a plain Keras callback predicting all 7 inputs after every epoch, one step each): from then on every gradient is exactly 0 and the loss stays at mean(y^2) = 25, 1.56x the best constant (16)',
    "measured": {"loss_start": 25.5, "loss_end": 25.0, "dead_output_step0": 0.0,
                 "dead_output_end": 1.0, "best_constant_loss": 16.0,
                 "loss_end_over_best_constant": 1.56},
}

keras.utils.set_random_seed(3)

x = np.array([[-1.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0]])
y = np.array([[-3.0, -1.0, 1.0, 3.0, 5.0, 7.0, 9.0]])
x = np.reshape(x, (7, 1))
y = np.reshape(y, (7, 1))

input_1 = Input(shape=(1,))
dense_1 = Dense(4, activation='relu')(input_1)
dense_2 = Dense(2, activation='relu')(dense_1)
dense_3 = Dense(1, activation='relu')(dense_2)
model_2 = Model(inputs=input_1, outputs=dense_3)
model_2.compile(loss=keras.losses.MeanSquaredError(),
                optimizer=keras.optimizers.Adam(0.001))
h = model_2.fit(x, y, epochs=500, verbose=0)
print("loss first/last", h.history["loss"][0], h.history["loss"][-1])
print(model_2.predict(np.array([[10.0]]), verbose=0))
