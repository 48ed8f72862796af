"""Keras 1-D CNN trained with Adagrad at lr=1.0: loss and accuracy freeze after the first epoch.

keras-team/keras issue 2392 ("loss and acc don't change during each epoch"): two Conv1D+ReLU
blocks with 'uniform' init, max pooling, Dense(hidden)+dropout+ReLU, Dense(1)+sigmoid, binary
cross-entropy, ``Adagrad(lr=1.0)``. Adagrad's first steps move every weight by ~1.0, far more
than the +-0.05 weights: here almost all ReLUs of the second conv layer and of the dense layer
end dead for every input and the loss freezes at the class-prior level (the poster, on Keras
1, saw the same freeze with the output sigmoid saturated at a loss of 5.7).
"""
import keras
import numpy as np
from keras.layers import Activation, Conv1D, Dense, Dropout, Flatten, Input, MaxPooling1D
from keras.models import Sequential
from keras.optimizers import Adagrad

LABEL = {
    "framework": "keras",
    "source": "https://github.com/keras-team/keras/issues/2392",
    "question": "Why do loss and accuracy of my Keras 1-D CNN not change from epoch to epoch?",
    "changes": ["Keras 1 API made Keras 3: Convolution1D(nb_filter, filter_length, init, "
                "border_mode, subsample_length) -> Conv1D(filters, kernel_size, "
                "kernel_initializer, padding, strides), MaxPooling1D(pool_length) -> "
                "MaxPooling1D(pool_size), nb_epoch -> epochs, lr -> learning_rate; Adagrad's rho "
                "dropped (Keras 1 ignored it too), class_mode/show_accuracy -> metrics",
                "input_dim, input_length and hidden_dims are not in the post: 4 channels x 100 "
                "steps and 250 (Keras' imdb_cnn example, which the script follows)",
                "the poster's 89,595 sequences replaced by 6,000 seeded synthetic ones with the "
                "same 64.5% positives (label: a bump in channel 0); 3 epochs instead of 100",
                "keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "positive",
    "architecture": "CNN",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["sequential/conv1d_1/kernel", "activation"]},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["vanishing_gradient",
                "stalled_weights",
                "exploding_gradient",
                "loss_spike",
                "saturated_activation"],
    "root_cause": "dead_units",
    "why": "Adagrad first steps move every weight by ~lr = 1.0, far more than the weights "
           "(RandomUniform(-0.05, 0.05)): 94% of the second conv layer and of the dense layer "
           "ReLUs end dead for every input, the gradients behind them vanish (|g|/|w| "
           "~1e-5..4e-7) and the loss ends at the class-prior level (0.99x); the poster (Keras 1) "
           "saw the output sigmoid saturate at 5.7 instead",
    "measured": {"loss_first": 0.697, "loss_start": 0.678, "loss_end": 0.645,
                 "best_constant_loss": 0.649, "loss_end_over_best_constant": 0.994,
                 "dead_conv1d_1_end": 0.938, "dead_after_dense_end": 0.944,
                 "g_over_w_dense": 4.33e-07},
}

keras.utils.set_random_seed(0)

input_length, input_dim, hidden_dims = 100, 4, 250
rng = np.random.default_rng(0)
n = 6000
X_train = rng.standard_normal((n, input_length, input_dim)).astype("float32")
Y_train = (rng.random(n) < 0.645).astype("float32")
where = rng.integers(10, 90, n)
for i in np.flatnonzero(Y_train):  # positives carry a bump somewhere in channel 0
    X_train[i, where[i] - 3:where[i] + 3, 0] += 2.0

model = Sequential()
model.add(Input(shape=(input_length, input_dim)))
model.add(Conv1D(filters=16, kernel_size=10, kernel_initializer=keras.initializers.RandomUniform(
    -0.05, 0.05), padding='valid', activation='relu', strides=1))
model.add(MaxPooling1D(pool_size=2))
model.add(Conv1D(filters=32, kernel_size=8, kernel_initializer=keras.initializers.RandomUniform(
    -0.05, 0.05), padding='valid', activation='relu', strides=1))
model.add(MaxPooling1D(pool_size=2))
model.add(Flatten())
model.add(Dense(hidden_dims))
model.add(Dropout(0.25))
model.add(Activation('relu'))
model.add(Dense(1))
model.add(Activation('sigmoid'))
model.compile(loss='binary_crossentropy', optimizer=Adagrad(learning_rate=1.0, epsilon=1e-06),
              metrics=['accuracy'])
history = model.fit(X_train, Y_train, batch_size=128, epochs=3, verbose=0, shuffle=True)
for e, (loss, acc) in enumerate(zip(history.history["loss"], history.history["accuracy"])):
    print(f"Epoch {e + 1}: loss {loss:.4f} - acc {acc:.4f}")
