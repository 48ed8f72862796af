"""cpuheater/pytorch_examples, timeseries/LSTM.py: a one-layer nn.LSTM(1, 5) reads windows of 7
months of the Lake Erie level series (min-max scaled to [0, 1]), nn.Linear(5, 1) predicts the next
month from the last hidden state; MSELoss, full-batch Adam 0.01 for 400 epochs on the first 70% of
the 592 windows."""
LABEL = {
    "source": "https://github.com/cpuheater/pytorch_examples/blob/master/timeseries/LSTM.py",
    "question": "A blog's LSTM time-series example (monthly Lake Erie levels, 1921-1970): does it "
                "train?",
    "changes": ["the repository's 600-value CSV (monthly-lake-erie-levels-1921-19.csv) inlined "
                "as a string instead of pandas.read_csv; MinMaxScaler replaced by the same "
                "(x - min) / (max - min) in numpy",
                "the plots and the test-set prediction dropped; torch.manual_seed(0) added (the "
                "script seeds nothing); 400 epochs kept"],
    "pair": None,
    "framework": "torch",
    "category": "healthy",
    "architecture": "LSTM regressor (1 layer, 5 units)",
    "fast": False,
    "expected": [],
    "allowed": [],
    "root_cause": None,
    "why": "it trains: the MSE falls from 0.179 at the first step to 0.0027 over the last 40 "
           "of 400 full-batch steps, 0.058x the best constant prediction's (the scaled "
           "targets' variance, 0.046); Adam moves every tensor 0.05-0.8% of its norm per step "
           "to the end, the gradients shrink ~60x (|g|/|w| of lstm.weight_ih_l0 0.078 -> "
           "0.0013 median) because the fit converges, not because anything stalls; no NaN, "
           "no silent fc input. The inputs and targets are created with requires_grad=True "
           "and h_0/c_0 too: gradients flow into those data tensors too, harmlessly (no "
           "optimizer holds them)",
    "measured": {"loss_start": 0.0349, "loss_end": 0.00269, "loss_first": 0.179,
                 "best_constant": 0.0463, "end_over_best": 0.0582, "update_over_w_min": 0.000465,
                 "update_over_w_max": 0.00847, "steps": 400},
}
import numpy as np
import torch
import torch.nn as nn

torch.manual_seed(0)

# monthly-lake-erie-levels-1921-19.csv, column 2, in file order
ERIE = """
14.763 14.649 15.085 16.376 16.926 16.774 16.49 15.769 15.18 14.383 14.478 14.364 13.928 13.283
13.7 15.465 16.243 16.49 16.243 15.787 15.446 14.649 13.776 13.188 13.283 12.657 12.979 13.909
14.535 14.877 14.858 14.288 13.947 13.416 12.903 13.454 13.491 13.567 13.397 14.44 15.161 15.427
15.693 15.142 14.763 14.288 13.074 12.543 12.239 12.011 12.827 13.567 13.548 13.302 13.188
13.112 12.827 12.201 11.917 11.803 11.157 10.892 11.12 12.6 13.283 13.416 13.34 13.529 13.776
14.307 13.852 13.833 13.169 12.941 13.188 14.383 14.763 15.218 15.161 14.858 14.156 13.586 13.15
14.137 14.231 14.364 13.833 14.478 15.009 15.617 16.148 15.977 15.142 14.592 14.364 14.497
14.554 14.991 15.863 17.932 19.184 19.184 18.956 18.254 17.514 16.66 16.338 16.319 17.457 17.173
17.856 18.596 18.558 18.159 17.685 16.812 16.072 15.332 14.478 14.213 13.738 13.169 12.581
13.245 13.852 14.175 14.288 13.985 13.435 12.884 12.429 12.41 13.397 13.909 13.833 14.099 14.687
14.611 14.383 13.909 13.359 12.296 12.106 11.803 12.353 12.22 12.827 14.25 15.085 14.953 14.44
13.89 13.036 12.201 11.404 11.309 10.987 10.361 10.304 11.347 11.784 11.841 11.841 11.651 11.404
10.873 10.209 10.076 10.247 10.133 10.74 11.556 12.201 12.505 12.732 12.201 12.068 11.29 11.139
11.101 10.342 10 11.347 12.77 13.321 13.34 13.188 12.676 12.315 12.049 11.594 11.252 12.467
13.491 13.491 14.156 15.256 15.598 16.034 15.598 14.516 13.435 12.638 12.106 12.144 12.979
11.917 15.066 15.199 15.427 15.427 15.408 14.706 14.137 13.302 12.979 13.036 12.903 13.719
14.801 15.541 15.617 15.503 15.218 14.592 13.852 13.416 13.055 12.315 12.239 12.562 13.89 14.687
15.313 15.408 15.028 14.782 14.213 13.435 13.662 14.288 13.491 13.15 13.586 13.871 14.175 14.099
13.719 13.093 12.562 12.03 12.144 11.86 12.41 12.77 14.63 15.218 15.92 15.882 15.75 15.275
14.801 14.554 14.345 15.104 14.554 14.953 15.958 17.59 18.805 18.805 18.33 17.476 16.812 16.224
15.541 14.744 14.478 14.725 16.319 17.324 17.609 17.211 16.546 15.977 15.427 14.972 14.535
14.213 13.719 15.009 16.319 17.078 17.913 18.159 17.704 17.059 17.268 16.546 16.072 15.996
15.294 15.901 16.3 16.546 17.495 17.666 16.964 16.148 15.427 14.839 14.269 14.118 14.156 14.08
16.414 18.216 19.298 18.824 18.368 17.875 16.869 16.129 15.712 15.617 15.161 16.148 17.609
18.406 18.463 18.254 17.609 16.812 15.712 15.066 14.763 14.877 15.37 15.731 15.996 16.224 16.186
16.015 15.446 14.573 14.08 13.226 12.979 14.459 15.655 15.636 17.154 17.381 17.116 16.736 16.167
15.92 15.408 15.066 15.769 15.787 15.863 17.154 18.178 18.653 18.615 18.406 17.837 17.078 16.471
16.224 16.395 17.4 18.672 19.089 19.829 20 19.943 19.526 18.975 18.463 17.268 16.414 16.414
16.755 16.736 17.173 17.647 18.216 18.767 18.539 18.273 17.419 16.679 15.996 15.465 15.408
15.123 16.072 17.685 18.235 18.064 17.818 17.438 16.812 17.116 17.211 17.097 17.495 17.097
18.121 18.748 18.767 18.539 18.102 17.818 17.002 16.357 15.56 15.313 14.782 13.719 14.839 15.825
17.324 17.723 17.685 17.514 16.907 15.863 14.934 14.706 14.383 14.345 14.763 15.958 16.698
16.793 17.23 16.509 15.787 14.991 14.08 14.326 14.497 13.51 13.662 14.042 14.269 14.478 14.972
14.972 14.573 13.776 13.017 12.6 12.296 13.131 13.966 15.028 15.844 15.769 15.237 14.801 14.137
13.89 13.416 13.871 14.478 14.725 14.763 15.806 16.565 17.097 17.306 17.211 16.717 15.787 14.801
14.231 13.966 14.004 15.313 16.357 17.742 17.609 17.249 17.078 16.509 15.465 14.706 14.213
13.662 13.928 14.516 15.18 15.351 15.579 15.446 15.199 14.725 14.383 14.231 13.776 13.15 12.713
13.283 14.478 14.858 14.782 14.307 14.023 13.529 12.922 12.41 11.936 11.784 11.992 12.619 13.662
14.231 14.099 13.833 13.416 12.922 11.974 11.461 11.423 11.86 12.163 13.226 13.966 14.535 14.516
14.231 13.966 13.738 13.226 12.998 13.131 13.7 13.814 14.383 15.047 15.693 15.844 15.712 15.313
14.763 13.548 13.586 14.516 14.383 14.497 14.744 15.806 16.527 16.546 16.717 16.433 15.769
15.275 15.123 15.541 15.825 16.376 16.357 16.907 17.021 17.419 17.533 17.268 16.603 15.825
15.446 15.636 15.693 16.755 16.509 17.723 18.691 19.127 19.564 19.203 18.216 17.211 16.66 16.831
15.769 15.731 15.996 17.021 17.552 17.837 17.856 17.571 17.078 16.66 16.433 16.584
"""
training_set = np.array([float(v) for v in ERIE.split()]).reshape(-1, 1)

