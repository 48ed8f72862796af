"""Deep Learning with Python (3rd ed.), chapter 5, "Tuning key gradient descent parameters":
an MNIST MLP (Dense(512, relu), Dense(10, softmax)) trained with RMSprop at learning_rate=1.0,
the book's deliberate example of a learning rate set far too high (the model stalls at low
accuracy). Its pair, keras_dlwp_rmsprop_lr1e2, is the notebook's next cell: the same model at
learning_rate=1e-2.
"""
import keras
from keras import layers
from _wild_data import mnist_like

LABEL = {
    "framework": "keras",
    "source": "https://github.com/fchollet/deep-learning-with-python-notebooks/blob/master/"
              "chapter05_fundamentals-of-ml.ipynb",
    "question": "Training a MNIST model with an incorrectly high learning rate (RMSprop, "
                "learning_rate=1.0): why does it stall at low accuracy?",
    "changes": ["MNIST (60,000 images /255) replaced by scikit-learn's 8x8 digits blown up to "
                "28x28 (1,797 images in [0, 1]), reshaped to 784 like the book",
                "the notebook's KERAS_BACKEND=jax not set (TensorFlow backend)",
                "keras.utils.set_random_seed(0); verbose=0 and one print"],
    "pair": "keras_dlwp_rmsprop_lr1e2",
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "loss_diverging", "where": [], "step_max": 10},
                 {"kind": "dead_units", "where": ["sequential/dense/kernel"]}],
    "allowed": ["exploding_gradient", "loss_spike", "update_spike"],
    "root_cause": None,
    "why": "RMSprop's first step moves every weight that has a gradient by lr/sqrt(1-rho) "
           "= 3.2: the first layer's kernel norm goes from 25 to 1,100 in one step and the "
           "loss from 2.32 to 1.1e5 (max 1.3e5 at step 3); it jumps again to 8e3 around step "
           "68, is above its first value at 91 of the 120 steps and above 10x it at 52 (the "
           "last at step 78). 80% of the 512 ReLU units are never positive for any training "
           "input over steps 5-24, 92% at the end, and the loss ends at 0.43x the best "
           "constant (the 1e-2 pair: 0.019x). The cause is the learning rate, which no kind "
           "names: no root cause is required (measured eagerly; a graph-mode run follows the "
           "same losses for the first ~30 steps and then differs in detail, not in kind)",
    "measured": {"loss_start": 6780.0, "loss_end": 0.986, "loss_first": 2.32,
                 "loss_max": 127000.0, "loss_end_over_best_constant": 0.428,
                 "dead_dense_end": 0.924, "g_over_w_dense_1_step0": 16.6,
                 "best_constant_loss": 2.3},
}

keras.utils.set_random_seed(0)

train_images, train_labels = mnist_like()
train_images = train_images.reshape((len(train_images), 28 * 28))
train_images = train_images.astype("float32")  # already in [0, 1], like the book's / 255

model = keras.Sequential(
    [
        layers.Dense(512, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]
)
model.compile(
    optimizer=keras.optimizers.RMSprop(learning_rate=1.0),
    loss="sparse_categorical_crossentropy",
    metrics=["accuracy"],
)
history = model.fit(
    train_images, train_labels, epochs=10, batch_size=128, validation_split=0.2, verbose=0
)
print("loss", [round(v, 3) for v in history.history["loss"]])
print("accuracy", [round(v, 3) for v in history.history["accuracy"]])
