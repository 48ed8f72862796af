"""Keras 2 example "mnist_transfer_cnn.py" (Transfer learning toy example): train a convnet on
digits 0-4, freeze the feature layers (layer.trainable = False), recompile and train the dense
classifier on digits 5-9. Adadelta, categorical cross-entropy, batch 128.
Source: https://github.com/keras-team/keras/blob/2.3.1/examples/mnist_transfer_cnn.py
Changes: MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (x255 so the author's
/255 gives [0, 1]); 'adadelta' written as Adadelta(learning_rate=1.0), the Keras 2 default the
author relied on (Keras 3's string gives 0.001); Keras 3 imports and an Input layer instead of
input_shape; epochs 10 instead of 5 (the data is 30x smaller); no timing prints;
keras.utils.set_random_seed(0).
"""
import keras
import numpy as np
from keras.models import Sequential
from keras.layers import Dense, Dropout, Activation, Flatten, Conv2D, MaxPooling2D, Input
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": 'https://github.com/keras-team/keras/blob/2.3.1/examples/mnist_transfer_cnn.py',
    "question": "Keras' transfer-learning example: train a CNN on digits 0-4, freeze its feature layers, compile again and train the classifier on 5-9",
    "changes": ["MNIST replaced by scikit-learn's 8x8 digits blown up to 28x28 (x255 so the author's /255 gives [0, 1]); 'adadelta' written as Adadelta(learning_rate=1.0), the Keras 2 default the author relied on (Keras 3's string gives 0.001); Keras 3 imports and an Input layer instead of input_shape; epochs 10 instead of 5 (the data is 30x smaller); no timing prints; keras.utils.set_random_seed(0)."],
    "pair": None,
    "category": "healthy",
    "architecture": 'CNN',
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "two phases, each loss falling far below its best constant (phase 1: 1.40 -> 0.04 against 1.61; phase 2 per epoch 2.37 -> 0.18 against ~1.61, Keras' own epoch losses: the plain measurement follows the first optimizer only); the second compile's new optimizer counts its steps from 0",
    "measured": {"loss_start": 1.4, "loss_end": 0.0398, "best_constant_loss": 1.61,
                 "loss_end_over_best_constant": 0.0247},
}

keras.utils.set_random_seed(0)

batch_size = 128
num_classes = 5
epochs = 10

# input image dimensions
img_rows, img_cols = 28, 28
# number of convolutional filters to use
filters = 32
# size of pooling area for max pooling
pool_size = 2
# convolution kernel size
kernel_size = 3

input_shape = (img_rows, img_cols, 1)


def train_model(model, train, test, num_classes):
    x_train = train[0].reshape((train[0].shape[0],) + input_shape)
    x_test = test[0].reshape((test[0].shape[0],) + input_shape)
    x_train = x_train.astype("float32")
    x_test = x_test.astype("float32")
    x_train /= 255
    x_test /= 255
    print("x_train shape:", x_train.shape)

    # convert class vectors to binary class matrices
    y_train = keras.utils.to_categorical(train[1], num_classes)
    y_test = keras.utils.to_categorical(test[1], num_classes)

    model.compile(loss="categorical_crossentropy",
                  optimizer=keras.optimizers.Adadelta(learning_rate=1.0),
                  metrics=["accuracy"])

    h = model.fit(x_train, y_train, batch_size=batch_size, epochs=epochs, verbose=0,
                  validation_data=(x_test, y_test))
    print("loss per epoch", [round(v, 4) for v in h.history["loss"]])
    score = model.evaluate(x_test, y_test, verbose=0)
    print("Test score:", score[0])
    print("Test accuracy:", score[1])


# the data, split between train and test sets
images, labels = mnist_like()
images = np.round(images * 255).astype("uint8")
x_train, y_train = images[:1500], labels[:1500]
x_test, y_test = images[1500:], labels[1500:]

# create two datasets one with digits below 5 and one with 5 and above
x_train_lt5 = x_train[y_train < 5]
y_train_lt5 = y_train[y_train < 5]
x_test_lt5 = x_test[y_test < 5]
y_test_lt5 = y_test[y_test < 5]

x_train_gte5 = x_train[y_train >= 5]
y_train_gte5 = y_train[y_train >= 5] - 5
x_test_gte5 = x_test[y_test >= 5]
y_test_gte5 = y_test[y_test >= 5] - 5

# define two groups of layers: feature (convolutions) and classification (dense)
feature_layers = [
    Input(shape=input_shape),
    Conv2D(filters, kernel_size, padding="valid"),
    Activation("relu"),
    Conv2D(filters, kernel_size),
    Activation("relu"),
    MaxPooling2D(pool_size=pool_size),
    Dropout(0.25),
    Flatten(),
]

classification_layers = [
    Dense(128),
    Activation("relu"),
    Dropout(0.5),
    Dense(num_classes),
    Activation("softmax"),
]

# create complete model
model = Sequential(feature_layers + classification_layers)

# train model for 5-digit classification [0..4]
train_model(model, (x_train_lt5, y_train_lt5), (x_test_lt5, y_test_lt5), num_classes)

# freeze feature layers and rebuild model
for l in feature_layers[1:]:
    l.trainable = False

# transfer: train dense layers for new classification task [5..9]
train_model(model, (x_train_gte5, y_train_gte5), (x_test_gte5, y_test_gte5), num_classes)
