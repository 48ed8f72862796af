"""Bag-of-words classifier with a 5000-row embedding: each batch touches a few dozen rows."""
import torch
import torch.nn as nn

LABEL = {
    "category": "confounder",
    "confounder": "embedding rows absent from a batch",
    "architecture": "embedding",
    "fast": True,
    "expected": [],
    "root_cause": None,
    "why": "most embedding rows get a zero gradient at any one step (their tokens are not in "
           "the batch, and 4000 rows are never used); the used rows learn and the loss falls",
    "measured": {"loss_start": 0.656, "loss_end": 0.0047, "embedding_g_over_w": 0.000228,
                 "embedding_update_over_w": 0.000987},
}

torch.manual_seed(17)
VOCAB, USED = 5000, 1000
topic_words = torch.randint(0, USED, (2, 50))  # words typical of each class


def batch(n=32, length=10):
    y = torch.randint(0, 2, (n,))
    typical = topic_words[y][:, torch.randint(0, 50, (length // 2,))]
    common = torch.randint(0, USED, (n, length - length // 2))
    return torch.cat([typical, common], dim=1), y


class BagOfWords(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.EmbeddingBag(VOCAB, 16, mode="mean")
        self.fc = nn.Linear(16, 2)

    def forward(self, tokens):
        return self.fc(self.embedding(tokens))


model = BagOfWords()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for step in range(400):
    x, y = batch()
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
