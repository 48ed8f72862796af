"""A Keras LSTM forecaster of the next value of a series from the last 8 (scaled to ~0.01),
with a ReLU Activation in front of the LSTM and a ReLU on the one output unit; MSE, Adam,
batch 10, shuffle=False.

Stack Overflow 51432661 ("Time Series Keras LSTM echoing instead of predicting"): "what outputs
is just a number that is incredibly close to the last number in the input array".
"""
import keras
import numpy as np
from keras.layers import LSTM, Activation, Dense
from keras.models import Sequential

LABEL = {
    "framework": "keras",
    "source": "https://stackoverflow.com/questions/51432661/time-series-keras-lstm-echoing-instead-of-predicting",
    "question": "Why does my LSTM learn to echo the last input value instead of predicting the "
                "next one?",
    "changes": ["the poster's series replaced by a seeded positive AR(1)-like series in the same "
                "range (0.003..0.05), framed as 8 lags -> next value, shape (n, 1, 8) as in the "
                "poster's train_X", "keras.Input((1, 8)) in front of the first Activation "
                "(Keras 3 needs it); 10 epochs instead of 100; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "positive",
    "architecture": "RNN",
    "fast": False,
    "expected": [{"kind": "no_gradient", "where": ["sequential/lstm/lstm_cell/recurrent_kernel"]}],
    "allowed": [],
    "root_cause": 'no_gradient',
    "why": 'the lags are laid out as 8 features of ONE timestep (shape (n, 1, 8)): the recurrent kernel multiplies the zero initial state only, so its gradient is exactly 0 in every element at every one of the 500 steps and Adam never moves it (|g|/|w| = 0, |dw|/|w| = 0); everything else trains: the loss falls 5.1e-5 -> 2.5e-5, 0.47x the targets variance (5.2e-5), the output ReLU stays alive (dead_end 0); the echo the poster sees is the persistence forecast (echo MSE 1.8e-5), not a training failure',
    "measured": {"loss_start": 5.13e-05, "loss_end": 2.47e-05, "best_constant_loss": 5.2e-05, "loss_end_over_best_constant": 0.474, "recurrent_kernel_grad_over_weight": 0.0, "output_dead_end": 0.0}
}

keras.utils.set_random_seed(0)

rng = np.random.default_rng(0)
n = 700
s = np.empty(n)
s[0] = 0.015
for t in range(1, n):
    s[t] = 0.02 + 0.85 * (s[t - 1] - 0.02) + rng.normal(0, 0.004)
s = np.clip(s, 0.003, 0.05).astype("float32")
lags = 8
X = np.stack([s[i:i + lags] for i in range(n - lags)])
Y = s[lags:]
train_X, train_y = X[:500].reshape(500, 1, lags), Y[:500]
test_X, test_y = X[500:].reshape(-1, 1, lags), Y[500:]

model = Sequential()
model.add(keras.Input(shape=(train_X.shape[1], train_X.shape[2])))
model.add(Activation('relu'))
model.add(LSTM(128))
#model.add(Dropout(.2))
model.add(Dense(1, activation='relu'))
model.compile(loss='mse', optimizer='adam')
# fit network
history = model.fit(train_X, train_y, epochs=10, validation_data=(test_X, test_y), batch_size=10,
                    verbose=0, shuffle=False)
pred = model.predict(train_X, verbose=0)[:, 0]
print("loss", [round(v, 7) for v in history.history["loss"]], "var(y)", float(np.var(train_y)))
print("mse of echoing the last input", float(np.mean((train_X[:, 0, -1] - train_y) ** 2)),
      "corr(pred, last input)", float(np.corrcoef(pred, train_X[:, 0, -1])[0, 1]))
