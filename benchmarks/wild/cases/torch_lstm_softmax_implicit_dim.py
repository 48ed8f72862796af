"""Stack Overflow 61781193: an Embedding-LSTM-MLP author classifier whose output goes through
F.softmax without dim on the LSTM's (1, batch, 3) hidden state, then into CrossEntropyLoss."""
LABEL = {
    "source": "https://stackoverflow.com/questions/61781193",
    "question": "Why does my LSTM text classifier's loss stay at 1.0986 every epoch?",
    "changes": ["synthetic tokenized texts (vocabulary 200, 40 tokens, 3 authors whose word "
                "frequencies differ) instead of the poster's tokenized author dataset",
                "batch size 64, 4 epochs instead of 10, cpu instead of cuda, tqdm dropped",
                "seeded; reproduction: github.com/mehilshah/Bug_Reproducibility_DL_Bugs Bugs/060"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "LSTM",
    "fast": False,
    "expected": [{"kind": "no_gradient",
                  "where": ["lin3.weight", "embd.weight"],
                  "step_max": 0},
                 {"kind": "loss_not_decreasing", "where": []}],
    "allowed": ["stalled_weights", "vanishing_gradient"],
    "root_cause": "no_gradient",
    "why": "F.softmax without dim takes dim 0 of the (1, batch, 3) hidden state, an axis of size"
           " 1, so every output is exactly 1.0: the loss is exactly ln 3 whatever the weights, "
           "every gradient is exactly zero from the first step, and the weights move only by "
           "AdamW's decay",
    "measured": {"loss_start": 1.1, "loss_end": 1.1, "best_constant": 1.1, "grad_max_any": 0.0,
                 "update_over_w_lin1": 0.0001},
}

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)
VOCAB, LENGTH, N = 200, 40, 1000
author_words = torch.rand(3, VOCAB) ** 4  # each author favours different words
target = torch.randint(0, 3, (N,))
feature = torch.multinomial(author_words[target], LENGTH, replacement=True)
train_data = torch.utils.data.TensorDataset(feature, target)
author_dataloader = torch.utils.data.DataLoader(train_data, batch_size=64, shuffle=True)


class Model(nn.Module):
    def __init__(self, tokenize_vocab_count):
        super().__init__()
        self.embd = nn.Embedding(tokenize_vocab_count + 1, 300)
        self.embd_dropout = nn.Dropout(0.3)
        self.LSTM = nn.LSTM(input_size=300, hidden_size=100, dropout=0.3, batch_first=True)
        self.lin1 = nn.Linear(100, 1024)
        self.lin2 = nn.Linear(1024, 512)
        self.lin_dropout = nn.Dropout(0.8)
        self.lin3 = nn.Linear(512, 3)

    def forward(self, inp):
        inp = self.embd_dropout(self.embd(inp))
        inp, (h_t, h_o) = self.LSTM(inp)
        h_t = F.relu(self.lin_dropout(self.lin1(h_t)))
        h_t = F.relu(self.lin_dropout(self.lin2(h_t)))
        out = F.softmax(self.lin3(h_t))
        return out


model = Model(VOCAB)

optimizer = optim.AdamW(model.parameters(), lr=1e-2)
loss_fn = nn.CrossEntropyLoss()

EPOCH = 4

for epoch in range(0, EPOCH):
    for feature, target in author_dataloader:
        train_loss = loss_fn(model(feature).view(-1, 3), target)
        optimizer.zero_grad()
        train_loss.backward()
        optimizer.step()
    print(f"epoch: {epoch + 1}\tTrain Loss : {train_loss}")
