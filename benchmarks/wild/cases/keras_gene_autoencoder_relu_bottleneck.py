"""A deep fully-connected autoencoder, ReLU on every layer (bottleneck and output included), fit
with Adam and MAE to raw gene expression values in [0, ~620000]: part of the 16-unit bottleneck
predicts only 0 for every input.

AI Stack Exchange question 24910 ("Autoencoder predictions missing for nodes in the bottleneck
layer"): 19,947 genes, Dense 512-128-16 encoder and 16-128-512-19947 decoder, all ReLU, Adam,
MAE, 1000 epochs with early stopping; 7 of the 16 bottleneck nodes predict only 0.
"""
import keras
import numpy as np

LABEL = {
    "framework": "keras",
    "source": "https://ai.stackexchange.com/questions/24910",
    "question": "Why do some nodes of my autoencoder's bottleneck layer only ever output 0?",
    "changes": ["the poster's expression matrix (19,947 genes, values in [0, ~620000]) replaced "
                "by 320 synthetic log-normal samples of the same width and range (30% zeros)",
                "8 epochs instead of 1000 with early stopping; validation data and the early-"
                "stopping callback dropped", "keras.utils.set_random_seed(0); verbose=0 and "
                "prints"],
    "pair": None,
    "category": "positive",
    "architecture": "MLP",
    "fast": False,
    "expected": [{"kind": "dead_units", "where": ["sequential/dense_2/kernel"]},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights", "poor_initialization"],
    "root_cause": "dead_units",
    "why": "the raw inputs (up to 620000) put every first-layer pre-activation in the "
           "thousands (ReLU output rms 1.5e3 at step 0); Adam's first steps push most units "
           "below zero for every input: at the end of the 80 steps 94% of the 16 bottleneck "
           "units (sequential/dense_2) and 59-81% of the other ReLU layers are never positive "
           "for any input of the last 20 steps (12.5% and 0.4-13% at step 0). The MAE goes "
           "from 157 to 149 and ends 1.04x above the best constant prediction (143, the "
           "targets' deviation from their median): the network learned nothing a constant "
           "could not",
    "measured": {"loss_start": 157.0, "loss_end": 149.0, "dead_bottleneck_step0": 0.125,
                 "dead_bottleneck_end": 0.938, "dead_output_end": 0.813,
                 "act_rms_dense_init": 1480.0, "best_constant_loss": 143.0,
                 "loss_end_over_best_constant": 1.04},
}

keras.utils.set_random_seed(0)

# stand-in for the poster's normalized expression values: per-gene log-normal levels, 30% zeros,
# clipped at the poster's maximum of about 620000
rng = np.random.default_rng(0)
n_genes = 19947
level = rng.normal(3.0, 2.0, n_genes)
X = np.exp(level + rng.normal(0.0, 1.0, (320, n_genes)))
X[rng.random(X.shape) < 0.3] = 0.0
X = np.minimum(X, 620000.0).astype("float32")
X_train = X

input_layer = keras.Input(shape=(19947,))
simple_encoder = keras.models.Sequential([
    input_layer,
    keras.layers.Dense(512, activation='relu'),
    keras.layers.Dense(128, activation='relu'),
    keras.layers.Dense(16, activation='relu')
])
simple_decoder = keras.models.Sequential([
    keras.layers.Dense(128, activation='relu'),
    keras.layers.Dense(512, activation='relu'),
    keras.layers.Dense(19947, activation='relu')
])
simple_ae = keras.models.Sequential([simple_encoder, simple_decoder])
simple_ae.compile(optimizer='adam', loss='mae')
h = simple_ae.fit(X_train, X_train, epochs=8, verbose=0)
print("loss", [round(v, 1) for v in h.history["loss"]])
code = simple_encoder.predict(X_train, verbose=0)
print("bottleneck nodes always 0:", int((code.max(axis=0) <= 0).sum()), "of", code.shape[1])
