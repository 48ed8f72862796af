"""keras.io "Timeseries classification from scratch": a fully convolutional network (three
Conv1D + BatchNormalization + ReLU blocks, global average pooling, softmax) on FordA.

The example as published: FordA (3,601 univariate series of length 500, two classes, z-normalized
by the UCR archive), Conv1D(64, 3, padding="same") x3 each followed by BatchNormalization and
ReLU, GlobalAveragePooling1D, Dense(2, softmax), Adam, sparse categorical cross-entropy, batch
32, validation_split 0.2, ReduceLROnPlateau and EarlyStopping on val_loss.
"""
import keras
import numpy as np

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/timeseries/timeseries_classification_from_scratch/",
    "question": "A well-known keras.io example: a Conv1D/BatchNorm classifier of univariate time "
                "series (healthy control).",
    "changes": ["FordA replaced by 800 seeded z-normalized series of length 500 (noisy sines "
                "whose frequency band and a local bump depend on the class; labels -1/1 "
                "mapped to 0/1 as in the example)", "6 epochs; the ModelCheckpoint callback "
                "dropped (no file writes), ReduceLROnPlateau and EarlyStopping kept; "
                "keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "CNN",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": 'the loss falls 0.686 -> 0.568 (0.82x the class-prior entropy 0.69) in 120 steps, accuracy 0.60 -> 0.77, still falling; no dead ReLU, no non-finite step; the conv biases before BatchNorm get ~0 gradient by construction (redundant, info only)',
    "measured": {"loss_start": 0.686, "loss_end": 0.568, "best_constant_loss": 0.69, "loss_end_over_best_constant": 0.822, "dead_end_max": 0.0}
}

keras.utils.set_random_seed(0)


def readucr_like(n=800, length=500, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.choice([-1, 1], n)
    t = np.linspace(0, 1, length)
    freq = np.where(y == 1, rng.uniform(8, 12, n), rng.uniform(5, 9, n))
    phase = rng.uniform(0, 2 * np.pi, n)
    x = np.sin(2 * np.pi * freq[:, None] * t[None, :] + phase[:, None])
    bump_at = rng.integers(50, 450, n)
    bump = np.exp(-0.5 * ((np.arange(length)[None, :] - bump_at[:, None]) / 8.0) ** 2)
    x += np.where(y[:, None] == 1, 1.5, -1.5) * bump + rng.normal(0, 0.8, (n, length))
    x = (x - x.mean(1, keepdims=True)) / x.std(1, keepdims=True)
    return x.astype("float32"), y


x_train, y_train = readucr_like()
x_train = x_train.reshape((x_train.shape[0], x_train.shape[1], 1))
num_classes = len(np.unique(y_train))
idx = np.random.permutation(len(x_train))
x_train = x_train[idx]
y_train = y_train[idx]
y_train[y_train == -1] = 0


def make_model(input_shape):
    input_layer = keras.layers.Input(input_shape)

    conv1 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(input_layer)
    conv1 = keras.layers.BatchNormalization()(conv1)
    conv1 = keras.layers.ReLU()(conv1)

    conv2 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv1)
    conv2 = keras.layers.BatchNormalization()(conv2)
    conv2 = keras.layers.ReLU()(conv2)

    conv3 = keras.layers.Conv1D(filters=64, kernel_size=3, padding="same")(conv2)
    conv3 = keras.layers.BatchNormalization()(conv3)
    conv3 = keras.layers.ReLU()(conv3)

    gap = keras.layers.GlobalAveragePooling1D()(conv3)

    output_layer = keras.layers.Dense(num_classes, activation="softmax")(gap)

    return keras.models.Model(inputs=input_layer, outputs=output_layer)


model = make_model(input_shape=x_train.shape[1:])

epochs = 6
batch_size = 32

callbacks = [
    keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=20, min_lr=0.0001),
    keras.callbacks.EarlyStopping(monitor="val_loss", patience=50, verbose=1),
]
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
              metrics=["sparse_categorical_accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, callbacks=callbacks,
                    validation_split=0.2, verbose=0)
print("loss", [round(v, 4) for v in history.history["loss"]])
print("acc", [round(v, 3) for v in history.history["sparse_categorical_accuracy"]])
