"""TF1 two-layer network without a nonlinearity asked to learn XOR: the loss stops at 0.25.

Stack Overflow 42191656 ("TensorFlow: my network can't learn XOR"): Yhat = (X W + c) w + b,
mean squared error, Adam at 0.01, 100 full-batch steps. Two stacked linear maps are one linear
map, and the best linear fit of XOR is the constant 0.5, whose squared error is the targets'
variance, 0.25. (The accepted answer only fixed the accuracy computation; the model stays
linear, so the loss can never get below predicting the mean.)
"""
import tensorflow.compat.v1 as tf

tf.disable_v2_behavior()

LABEL = {
    "framework": "tf1",
    "source": "https://stackoverflow.com/questions/42191656",
    "question": "Why does my two-layer TensorFlow network not learn XOR (loss stuck at 0.25)?",
    "changes": ["import tensorflow.compat.v1 as tf + disable_v2_behavior() for TF 2.21",
                "prints the loss every 10 steps instead of every step with the predictions"],
    "pair": None,
    "category": "positive",
    "architecture": "linear MLP",
    "fast": False,
    "expected": [{"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights"],
    "root_cause": "loss_not_decreasing",
    "why": "a composition of linear layers is linear; XOR's best linear fit is the constant 0.5, "
           "so the loss settles at the targets' variance (0.25), the best-constant level",
    "measured": {"loss_first": 0.467, "loss_start": 0.405, "loss_end": 0.251,
                 "best_constant_loss": 0.25, "loss_end_over_best_constant": 1.01},
    "measure": "--reference mse:y",
}

tf.set_random_seed(20180130)

x_data = [[0., 0.], [0., 1.], [1., 0.], [1., 1.]]
y_data = [[0], [1], [1], [0]]

X = tf.placeholder(tf.float32, shape=[4, 2], name='x')
Y = tf.placeholder(tf.float32, shape=[4, 1], name='y')

W = tf.Variable(tf.random_uniform([2, 2], -1, 1), name='W')
c = tf.Variable(tf.zeros([2]), name='c')
w = tf.Variable(tf.random_uniform([2, 1], -1, 1), name='w')
b = tf.Variable(tf.zeros([1]), name='b')

H1 = tf.matmul(X, W) + c
Yhat1 = tf.matmul(H1, w) + b

cross_entropy1 = tf.reduce_mean(tf.square(Y - Yhat1))

step1 = tf.train.AdamOptimizer(0.01).minimize(cross_entropy1)

graph1 = tf.initialize_all_variables()
sess1 = tf.Session()
sess1.run(graph1)

for i in range(100):
    _, loss, yhat = sess1.run([step1, cross_entropy1, Yhat1], feed_dict={X: x_data, Y: y_data})
    if i % 10 == 0:
        print("loss %g" % loss)

corrects = tf.equal(tf.greater(Y, 0.5), tf.greater(Yhat1, 0.5))
accuracy = tf.reduce_mean(tf.cast(corrects, tf.float32))
r = sess1.run(accuracy, feed_dict={X: x_data, Y: y_data})
print('accuracy: ' + str(r * 100) + '%')
