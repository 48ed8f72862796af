"""bentrevett/pytorch-sentiment-analysis, "1 - Simple Sentiment Analysis": nn.Embedding(25002,
100) -> nn.RNN(100, 256) (tanh, sequence-first) -> nn.Linear(256, 1) on the last hidden state,
BCEWithLogitsLoss, SGD lr 1e-3, batches of 64 IMDB reviews, 5 epochs."""
LABEL = {
    "source": "https://github.com/bentrevett/pytorch-sentiment-analysis/blob/main/legacy/1%20-%20Simple%20Sentiment%20Analysis.ipynb",
    "question": "The tutorial's first model: an Elman RNN over word embeddings trained with plain "
                "SGD at 1e-3; its own output shows train loss 0.693 and 50% accuracy every epoch.",
    "changes": ["_wild_data.imdb_like (1,600 seeded Zipf-like reviews of 80 word indices, shorter than IMDB's for CPU time, 15% "
                "sentiment-band words) instead of torchtext's IMDB download with spaCy "
                "tokenization; vocabulary 25,002 as in the notebook; batches of 64 "
                "sequence-first tensors (BucketIterator's layout)",
                "the validation/test passes and checkpoint saving dropped; 5 epochs kept "
                "(25 batches each, 125 steps; the notebook had 274 a epoch)"],
    "pair": None,
    "framework": "torch",
    "category": "positive",
    "architecture": "Embedding + RNN classifier",
    "fast": False,
    "expected": [{'kind': 'loss_not_decreasing', 'where': []}, {'kind': 'stalled_weights', 'where': ['embedding.weight']}],
    "allowed": [],
    "root_cause": 'stalled_weights',
    "why": "plain SGD at 1e-3 barely moves anything but the output layer: the 25,002x100 embedding moves 7.3e-9 of its norm per step (|g|/|w| 7e-6: only the rows of the batch's words get a gradient), the recurrent weights 2-6e-5, fc 6e-4; the loss stays at the best constant prediction's ln 2 for all 125 steps (0.695 -> 0.692, end/best 0.999), as the notebook's own 0.693 / 50% every epoch",
    "measured": {'loss_start': 0.695, 'loss_end': 0.692, 'best_constant': 0.692, 'end_over_best': 0.999, 'embedding_update_ratio': 7.29e-09, 'rnn_weight_hh_update_ratio': 2.33e-05, 'rnn_weight_ih_update_ratio': 6.22e-05, 'fc_update_ratio': 0.000596, 'steps': 125},
}
import numpy as np
import torch
import torch.nn as nn
import torch.optim as optim

from _wild_data import imdb_like

SEED = 1234
torch.manual_seed(SEED)

texts, labels = imdb_like(n=1600, maxlen=80, vocab=25002, seed=0)
texts = torch.from_numpy(texts).long()
labels = torch.from_numpy(labels).float()
BATCH_SIZE = 64


def train_iterator():
    order = torch.randperm(len(texts))
    for i in range(0, len(order), BATCH_SIZE):
        idx = order[i:i + BATCH_SIZE]
        yield texts[idx].t().contiguous(), labels[idx]  # text = [sent len, batch size]


class RNN(nn.Module):
    def __init__(self, input_dim, embedding_dim, hidden_dim, output_dim):
        super().__init__()
        self.embedding = nn.Embedding(input_dim, embedding_dim)
        self.rnn = nn.RNN(embedding_dim, hidden_dim)
        self.fc = nn.Linear(hidden_dim, output_dim)

    def forward(self, text):
        embedded = self.embedding(text)
        output, hidden = self.rnn(embedded)
        assert torch.equal(output[-1, :, :], hidden.squeeze(0))
        return self.fc(hidden.squeeze(0))


INPUT_DIM = 25002
EMBEDDING_DIM = 100
HIDDEN_DIM = 256
OUTPUT_DIM = 1
model = RNN(INPUT_DIM, EMBEDDING_DIM, HIDDEN_DIM, OUTPUT_DIM)
optimizer = optim.SGD(model.parameters(), lr=1e-3)
criterion = nn.BCEWithLogitsLoss()


def binary_accuracy(preds, y):
    rounded_preds = torch.round(torch.sigmoid(preds))
    correct = (rounded_preds == y).float()
    return correct.sum() / len(correct)


def train(model, iterator, optimizer, criterion):
    epoch_loss = 0
    epoch_acc = 0
    n = 0
    model.train()
    for text, label in iterator:
        optimizer.zero_grad()
        predictions = model(text).squeeze(1)
        loss = criterion(predictions, label)
        acc = binary_accuracy(predictions, label)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item()
        epoch_acc += acc.item()
        n += 1
    return epoch_loss / n, epoch_acc / n


N_EPOCHS = 5
for epoch in range(N_EPOCHS):
    train_loss, train_acc = train(model, train_iterator(), optimizer, criterion)
    print(f'Epoch: {epoch+1:02} | Train Loss: {train_loss:.3f} | Train Acc: {train_acc*100:.2f}%')
