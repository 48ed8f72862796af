"""Transformer classifier with a 'pooler' layer that forward() forgot to call."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "transformer",
    "fast": False,
    "expected": [{"kind": "no_gradient", "where": ["pooler.weight", "pooler.bias"],
                  "step_max": 0}],
    "root_cause": "no_gradient",
    "why": "pooler is registered and optimized but its output is never computed, so its "
           ".grad stays None at every step; the rest of the model trains",
    "measured": {"loss_start": 0.611, "loss_end": 0.000909,
                 "never_grad": ['pooler.bias', 'pooler.weight']},
}

torch.manual_seed(42)
VOCAB, LEN = 20, 12


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.pooler = nn.Linear(32, 32)
        self.classifier = nn.Linear(32, 2)

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens))
        pooled = h.mean(dim=1)  # meant: torch.tanh(self.pooler(h[:, 0]))
        return self.classifier(pooled)


model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
for step in range(300):
    tokens = torch.randint(0, VOCAB, (64, LEN))
    labels = (tokens == 3).any(dim=1).long()
    loss = nn.functional.cross_entropy(model(tokens), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
