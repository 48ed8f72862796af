"""Transformer with AdamW at lr 1e-8 (a scheduler's min lr passed as the lr)."""
import torch
import torch.nn as nn

LABEL = {
    "category": "positive",
    "architecture": "transformer",
    "fast": False,
    "expected": [
        {"kind": "stalled_weights", "where": ["embed.weight"], "step_max": 10},
        {"kind": "loss_not_decreasing", "where": []},
    ],
    "root_cause": "stalled_weights",
    "why": "Adam moves each element by ~lr = 1e-8 per step, ~1e-7 of the weights' size: the "
           "model is frozen in practice and the loss stays flat",
    "measured": {"loss_start": 0.703, "loss_end": 0.707, "update_over_w_embed": 2.41e-09,
                 "update_over_w_max_nonzero_init": 7.78e-08,
                 "update_over_w_zero_init_biases": 0.0137},
}

torch.manual_seed(48)
VOCAB, LEN = 20, 12


class Tiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.out = nn.Linear(32, 2)

    def forward(self, t):
        return self.out(self.encoder(self.embed(t)).mean(1))


model = Tiny()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-8)
for step in range(300):
    tokens = torch.randint(0, VOCAB, (64, LEN))
    labels = (tokens == 5).any(dim=1).long()
    loss = nn.functional.cross_entropy(model(tokens), labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
