#!/usr/bin/env python3
"""Train the two example classifiers on scikit-learn's bundled 8x8 digits and save them.

Needs torch, safetensors and scikit-learn (tests/requirements-fixtures.txt). Nothing is downloaded:
`sklearn.datasets.load_digits` reads the copy of the UCI digits test set that ships with scikit-learn.
CPU only, one thread, seeded, torch.use_deterministic_algorithms: running it again writes
byte-identical files.

Writes
  examples/models/digits_mlp/{model.safetensors,config.json}
  examples/models/digits_cnn/{model.safetensors,config.json}
  examples/data/digits_test.safetensors         images f32 [360,1,8,8] in [0,1], labels int64 [360]
  examples/data/digits_calibration.safetensors  images f32 [128,1,8,8]: the first 128 training images

Split: sklearn train_test_split(test_size=360, stratify=labels, random_state=0) -> 1437 train / 360 test.
Pixels (0..16) are divided by 16.

    python3 examples/train_digits.py
"""
import os
import sys

import torch
from torch import nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from sequential_config import write_config  # noqa: E402

MODELS = os.path.join(HERE, "models")
DATA = os.path.join(HERE, "data")
SEED = 0
N_TEST = 360
N_CALIBRATION = 128


def setup_determinism():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.manual_seed(SEED)


def load_split():
    """(train_x, train_y, test_x, test_y): images f32 [N,1,8,8] in [0,1], labels int64."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float64)
    assert x.shape == (1797, 8, 8) and float(x.min()) == 0.0 and float(x.max()) == 16.0
    x = (x / 16.0).to(torch.float32).unsqueeze(1).contiguous()
    y = torch.tensor(digits.target, dtype=torch.int64)
    idx = torch.arange(len(y)).numpy()
    tr, te = train_test_split(idx, test_size=N_TEST, stratify=y.numpy(), random_state=SEED, shuffle=True)
    tr, te = torch.as_tensor(tr), torch.as_tensor(te)
    return x[tr].contiguous(), y[tr].contiguous(), x[te].contiguous(), y[te].contiguous()


def mlp():
    # in_features 64 (<=128: per-row qint4), 256 (qint4 group size 128), 128 (exactly 128: per-row again)
    return nn.Sequential(nn.Flatten(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(),
                         nn.Linear(128, 10))


def cnn():
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 2 * 2, 10))


# name -> (constructor, epochs, Adam learning rate); batch 32, cosine schedule, cross-entropy
ARCHS = {"digits_mlp": (mlp, 60, 5e-3), "digits_cnn": (cnn, 60, 2e-3)}


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(name, train_x, train_y, batch=32):
    make, epochs, lr = ARCHS[name]
    torch.manual_seed(SEED)
    model = make()
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(len(train_y), generator=gen)
        for i in range(0, len(perm), batch):
            b = perm[i:i + batch]
            opt.zero_grad()
            loss_fn(model(train_x[b]), train_y[b]).backward()
            opt.step()
        sched.step()
    model.eval()
    return model


def save_model(model, name):
    out = os.path.join(MODELS, name)
    os.makedirs(out, exist_ok=True)
    sd = {k: v.detach().to(torch.float32).contiguous() for k, v in model.state_dict().items()}
    save_file(sd, os.path.join(out, "model.safetensors"), metadata={"format": "pt"})
    write_config(model, os.path.join(out, "config.json"), [1, 8, 8], num_classes=10)


def main():
    setup_determinism()
    train_x, train_y, test_x, test_y = load_split()
    assert len(train_y) == 1437 and len(test_y) == N_TEST
    os.makedirs(DATA, exist_ok=True)
    save_file({"images": test_x, "labels": test_y}, os.path.join(DATA, "digits_test.safetensors"),
              metadata={"format": "pt"})
    save_file({"images": train_x[:N_CALIBRATION].contiguous()},
              os.path.join(DATA, "digits_calibration.safetensors"), metadata={"format": "pt"})
    for name in ARCHS:
        model = train(name, train_x, train_y)
        save_model(model, name)
        print(f"{name}: train accuracy {accuracy(model, train_x, train_y):.4f}, "
              f"test accuracy {accuracy(model, test_x, test_y):.4f} "
              f"({int(round(accuracy(model, test_x, test_y) * N_TEST))}/{N_TEST})")


if __name__ == "__main__":
    main()
