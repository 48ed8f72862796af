"""Keras 1-D CNN binary classifier ending in Dense(1) + softmax: predict() always says 1.

Stack Overflow 45378493 ("Why does a binary Keras CNN always predict 1?"): two Conv1D blocks
(batch norm, LeakyReLU, dropout), Dense(64), then ``Dense(1)`` and ``Activation('softmax')``,
binary cross-entropy, Adam. A softmax over one unit is exp(z)/exp(z) = 1.0 for every input, so
``predict`` answers class 1 for everything. Under Keras 2 that also froze training. Keras 3
does not: its ``binary_crossentropy`` finds the logits the softmax cached on its output
(``_keras_logits``) and uses them as sigmoid logits, so the training here is step for step the
sigmoid version's (measured: the same losses) and healthy; the bug lives only in inference. A
confounder: an odd-looking model whose training must raise no alarm.
"""
import keras
import numpy as np
from keras.callbacks import ReduceLROnPlateau
from keras.layers import (Activation, BatchNormalization, Conv1D, Dense, Dropout, Flatten,
                          Input, LeakyReLU)
from keras.models import Sequential

LABEL = {
    "framework": "keras",
    "source": "https://stackoverflow.com/questions/45378493",
    "question": "Why does my binary Keras CNN always predict 1?",
    "changes": ["Keras 1 API made Keras 3: Convolution1D(nb_filter, filter_length, border_mode) "
                "-> Conv1D(filters, kernel_size, padding), nb_epoch -> epochs, an Input layer, "
                "monitor 'val_acc' -> 'val_accuracy'",
                "the poster's ~6000 rows of 10 standardized 4-value price bars replaced by a "
                "seeded random walk of the same shape (label: last close above the window mean, "
                "63% ones as in the post's test set)",
                "8 epochs instead of 100; keras.utils.set_random_seed(0)"],
    "pair": "keras_cnn1d_sigmoid_output",
    "category": "confounder",
    "architecture": "CNN",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "in Keras 3 binary_crossentropy trains on the logits the softmax caches "
           "(_keras_logits) as if they were sigmoid logits, so training is exactly the sigmoid "
           "version (the same losses, step for step): nothing in training is broken; only "
           "predict() returns softmax = 1.0 for every input, the poster symptom",
    "measured": {"loss_first": 0.757, "loss_start": 0.696, "loss_end": 0.468,
                 "best_constant_loss": 0.656, "loss_end_over_best_constant": 0.713},
}

keras.utils.set_random_seed(0)


def price_bars(n, rng):
    """n windows of 10 bars x (open, high, low, close), standardized; label: the last close
    above the window's mean close (a momentum signal the CNN can learn; ~63% ones)."""
    steps = rng.normal(0.0004, 0.01, size=n + 11).cumsum()
    close = 100 * np.exp(steps)
    open_ = np.r_[close[0], close[:-1]]
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.004, len(close)))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.004, len(close)))
    bars = np.stack([open_, high, low, close], axis=1)
    X = np.stack([bars[i:i + 10] for i in range(n)])
    y = np.array([w[-1, 3] > w[:, 3].mean() * 0.996 for w in X], dtype="float32")
    X = (X - X.mean()) / X.std()
    return X.astype("float32"), y


rng = np.random.default_rng(0)
X, y = price_bars(6000, rng)
X_train, y_train, X_test, y_test = X[:5030], y[:5030], X[5030:], y[5030:]

model = Sequential()
model.add(Input(shape=(10, 4)))
model.add(Conv1D(filters=16, kernel_size=4, padding='same'))
model.add(BatchNormalization())
model.add(LeakyReLU())
model.add(Dropout(0.2))

model.add(Conv1D(filters=8, kernel_size=4, padding='same'))
model.add(BatchNormalization())
model.add(LeakyReLU())
model.add(Dropout(0.2))

model.add(Flatten())

model.add(Dense(64))
model.add(BatchNormalization())
model.add(LeakyReLU())

model.add(Dense(1))
model.add(Activation('softmax'))

reduce_lr = ReduceLROnPlateau(monitor='val_accuracy', factor=0.9, patience=30, min_lr=0.000001,
                              verbose=0)

model.compile(optimizer='adam',
              loss='binary_crossentropy',
              metrics=['accuracy'])

history = model.fit(X_train, y_train,
                    epochs=8,
                    batch_size=128,
                    verbose=0,
                    validation_data=(X_test, y_test),
                    callbacks=[reduce_lr],
                    shuffle=True)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
y_pred = model.predict(X_test, verbose=0)
print("predicted ones:", int((y_pred > 0.5).sum()), "of", len(y_pred))
