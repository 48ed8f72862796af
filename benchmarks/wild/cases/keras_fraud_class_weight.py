"""keras.io example "Imbalanced classification: credit card fraud detection" (fchollet): an MLP
(3 x Dense(256, relu), two Dropout(0.3), Dense(1, sigmoid)) trained with Adam(1e-2), binary
cross-entropy, batches of 2048 and class_weight = {0: 1/count0, 1: 1/count1}, so every sample
weight is ~1e-5..1e-2 and the weighted loss is tiny."""
LABEL = {
    "framework": "keras",
    "source": "https://github.com/keras-team/keras-io/blob/master/examples/structured_data/"
              "imbalanced_classification.py",
    "question": "A well-known tutorial: fraud detection with class_weight=1/class-count on 0.17% "
                "positives (healthy control).",
    "changes": ["creditcard.csv (284,807 x 30, 0.17% fraud; downloaded by hand) replaced by "
                "24,000 seeded rows of the same layout: Time 0..172,792 s, V1..V28 ~ N(0, 1..2), "
                "Amount log-normal, 0.17% positives with 10 of their V-features shifted by about -1.2 (overlapping classes)",
                "the ModelCheckpoint callback (writes a file per epoch) dropped; "
                "keras.utils.set_random_seed(0); metrics kept"],
    "pair": None,
    "architecture": "MLP",
    "fast": False,
    "category": 'healthy',
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": 'class_weight = 1/count makes the weighted loss ~1e-5 and every gradient ~1e-6 of its weight, but Adam normalizes the step: per-step |dw|/|w| 0.006-0.03, loss 2.6e-05 -> 8.2e-07; the output sigmoid ends 99% saturated, which is what a 0.2%-positive target asks for',
    "measured": {'loss_start': 2.63e-05, 'loss_end': 8.24e-07, 'dense_kernel_g_over_w_med': 3.26e-06, 'dense_kernel_update_over_w': 0.013, 'output_saturated_end': 0.992, 'steps': 300},
}
import numpy as np
import keras

keras.utils.set_random_seed(0)

# ---- synthetic creditcard.csv: Time, V1..V28, Amount, Class ----
rng = np.random.RandomState(0)
N = 24000
cls = (rng.rand(N) < 0.0017).astype("uint8")
time_col = np.sort(rng.uniform(0, 172792, N))
V = rng.normal(0, 1, (N, 28)) * rng.uniform(1.0, 2.0, 28)
shift = np.zeros(28)
shift[rng.choice(28, 10, replace=False)] = rng.normal(-1.2, 0.5, 10)
V[cls == 1] += shift                                   # fraud rows sit out on some V's, overlapping
amount = np.exp(rng.normal(3.0, 1.5, N))
features = np.column_stack([time_col, V, amount]).astype("float32")
targets = cls.reshape(-1, 1).astype("uint8")
print("features.shape:", features.shape)
print("targets.shape:", targets.shape)

num_val_samples = int(len(features) * 0.2)
train_features = features[:-num_val_samples]
train_targets = targets[:-num_val_samples]
val_features = features[-num_val_samples:]
val_targets = targets[-num_val_samples:]

counts = np.bincount(train_targets[:, 0])
print("Number of positive samples in training data: {} ({:.2f}% of total)".format(
    counts[1], 100 * float(counts[1]) / len(train_targets)))

weight_for_0 = 1.0 / counts[0]
weight_for_1 = 1.0 / counts[1]

mean = np.mean(train_features, axis=0)
train_features -= mean
val_features -= mean
std = np.std(train_features, axis=0)
train_features /= std
val_features /= std

model = keras.Sequential(
    [
        keras.Input(shape=train_features.shape[1:]),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(256, activation="relu"),
        keras.layers.Dropout(0.3),
        keras.layers.Dense(1, activation="sigmoid"),
    ]
)
model.summary()

metrics = [
    keras.metrics.FalseNegatives(name="fn"),
    keras.metrics.FalsePositives(name="fp"),
    keras.metrics.TrueNegatives(name="tn"),
    keras.metrics.TruePositives(name="tp"),
    keras.metrics.Precision(name="precision"),
    keras.metrics.Recall(name="recall"),
]

model.compile(
    optimizer=keras.optimizers.Adam(1e-2), loss="binary_crossentropy", metrics=metrics
)

class_weight = {0: weight_for_0, 1: weight_for_1}

model.fit(
    train_features,
    train_targets,
    batch_size=2048,
    epochs=30,
    verbose=2,
    validation_data=(val_features, val_targets),
    class_weight=class_weight,
)
