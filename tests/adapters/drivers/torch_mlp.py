"""Conformance driver (PyTorch): trains a small MLP and writes, per step, its own float64 oracle
of the loss and each parameter's gradient, weight and update norms; then digests of the final
weights and of the RNG state. ``--slow S`` sleeps S seconds a step (the kill -9 test)."""
import hashlib, json, sys, time
import numpy as np
import torch

out, steps = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 40
slow = float(sys.argv[sys.argv.index("--slow") + 1]) if "--slow" in sys.argv else 0.0
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(8, 128), torch.nn.ReLU(), torch.nn.Linear(128, 64),
                            torch.nn.Tanh(), torch.nn.Linear(64, 3))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
rng = np.random.default_rng(0)
log = []
for step in range(steps):
    x = torch.tensor(rng.standard_normal((32, 8)), dtype=torch.float32)
    x = x + 0.01 * torch.randn(32, 8)  # the global RNG is part of the training
    y = torch.tensor(rng.integers(0, 3, 32))
    loss = torch.nn.functional.cross_entropy(model(x), y)
    opt.zero_grad()
    loss.backward()
    before = {n: p.detach().double().clone() for n, p in model.named_parameters()}
    grads = {n: float(p.grad.double().norm()) for n, p in model.named_parameters()}
    opt.step()
    log.append({"loss": float(loss), "stats": {
        n: [grads[n], float(p.detach().double().norm()), float((p.detach().double() - before[n]).norm())]
        for n, p in model.named_parameters()}})
    print("step", step, flush=True)
    time.sleep(slow)
digest = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters()))
json.dump({"log": log, "weights": digest.hexdigest(),
           "rng": hashlib.sha256(torch.get_rng_state().numpy().tobytes()).hexdigest()},
          open(out, "w"))
