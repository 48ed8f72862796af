"""The same Korean TensorFlow 2 course's previous step, "GradientTape + regression model": a
tf.keras.Model with raw tf.Variable weights W (1,) and B (1,) fit to y = 2x on three points by a
hand-written GradientTape loop with SGD at 0.01 for 300 steps.

Inputs and targets both have shape (3,), so each prediction meets its own target (the iris step
after it, keras_gradtape_iris_broadcast_mse, is where (105, 1) meets (105,)). The file records
its own run: "최종 손실값 : 0.000742 / w : [2.0316322], b : [-0.07190713]" (final loss).
"""
import tensorflow as tf

LABEL = {
    "framework": "keras",
    "source": "https://github.com/DominKim/Tensorflow_DNN_CNN_RNN_Basic/blob/"
              "189ffc260640b6d5eeaf5af2d51c37c6886ee73f/chap03_Linear_Regression/lecture_2x/"
              "step02_gradientTape_model.py",
    "question": "A course's GradientTape linear regression on raw tf.Variables (healthy "
                "control).",
    "changes": ["tf.random.set_seed(0) (the file sets none, so W and B start elsewhere every "
                "run)", "Korean comments shortened to English; the commented-out check of the "
                "first gradient left out", "model(2.5) -> model(tf.constant([2.5])) (Keras 3 takes only "
                "tensors as positional inputs)"],
    "pair": None,
    "category": "healthy",
    "architecture": "linear regression",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "trains: the loss falls steadily (~0.5% a step, no plateau) from 0.167 to 0.039, "
           "0.015x the best constant (the targets' variance, 2.67), predicting 4.95 for x = "
           "2.5; W and B move 5e-4 and 2e-3 of their norms a step to the end",
    "measured": {"loss_start": 0.155, "loss_end": 0.0422, "loss_first": 0.167,
                 "best_constant_loss": 2.67, "loss_end_over_best_constant": 0.0158,
                 "update_over_w": 0.00182},
}

tf.random.set_seed(0)

# 1. input/output variables
inputs = tf.Variable([1.0, 2.0, 3.0])  # x
outputs = tf.Variable([2.0, 4.0, 6.0])  # y


# 2. model : Model class
class Model(tf.keras.Model):  # subclass(parent)
    def __init__(self):  # constructor
        super().__init__()  # parent constructor
        self.W = tf.Variable(tf.random.normal([1]))  # slope (weight)
        self.B = tf.Variable(tf.random.normal([1]))  # intercept

    def call(self, inputs):  # override
        return inputs * self.W + self.B  # regression formula (prediction)


# 3. loss function : error
def loss(model, inputs, outputs):
    err = model(inputs) - outputs  # prediction - answer
    return tf.reduce_mean(tf.square(err))  # MSE


# 4. gradient
def gradient(model, inputs, outputs):
    with tf.GradientTape() as tape:
        loss_value = loss(model, inputs, outputs)  # loss
        grad = tape.gradient(loss_value, [model.W, model.B])
    return grad


# 5. model
model = Model()

# 6. optimizer
opt = tf.keras.optimizers.SGD(learning_rate=0.01)

print("initial loss : {:.6f}".format(loss(model, inputs, outputs)))
print("w : {}, b : {}".format(model.W.numpy(), model.B.numpy()))

# 7. train
for step in range(300):
    grad = gradient(model, inputs, outputs)  # gradients
    opt.apply_gradients(zip(grad, [model.W, model.B]))
    if (step + 1) % 20 == 0:
        print("step = {}, loss = {}".format(step + 1,
                                            loss(model, inputs, outputs)))

print("final loss : {:.6f}".format(loss(model, inputs, outputs)))
print("w : {}, b : {}".format(model.W.numpy(), model.B.numpy()))

# model test
y_pred = model(tf.constant([2.5]))  # x = 2.5
print("y_pred =", y_pred.numpy())
