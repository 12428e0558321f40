"""
Trains the overlay-text detector on synthetic pictures (data.py) and exports it to ONNX.

  TORCH_THREADS=2 sh scripts/train-diffusion/python.sh scripts/train-text-detector/train.py \
      --steps 3000 --out /tmp/text-detector

An experiment, not shipped: see README.md in this folder for what it measured.

Writes model.onnx (input `image` [1,3,H,W] float RGB 0..255, H and W multiples of 32; output
`kernel` [1,1,H/4,W/4] probability), parity.json (see export.py), training.json (arguments,
losses, validation figures) and checkpoint.pt (not committed).
"""
import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, IterableDataset

from data import Generator
from export import export
from nets import OverlayTextNet


class Stream(IterableDataset):
    def __init__(self, size, seed):
        self.size, self.seed = size, seed

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        gen = Generator(self.size, self.seed + (info.id if info else 0))
        while True:
            yield gen.sample()


def loss_fn(pred, target):
    bce = F.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), target)
    inter = (pred * target).sum((1, 2, 3))
    dice = 1 - (2 * inter + 1) / (pred.sum((1, 2, 3)) + target.sum((1, 2, 3)) + 1)
    return bce + dice.mean()


def validate(net, batches):
    net.eval()
    tp = fp = fn = 0.0
    with torch.no_grad():
        for x, y in batches:
            p = net(x.float()) > 0.5
            t = y > 0.5
            tp += (p & t).sum().item()
            fp += (p & ~t).sum().item()
            fn += (~p & t).sum().item()
    net.train()
    return {"pixel_precision": tp / max(1, tp + fp), "pixel_recall": tp / max(1, tp + fn)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=3000)
    ap.add_argument("--batch", type=int, default=12)
    ap.add_argument("--size", type=int, default=320)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--out", required=True)
    ap.add_argument("--workers", type=int, default=1)
    args = ap.parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    os.makedirs(args.out, exist_ok=True)

    # Validation pictures from a different seed, drawn once.
    vgen = Generator(args.size, args.seed + 1000)
    val = []
    for _ in range(8):
        xs, ys = zip(*(vgen.sample() for _ in range(16)))
        val.append((torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ys))))

    net = OverlayTextNet()
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.steps, pct_start=0.05)
    loader = DataLoader(Stream(args.size, args.seed), batch_size=args.batch, num_workers=args.workers)
    losses, log = [], []
    started = time.time()
    for step, (x, y) in enumerate(loader):
        if step >= args.steps:
            break
        loss = loss_fn(net(x.float()), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        losses.append(loss.item())
        if (step + 1) % 100 == 0:
            entry = {"step": step + 1, "loss": float(np.mean(losses[-100:])), "s": round(time.time() - started)}
            if (step + 1) % 500 == 0 or step + 1 == args.steps:
                entry.update(validate(net, val))
                torch.save(net.state_dict(), os.path.join(args.out, "checkpoint.pt"))
            log.append(entry)
            print(json.dumps(entry), flush=True)

    net.eval()
    final = validate(net, val)
    torch.save(net.state_dict(), os.path.join(args.out, "checkpoint.pt"))
    export(net, args.out)
    json.dump({"args": vars(args), "log": log, "validation": final,
               "parameters": sum(p.numel() for p in net.parameters()),
               "seconds": round(time.time() - started)},
              open(os.path.join(args.out, "training.json"), "w"), indent=1)
    print(json.dumps({"final": final}))


if __name__ == "__main__":
    main()
