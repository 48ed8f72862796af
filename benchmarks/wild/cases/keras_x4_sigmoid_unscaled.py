"""Fit y = x**4 on x in [-100, 100) with Dense(50) -> sigmoid -> Dense(50) -> elu -> Dense(1),
MSE, Adam, full batch: neither the inputs nor the targets (up to 1e8) are scaled.

Stack Overflow 52800582 ("Why do I fail to predict y=x**4 with keras? (y=x**3 works)"): the
poster's fit converges to "inaccurate lines"; the accepted answer: the first layer's
pre-activations are ~10 for the raw inputs, so its sigmoids saturate, and outputs of 1e8 need
weights the optimizer cannot reach at Adam's step size.
"""
import keras
import numpy as np
from keras.layers import Activation, Dense
from keras.models import Sequential

LABEL = {
    "framework": "keras",
    "source": "https://stackoverflow.com/questions/52800582/why-do-i-fail-to-predict-y-x4-with-keras-y-x3-works",
    "question": "Why does my network fit y=x**3 but only converge to an inaccurate line for y=x**4?",
    "changes": ["one round of model.fit(epochs=400) instead of 100 rounds of 1000 (400 full-batch "
                "steps), no plotting; time.clock dropped",
                "keras.Input instead of input_shape; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["saturated_activation", "update_spike"],
    "root_cause": 'loss_not_decreasing',
    "why": 'targets up to 1e8 and inputs up to 100, neither scaled: over 400 full-batch Adam steps the MSE stays at 1.111e15 from the first step to the last, 1.56x the targets variance (7.11e14, the loss of predicting their mean); 57% of the first layer sigmoids are saturated at step 0 (11.5% median over the run, 0 at the end), so saturation is not what holds it',
    "measured": {"loss_start": 1110000000000000.0, "loss_end": 1110000000000000.0, "best_constant_loss": 711000000000000.0, "loss_end_over_best_constant": 1.56, "sigmoid_saturated_init": 0.566, "sigmoid_saturated_med": 0.115}
}

keras.utils.set_random_seed(0)

x = np.arange(-100, 100, 0.5)
y = x**4

model = Sequential()
model.add(keras.Input(shape=(1,)))
model.add(Dense(50))
model.add(Activation('sigmoid'))
model.add(Dense(50))
model.add(Activation('elu'))
model.add(Dense(1))
model.compile(loss='mse', optimizer='adam')

for i in range(1):
    model.fit(x, y, epochs=400, batch_size=len(x), verbose=0)
    predictions = model.predict(x, verbose=0)
    print(i, " ", np.mean(np.square(predictions[:, 0] - y)), "var(y)", np.var(y))
