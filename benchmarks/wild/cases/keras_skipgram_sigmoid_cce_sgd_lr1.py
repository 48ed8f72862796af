"""keras-team/keras issue 2711 ("Loss not changing when training"), a commenter's skip-gram
model: one-hot words (vocabulary 256) -> Dense(100, sigmoid) -> Dense(256, sigmoid), categorical
cross-entropy, SGD at lr 1.0, batch 300, validation_split 0.1, EarlyStopping and
ReduceLROnPlateau on val_loss.

The commenter: "when i train, the accuracy stays the same at around 0.1327 no matter what i do,
i tried changing learning rates and batch_size". The output layer is a sigmoid read by
categorical cross-entropy (which renormalizes the 256 sigmoids to sum to one), the author's.
"""
import keras
import numpy as np
from keras.callbacks import EarlyStopping, ReduceLROnPlateau
from keras.layers import Dense, Input
from keras.models import Sequential
from keras.optimizers import SGD
from _text_data import shakespeare_like

LABEL = {
    "framework": "keras",
    "source": "https://github.com/keras-team/keras/issues/2711",
    "question": "Why does the accuracy of my Keras skip-gram model stay at 0.1327 whatever the "
                "learning rate or batch size?",
    "changes": ["the commenter's 166,000-word sequence over a 256-word vocabulary (not given) "
                "replaced by 20,000 characters of the bundled text (_text_data.py) as byte "
                "codes, skip-gram pairs with a window of 1 (each character -> its left and its "
                "right neighbour), one-hot to 256",
                "the class methods inlined; SGD(lr=1.0) -> SGD(learning_rate=1.0), "
                "input_dim=256 -> Input(shape=(256,)), nb_epoch -> epochs (Keras 3)",
                "epochs=15 instead of 1000 (1,800 steps); the ModelCheckpoint callback and model.save dropped "
                "(they write files)",
                "keras.utils.set_random_seed(0); verbose=0 and one print"],
    "pair": None,
    "category": "confounder",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": ("looks broken (256 sigmoids read by categorical cross-entropy, which renormalizes them to "
           "sum to one; SGD at lr 1.0), trains: the loss falls every epoch, from 3.23 (first 10% "
           "of the 1,800 steps) to 2.76 (last 10%), 0.92x the best constant (3.00, the entropy of "
           "the context characters); the best any model of this data can do is the conditional "
           "entropy H(context | centre) = 2.60 (0.87x), so the run has made 60% of the possible "
           "gain, and a 30-epoch plain run reaches 2.71. Accuracy rises 0.127 -> 0.20 (the "
           "commenter's flat 0.1327 does not reproduce on this text). No sigmoid unit saturated "
           "in the hidden layer; 9% of output sigmoids near 0 at the end (rare characters)"),
    "measured": {"loss_first": 5.52, "loss_start": 3.23, "loss_end": 2.76, "best_constant_loss": 3.0,
                 "loss_end_over_best_constant": 0.922, "achievable_loss_h_ctx_given_centre": 2.6,
                 "g_over_w_med_dense_kernel": 0.00208, "g_over_w_med_dense_1_kernel": 0.0204,
                 "saturated_output_end": 0.0937},
}

keras.utils.set_random_seed(0)

codes = np.frombuffer(shakespeare_like(20_000).encode("ascii"), dtype=np.uint8).astype(int)
centre = np.concatenate([codes[1:-1], codes[1:-1]])
context = np.concatenate([codes[:-2], codes[2:]])
order = np.random.permutation(len(centre))
X = np.eye(256, dtype="float32")[centre[order]]
y = np.eye(256, dtype="float32")[context[order]]


def make_model(vocab_size=256, vec_dim=100):
    model = Sequential()
    model.add(Input(shape=(vocab_size,)))
    model.add(Dense(vec_dim, activation="sigmoid"))
    model.add(Dense(vocab_size, activation="sigmoid"))
    sgd = SGD(learning_rate=1.0)
    model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
    return model


def _get_callbacks():
    earlystop = EarlyStopping(monitor="val_loss", min_delta=0.0001, patience=10, verbose=2)
    reducelr = ReduceLROnPlateau(monitor="val_loss", factor=0.1, patience=5, verbose=2)
    return [earlystop, reducelr]


model = make_model()
history = model.fit(X, y, epochs=15, callbacks=_get_callbacks(), validation_split=0.1,
                    verbose=0, batch_size=300)
print("loss", [round(v, 4) for v in history.history["loss"]])
print("accuracy", [round(v, 4) for v in history.history["accuracy"]])