training_data = (training_set - training_set.min(0)) / (training_set.max(0) - training_set.min(0))


def sliding_windows(data, seq_length):
    x = []
    y = []

    for i in range(len(data)-seq_length-1):
        _x = data[i:(i+seq_length)]
        _y = data[i+seq_length]
        x.append(_x)
        y.append(_y)

    return np.array(x),np.array(y)


seq_length = 7
learning_rate = 0.01
input_size = 1
hidden_size = 5
num_classes = 1
num_layers = 1
num_epochs = 400

x, y = sliding_windows(training_data, seq_length)

train_size = int(len(y) * 0.7)
test_size = len(y) - train_size
trainX = torch.tensor(np.array(x[0:train_size]), requires_grad=True, dtype=torch.float)
testX = torch.tensor(np.array(x[train_size:len(x)]), requires_grad=True, dtype=torch.float)
trainY = torch.tensor(np.array(y[0:train_size]), requires_grad=True, dtype=torch.float)
testY = torch.tensor(np.array(y[train_size:len(y)]), requires_grad=True, dtype=torch.float)


class LSTM(nn.Module):

    def __init__(self, num_classes, input_size, hidden_size, num_layers):
        super(LSTM, self).__init__()
        self.num_classes = num_classes
        self.num_layers = num_layers
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.seq_length = seq_length
        self.lstm = nn.LSTM(input_size=input_size, hidden_size=hidden_size,
                            num_layers=num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h_0 = torch.zeros((
            self.num_layers, x.size(0), self.hidden_size), requires_grad=True)
        c_0 = torch.zeros((
            self.num_layers, x.size(0), self.hidden_size), requires_grad=True)
        # Propagate input through LSTM
        ula, (h_out, _) = self.lstm(x, (h_0, c_0))
        h_out = h_out.view(-1, self.hidden_size)
        out = self.fc(h_out)
        return out


lstm = LSTM(num_classes, input_size, hidden_size, num_layers)

criterion = torch.nn.MSELoss()    # mean-squared error for regression
optimizer = torch.optim.Adam(lstm.parameters(), lr=learning_rate)

# Train the model
for epoch in range(num_epochs):
    outputs = lstm(trainX)
    optimizer.zero_grad()
    # obtain the loss function
    loss = criterion(outputs, trainY)
    loss.backward()
    optimizer.step()
    if epoch % 20 == 0:
        print("Epoch: %d, loss: %1.5f" % (epoch, loss.item()))
