"""A tiny transformer encoder classifying token sequences (does token 7 appear?)."""
import torch
import torch.nn as nn

LABEL = {
    "category": "healthy",
    "architecture": "transformer",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "2-layer nn.TransformerEncoder d_model 32, mean pooling, AdamW 1e-3: loss drops well",
    "measured": {"loss_start": 0.506, "loss_end": 0.000486, "max_update_over_w": 0.00217},
}

torch.manual_seed(5)
VOCAB, LEN = 20, 12


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        self.pos = nn.Parameter(torch.randn(1, LEN, 32) * 0.02)
        layer = nn.TransformerEncoderLayer(d_model=32, nhead=4, dim_feedforward=64,
                                           dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.classifier = nn.Linear(32, 2)

    def forward(self, tokens):
        h = self.encoder(self.embed(tokens) + self.pos)
        return self.classifier(h.mean(dim=1))


def batch(n=64):
    tokens = torch.randint(0, VOCAB, (n, LEN))
    return tokens, (tokens == 7).any(dim=1).long()


model = TinyTransformer()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
criterion = nn.CrossEntropyLoss()
for step in range(400):
    x, y = batch()
    loss = criterion(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print("step", step, "loss", loss.item())
