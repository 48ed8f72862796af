"""keras.io "Simple MNIST convnet" (fchollet): two conv/pool blocks, dropout, softmax; healthy.

The Keras example as published: Conv2D(32, 3)+ReLU, max pool, Conv2D(64, 3)+ReLU, max pool,
flatten, dropout 0.5, Dense(10, softmax), categorical cross-entropy, Adam, batch 128,
validation split 0.1. It reaches ~99% on MNIST.
"""
import keras
import numpy as np
from _wild_data import mnist_like
from keras import layers

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/vision/mnist_convnet/",
    "question": "A well-known tutorial: a small convnet on MNIST (healthy control).",
    "changes": ["MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (1,797 images)",
                "8 epochs instead of 15; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "CNN",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "a standard, well-initialized convnet with Adam at its default rate",
    "measured": {"loss_first": 2.3, "loss_start": 2.22, "loss_end": 0.169,
                 "best_constant_loss": 2.3, "loss_end_over_best_constant": 0.0735},
}

keras.utils.set_random_seed(0)

num_classes = 10
input_shape = (28, 28, 1)

images, labels = mnist_like()  # already scaled to [0, 1], like x_train / 255
x_train = np.expand_dims(images.astype("float32"), -1)
y_train = keras.utils.to_categorical(labels, num_classes)

model = keras.Sequential(
    [
        keras.Input(shape=input_shape),
        layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
        layers.MaxPooling2D(pool_size=(2, 2)),
        layers.Flatten(),
        layers.Dropout(0.5),
        layers.Dense(num_classes, activation="softmax"),
    ]
)

batch_size = 128
epochs = 8

model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
history = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs,
                    validation_split=0.1, verbose=0)
print("loss per epoch", [round(v, 4) for v in history.history["loss"]])
print("val accuracy", round(history.history["val_accuracy"][-1], 4))
