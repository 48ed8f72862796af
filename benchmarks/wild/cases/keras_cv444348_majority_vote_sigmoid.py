"""Cross Validated 444348 ("Learning a simple majority-vote model with a neural network"): the
poster's fixed program, Dense(10, relu) -> Dense(1, sigmoid), RMSprop, binary cross-entropy,
300 epochs, on 100 cases of 3 binary predictors whose label is their majority vote.

The poster's edit: "in this model, softmax always predicts 1. I changed to sigmoid activation
as I had used originally ... With these bugs fixed, and epochs cranked up to 300, I'm now getting
99% accuracy." The data are the poster's own 100 cases, written out in the question.
"""
import numpy as np

LABEL = {
    "framework": "keras",
    "source": "https://stats.stackexchange.com/questions/444348",
    "question": "Why does my Keras network learn a 3-input majority vote worse than logistic "
                "regression? (the poster's fixed version)",
    "changes": ["only the first of the ten cross-validation folds is fit (the loop over folds "
                "runs once: one model, 300 epochs of 5 steps)",
                "keras.utils.set_random_seed(0) before the model (the post seeds only NumPy, "
                "for the folds)",
                "a keras.Input(shape=(3,)) first (Keras 3 builds on the first call either way), "
                "X cast to float32; verbose=0 for predict"],
    "pair": None,
    "category": "healthy",
    "architecture": "MLP",
    "fast": False,
    "expected": [],
    "allowed": ["dead_units"],
    "root_cause": None,
    "why": ("trains: the loss goes from 0.706 (first 10% of the 1,500 steps) to 0.062 (last 10%), "
           "0.096x the best constant (0.644); training and held-out fold accuracy 100%. 3 of the "
           "10 ReLU units are never positive at step 0 and 2 still at the end (true of the run, "
           "harmless: allowed)"),
    "measured": {"loss_first": 0.852, "loss_start": 0.706, "loss_end": 0.0619, "best_constant_loss": 0.644,
                 "loss_end_over_best_constant": 0.0962, "dead_dense_step0": 0.3,
                 "dead_dense_end": 0.2},
}

X = np.array([[c == '1' for c in line] for line in [
    '1101111111011111111111111111111100011010111110010011111111111111011111110111111111111101111111111110',
    '0011111001000001011010001011000100010001110011011101111111110000111111001001001001110011011101111000',
    '0111101111010000000000111110001101000010110000101111010111100110010110000110011000001010000000000110']])
X = X.T.astype("float32")
n_cases = X.shape[0]

y = np.sum(X, axis = 1) > 1

np.random.seed(123)
n_folds = 10
folds = np.repeat(range(n_folds), np.ceil(n_cases / n_folds))[
    range(n_cases)]
np.random.shuffle(folds)

y_pred = np.zeros_like(y)

for fold_i in range(n_folds)[:1]:
    print("Fold", fold_i)

    import os; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import keras
    from tensorflow.keras.models import Sequential
    from tensorflow.keras.layers import Dense, Activation

    keras.utils.set_random_seed(0)
    model = Sequential([
        keras.Input(shape=(3,)),
        Dense(10, activation = "relu"),
        Dense(1, activation = "sigmoid")])
    model.compile(
        optimizer = "rmsprop",
        loss = "binary_crossentropy")
    history = model.fit(
        X[folds != fold_i],
        y[folds != fold_i],
        verbose = False,
        epochs = 300,
        batch_size = np.sum(folds != fold_i) // 5 + 1)
    print("loss first/last", history.history["loss"][0], history.history["loss"][-1])

    print("Training accuracy:", np.mean(
       y[folds != fold_i] == (model.predict(X[folds != fold_i], verbose=0)[:,0] > .5)))

    y_pred[folds == fold_i] = (model.predict(X[folds == fold_i], verbose=0)[:,0] > .5)

print(np.mean(y_pred[folds == 0] == y[folds == 0]))
