"""A small language model whose output projection shares the embedding matrix (weight tying)."""
import torch
import torch.nn as nn

LABEL = {
    "category": "confounder",
    "confounder": "tied/shared parameters",
    "architecture": "GRU",
    "fast": False,
    "expected": [],
    "root_cause": None,
    "why": "decoder.weight is embed.weight (one tensor, two uses); sequences follow a fixed "
           "next-token rule with noise, and the loss falls",
    "measured": {"loss_start": 2.29, "loss_end": 0.957,
                 "optimized_tensors": 6, "decoder.weight_is_embed.weight": True},
}

torch.manual_seed(15)
VOCAB, DIM, LEN = 50, 32, 16


class TiedLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, DIM)
        self.rnn = nn.GRU(DIM, DIM, batch_first=True)
        self.decoder = nn.Linear(DIM, VOCAB)
        self.decoder.weight = self.embed.weight  # weight tying

    def forward(self, tokens):
        h, _ = self.rnn(self.embed(tokens))
        return self.decoder(h)


def batch(n=32):
    start = torch.randint(0, VOCAB, (n, 1))
    seq = (start + 3 * torch.arange(LEN + 1)) % VOCAB  # next token = token + 3
    noise = torch.rand(n, LEN + 1) < 0.1
    seq = torch.where(noise, torch.randint(0, VOCAB, seq.shape), seq)
    return seq[:, :-1], seq[:, 1:]


model = TiedLM()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(400):
    x, y = batch()
    logits = model(x)
    loss = nn.functional.cross_entropy(logits.reshape(-1, VOCAB), y.reshape(-1))
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    if step % 50 == 0:
        print(step, loss.item())
