"""keras.io "Convolutional autoencoder for image denoising": Conv2D/MaxPool encoder,
Conv2DTranspose decoder, a sigmoid output pixel map, binary cross-entropy against the clean
MNIST images (mostly exact zeros).

The example as published: MNIST scaled to [0, 1], noisy copies (0.4 * N(0, 1), clipped),
Conv2D(32, 3, relu, same) + MaxPooling2D x2, Conv2DTranspose(32, 3, strides=2, relu, same) x2,
Conv2D(1, 3, sigmoid, same), Adam, binary_crossentropy; first trained to reconstruct the clean
images (50 epochs, batch 128), then noisy -> clean (100 epochs).
"""
import keras
import numpy as np
from keras import layers
from keras.models import Model
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://keras.io/examples/vision/autoencoder/",
    "question": "A well-known keras.io example: a convolutional denoising autoencoder with a "
                "sigmoid output and binary cross-entropy (healthy control).",
    "changes": ["MNIST replaced by scikit-learn's digits blown up to 28x28 in [0, 1] (1,797 "
                "images, the first 1,500 to train)", "4 epochs of each fit instead of 50 and "
                "100, no plots; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "CNN autoencoder",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": 'the per-pixel BCE falls 0.682 -> 0.243 in 96 steps (0.78x the mean per-pixel binary entropy 0.313); the output sigmoid is unsaturated at the start (0%) and 39% saturated at the end, toward background pixels that are exactly 0; at most 3% of one ReLU layer dead',
    "measured": {"loss_start": 0.682, "loss_end": 0.243, "best_constant_loss": 0.313, "loss_end_over_best_constant": 0.777, "output_saturated_init": 0.0, "output_saturated_end": 0.392, "dead_end_max": 0.0312}
}

keras.utils.set_random_seed(0)


def preprocess(array):
    array = array.astype("float32")
    array = np.reshape(array, (len(array), 28, 28, 1))
    return array


def noise(array):
    noise_factor = 0.4
    noisy_array = array + noise_factor * np.random.normal(loc=0.0, scale=1.0, size=array.shape)
    return np.clip(noisy_array, 0.0, 1.0)


images, _ = mnist_like()
train_data, test_data = images[:1500], images[1500:]
train_data = preprocess(train_data)
test_data = preprocess(test_data)
noisy_train_data = noise(train_data)
noisy_test_data = noise(test_data)

input = layers.Input(shape=(28, 28, 1))

# Encoder
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(input)
x = layers.MaxPooling2D((2, 2), padding="same")(x)
x = layers.Conv2D(32, (3, 3), activation="relu", padding="same")(x)
x = layers.MaxPooling2D((2, 2), padding="same")(x)

# Decoder
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2DTranspose(32, (3, 3), strides=2, activation="relu", padding="same")(x)
x = layers.Conv2D(1, (3, 3), activation="sigmoid", padding="same")(x)

# Autoencoder
autoencoder = Model(input, x)
autoencoder.compile(optimizer="adam", loss="binary_crossentropy")

h1 = autoencoder.fit(x=train_data, y=train_data, epochs=4, batch_size=128, shuffle=True,
                     validation_data=(test_data, test_data), verbose=0)
h2 = autoencoder.fit(x=noisy_train_data, y=train_data, epochs=4, batch_size=128, shuffle=True,
                     validation_data=(noisy_test_data, test_data), verbose=0)
print("loss clean", [round(v, 4) for v in h1.history["loss"]],
      "noisy", [round(v, 4) for v in h2.history["loss"]])
