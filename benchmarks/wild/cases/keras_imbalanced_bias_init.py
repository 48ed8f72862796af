"""TensorFlow's "Classification on imbalanced data" tutorial: a 16-unit ReLU layer, dropout 0.5
and a sigmoid output whose bias starts at log(pos/neg), on 0.2%-positive standardized data.

The tutorial as published (Kaggle credit-card fraud, 284,807 rows, 30 features, 0.17%
positive): StandardScaler, clip to [-5, 5], Dense(16, relu), Dropout(0.5), Dense(1, sigmoid,
bias_initializer=Constant(log(pos/neg))), Adam(1e-3), binary cross-entropy, batch 2048,
early stopping on val_prc. The careful bias init makes the first loss about the entropy of the
class prior instead of ~0.7.
"""
import keras
import numpy as np
import tensorflow as tf
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

LABEL = {
    "framework": "keras",
    "source": "https://www.tensorflow.org/tutorials/structured_data/imbalanced_data",
    "question": "A well-known tutorial: a classifier for a 0.2%-positive class with the output "
                "bias initialized to the log-odds of the prior (healthy control).",
    "changes": ["the credit-card fraud CSV replaced by scikit-learn make_classification(30 "
                "features, 0.2% positive, 40,000 rows), standardized and clipped as in the "
                "tutorial", "30 epochs, no early stopping, the metrics list cut to accuracy/"
                "AUC-PR; keras.utils.set_random_seed(0)"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": 'the loss falls from 0.0215 (first tenth) to 0.00615 (last tenth), 0.43x the entropy of the 0.2% class prior (0.0144), AUC-PR 0.003 -> 0.54; the output sigmoid sits below 0.01 for 82% (step 0) to 97% (end) of the rows because the bias starts at log(pos/neg) = -6.2 and 99.8% of the targets are 0: that is the right prediction, not a blocked gradient (Keras 3 computes the BCE from the logits, so the sigmoid derivative never multiplies the gradient)',
    "measured": {"loss_start": 0.0215, "loss_end": 0.00615, "best_constant_loss": 0.0144, "loss_end_over_best_constant": 0.428, "output_saturated_init": 0.82, "output_saturated_med": 0.954, "output_saturated_end": 0.971, "dead_end": 0.0}
}

keras.utils.set_random_seed(0)

features, labels = make_classification(n_samples=40000, n_features=30, n_informative=10,
                                       n_redundant=5, weights=[0.998], flip_y=0.0,
                                       class_sep=3.0, random_state=0)
neg, pos = np.bincount(labels)
train_features, test_features, train_labels, test_labels = train_test_split(
    features, labels.astype("float32"), test_size=0.2, random_state=0)
train_features, val_features, train_labels, val_labels = train_test_split(
    train_features, train_labels, test_size=0.2, random_state=0)

scaler = StandardScaler()
train_features = scaler.fit_transform(train_features)
val_features = scaler.transform(val_features)
train_features = np.clip(train_features, -5, 5)
val_features = np.clip(val_features, -5, 5)

METRICS = [keras.metrics.BinaryAccuracy(name='accuracy'),
           keras.metrics.AUC(name='prc', curve='PR')]


def make_model(metrics=METRICS, output_bias=None):
    if output_bias is not None:
        output_bias = tf.keras.initializers.Constant(output_bias)
    model = keras.Sequential([
        keras.Input(shape=(train_features.shape[-1],)),
        keras.layers.Dense(16, activation='relu'),
        keras.layers.Dropout(0.5),
        keras.layers.Dense(1, activation='sigmoid', bias_initializer=output_bias),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=1e-3),
                  loss=keras.losses.BinaryCrossentropy(), metrics=metrics)
    return model


EPOCHS = 30
BATCH_SIZE = 2048
initial_bias = np.log([pos / neg])
model = make_model(output_bias=initial_bias)
history = model.fit(train_features, train_labels, batch_size=BATCH_SIZE, epochs=EPOCHS,
                    validation_data=(val_features, val_labels), verbose=0)
print("pos/neg", pos, neg, "initial bias", initial_bias)
print("loss", [round(v, 4) for v in history.history["loss"][::5]], "prc",
      [round(v, 3) for v in history.history["prc"][::5]])
