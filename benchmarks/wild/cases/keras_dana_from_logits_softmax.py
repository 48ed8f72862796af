"""mmalekzadeh/dana, experiment/DANA_a_tutorial.ipynb at 547f663 (before the fix): the
Ordonez2016 DeepConvLSTM (4 Conv2D(64,(5,1)) relu -> 2 LSTM(128) -> Dense(6, softmax)) trained by
a GradientTape loop with SparseCategoricalCrossentropy(from_logits=True), i.e. on softmax
outputs, Adam(), balanced class sample weights. Issue 1 reports it; commit 02cce81 sets
from_logits=False."""
LABEL = {
    "framework": "keras",
    "source": "https://github.com/mmalekzadeh/dana/issues/1",
    "question": "from_logits=True on a model whose output layer is a softmax: does the "
                "DeepConvLSTM still learn?",
    "changes": ["UCI HAR X_train.npy (downloaded at run time) replaced by seeded synthetic "
                "windows of the same shape (128 x 6 streams, 6 classes) and range "
                "(_har_data.har_like), 1408 windows (10% kept for validation as in the notebook)",
                "2 epochs instead of 500, no checkpoint saving, keras.utils.set_random_seed(0); "
                "sklearn compute_class_weight called with keywords (current scikit-learn)"],
    "pair": None,
    "architecture": "CNN",
    "fast": False,
    "category": 'healthy',
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "Keras 3's sparse_categorical_crossentropy sees that the output was produced by a Softmax activation and, though from_logits=True, uses its logits (it only warns), so the bug is inert here: the loss falls from 1.81 to 0.0119 in 18 steps (best constant 1.79)",
    "measured": {'loss_start': 1.81, 'loss_end': 0.0119, 'best_constant_loss': 1.79, 'steps': 18},
}
import numpy as np
import tensorflow as tf
import keras
from keras.layers import Input, Conv2D, Reshape, LSTM, Dropout, Dense
from sklearn.utils import class_weight

from _har_data import har_like

FROM_LOGITS = True
keras.utils.set_random_seed(0)

X_train, Y_train = har_like(1408, channels=6, seed=1)
rnd_seed = 0
tf.random.set_seed(rnd_seed)
indices = np.random.RandomState(seed=rnd_seed).permutation(len(X_train))
X_train = X_train[indices]
Y_train = Y_train[indices]
data_class_weights = class_weight.compute_class_weight('balanced', classes=np.arange(6), y=Y_train)
data_class_weights = dict(zip(range(len(data_class_weights)), data_class_weights.round(2)))


def Ordonez2016DeepOriginal(inp_shape, out_shape):
    nb_filters = 64
    drp_out_dns = .5
    nb_dense = 128
    inp = Input(inp_shape)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(inp)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(x)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(x)
    x = Conv2D(nb_filters, kernel_size=(5, 1), strides=(1, 1), padding='valid', activation='relu')(x)
    x = Reshape((x.shape[1], x.shape[2] * x.shape[3]))(x)
    act = LSTM(nb_dense, return_sequences=True, activation='tanh', name="lstm_1")(x)
    act = Dropout(drp_out_dns, name="dot_1")(act)
    act = LSTM(nb_dense, activation='tanh', name="lstm_2")(act)
    act = Dropout(drp_out_dns, name="dot_2")(act)
    out_act = Dense(out_shape, activation='softmax', name="act_smx")(act)
    model = keras.models.Model(inputs=inp, outputs=out_act)
    return model


X_train = np.expand_dims(X_train, 3)
w = X_train.shape[1]
h = X_train.shape[2]
org_model = Ordonez2016DeepOriginal((w, h, 1), len(np.unique(Y_train)))


def standard_training(model, X_train, Y_train, X_val, Y_val, data_class_weights,
                      batch_size=128, num_epochs=128, save_dir=None):
    loss_fn = tf.keras.losses.SparseCategoricalCrossentropy(from_logits=FROM_LOGITS)
    optimizer = tf.keras.optimizers.Adam()
    best_val_accuracy = 0.
    for epoch in range(num_epochs):
        train_dataset = tf.data.Dataset.from_tensor_slices((X_train, Y_train))
        train_dataset = iter(train_dataset.shuffle(len(X_train)).batch(batch_size))
        n_iterations_per_epoch = len(X_train) // (batch_size)
        epoch_loss_avg = tf.keras.metrics.Mean()
        for i in range(n_iterations_per_epoch):
            with tf.GradientTape() as tape:
                X, Y = next(train_dataset)
                sample_weight = [data_class_weights[y] for y in Y.numpy()]
                logits = model(X)
                loss_value = loss_fn(Y, logits, sample_weight)
            gradients = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(gradients, model.trainable_weights))
            epoch_loss_avg.update_state(loss_value)
        val_accuracy = tf.keras.metrics.Accuracy()
        logits = model(X_val, training=False)
        prediction = tf.argmax(logits, axis=1, output_type=tf.int32)
        val_accuracy(prediction, Y_val)
        current_val_acc = val_accuracy.result()
        if current_val_acc > best_val_accuracy:
            best_val_accuracy = current_val_acc
        print("Epoch {} -- Training Loss = {:.4f} -- Validation Accuracy {:.4f}".format(
            epoch, epoch_loss_avg.result(), current_val_acc))
    print("Best Validation Accuracy {:.4f}".format(best_val_accuracy))
    return model


org_model = standard_training(org_model,
                              X_train[len(X_train) // 10:], Y_train[len(X_train) // 10:],
                              X_train[:len(X_train) // 10], Y_train[:len(X_train) // 10],
                              data_class_weights, batch_size=128, num_epochs=2)
