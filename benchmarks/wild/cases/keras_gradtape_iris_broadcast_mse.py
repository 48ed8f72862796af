"""A Korean TensorFlow 2 course's "GradientTape + regression model (iris)": a tf.keras.Model
with raw tf.Variable weights W (3, 1) and B (1,), trained by a hand-written GradientTape loop
with SGD to predict sepal length from the other three iris measurements.

The predictions have shape (105, 1) and the targets `iris.data[:, 0]` shape (105,), so
`model(inputs) - outputs` broadcasts to a 105x105 matrix: every prediction is compared with
every target, and the loss is minimized by predicting the targets' mean for every flower (the
loss floors at their variance). Another copy of the same lecture file records the outcome:
"r2 = -0.349987 ... 모델 성능 구림 : 튜닝 필요" (model performance poor: needs tuning).
"""
from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split
from sklearn.metrics import mean_squared_error, r2_score
import tensorflow as tf

LABEL = {
    "framework": "keras",
    "source": "https://github.com/DominKim/Tensorflow_DNN_CNN_RNN_Basic/blob/"
              "189ffc260640b6d5eeaf5af2d51c37c6886ee73f/chap03_Linear_Regression/lecture_2x/"
              "step03_gradientTape_model2_iris.py",
    "question": "Why does my GradientTape linear regression on iris end with a negative test R^2?",
    "changes": ["pandas import dropped (unused); the last print shows r2 instead of mse again",
                "Korean comments shortened to English"],
    "pair": None,
    "category": "positive",
    "architecture": "linear regression",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "loss_not_decreasing",
    "why": "(105, 1) - (105,) broadcasts to all 105x105 prediction/target pairs, whose mean "
           "squared error is the variance of the targets (0.628, the best constant's loss) "
           "plus the spread of the predictions around their mean: the loss falls from 262 to "
           "1.3 within 10 steps and then crawls (1.06 over the first 10% of the 500 steps, "
           "0.821 over the last, 1.31x the best constant), so W learns nothing a constant "
           "could not (test R^2 0.22; the same loop with the targets reshaped to (105, 1) "
           "reaches 0.12 and R^2 0.85). Both variables keep moving ~6e-4 of their norm a step",
    "measured": {"loss_start": 1.06, "loss_end": 0.821, "loss_first": 262.0,
                 "best_constant_loss": 0.628, "loss_end_over_best_constant": 1.31,
                 "update_over_w": 0.000681},
}


# 1. input/output variables
iris = load_iris()
inputs = iris.data[:, 1:]
outputs = iris.data[:, 0]
inputs.shape  # (150, 3) : X
outputs.shape  # (150,)  : Y

x_train, x_test, y_train, y_test = train_test_split(
    inputs, outputs, test_size=0.3, random_state=123)

tf.random.set_seed(123)  # W, B seed


# 2. model : Model class
class Model(tf.keras.Model):  # subclass(parent)
    def __init__(self):  # constructor
        super().__init__()  # parent constructor
        self.W = tf.Variable(tf.random.normal([3, 1]))  # slope (weights)
        self.B = tf.Variable(tf.random.normal([1]))  # intercept

    def call(self, inputs):  # override
        # cast() : float64 -> float32
        return tf.matmul(tf.cast(inputs, tf.float32), self.W) + self.B  # regression formula


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
for step in range(500):
    grad = gradient(model, x_train, y_train)  # gradients
    opt.apply_gradients(zip(grad, [model.W, model.B]))
    if (step + 1) % 20 == 0:
        print("step = {}, loss = {}".format(step + 1,
                                            loss(model, x_train, y_train)))

print("final loss : {:.6f}".format(loss(model, x_train, y_train)))
print("w : {}, b : {}".format(model.W.numpy(), model.B.numpy()))

# model test : test
y_pred = model.call(x_test)

mse = mean_squared_error(y_test, y_pred)
print("mse =", mse)

r2 = r2_score(y_test, y_pred)
print("r2 =", r2)
