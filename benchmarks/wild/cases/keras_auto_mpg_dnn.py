"""TensorFlow's "Basic regression: Predict fuel efficiency" DNN: normalization, 64-64-1, MAE.

The tutorial's ``build_and_compile_model``: a Normalization layer adapted to the training
features, two Dense(64, relu) layers, one linear output, mean absolute error, Adam(0.001),
100 epochs with a 20% validation split.
"""
import keras
import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

LABEL = {
    "framework": "keras",
    "source": "https://www.tensorflow.org/tutorials/keras/regression",
    "question": "A well-known tutorial: a small DNN regression with a normalization layer "
                "(healthy control).",
    "changes": ["the UCI Auto MPG download replaced by 392 seeded synthetic cars with the same 9 "
                "columns and rough statistics (cylinders, displacement, horsepower, weight, "
                "acceleration, model year, one-hot origin) and an MPG that falls with weight and "
                "power",
                "60 epochs instead of 100; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "normalized inputs, a standard ReLU MLP, Adam at 1e-3",
    "measured": {"loss_first": 23.3, "loss_start": 20.5, "loss_end": 1.87,
                 "best_constant_loss": 5.24, "loss_end_over_best_constant": 0.357},
}

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)

n = 392
cylinders = rng.choice([4, 6, 8], n, p=[0.51, 0.21, 0.28]).astype(float)
displacement = cylinders * rng.normal(40, 6, n)
horsepower = 0.35 * displacement + rng.normal(25, 12, n)
weight = 8.5 * displacement + rng.normal(1350, 250, n)
acceleration = 22 - 0.04 * horsepower + rng.normal(0, 1.8, n)
model_year = rng.integers(70, 83, n).astype(float)
origin = rng.choice(3, n, p=[0.17, 0.2, 0.63])
mpg = (48 - 0.006 * weight - 0.05 * horsepower + 0.7 * (model_year - 76) + 2 * (origin == 1)
       + rng.normal(0, 2.5, n))
features = np.column_stack([cylinders, displacement, horsepower, weight, acceleration,
                            model_year, origin == 0, origin == 1, origin == 2]).astype("float32")

train = rng.permutation(n)[:int(0.8 * n)]
train_features, train_labels = features[train], mpg[train].astype("float32")

normalizer = tf.keras.layers.Normalization(axis=-1)
normalizer.adapt(np.array(train_features))


def build_and_compile_model(norm):
    model = keras.Sequential([
        norm,
        layers.Dense(64, activation='relu'),
        layers.Dense(64, activation='relu'),
        layers.Dense(1)
    ])

    model.compile(loss='mean_absolute_error',
                  optimizer=tf.keras.optimizers.Adam(0.001))
    return model


dnn_model = build_and_compile_model(normalizer)
history = dnn_model.fit(train_features, train_labels, validation_split=0.2, verbose=0,
                        epochs=60)
print("loss every 10 epochs", [round(v, 3) for v in history.history["loss"][::10]])
