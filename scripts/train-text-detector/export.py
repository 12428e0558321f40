"""
Exports the overlay-text detector to ONNX, with reference outputs for the parity test.

  sh scripts/train-diffusion/python.sh scripts/train-text-detector/export.py \
      --checkpoint /tmp/text-detector/checkpoint.pt --out /tmp/text-detector

model.onnx: input `image` [1,3,H,W] float RGB 0..255 (H, W multiples of 32), output `kernel`
[1,1,H/4,W/4] probability. parity.json: a seeded probe image and torch's output on it, which
the integration's test compared with ONNX Runtime's (branch experiment/overlay-text-detector).
"""
import argparse
import json
import os

import torch

from nets import OverlayTextNet

PROBE_SHAPE = [1, 3, 64, 96]


def export(net, out):
    net.eval()
    path = os.path.join(out, "model.onnx")
    torch.onnx.export(net, torch.zeros(1, 3, 320, 320), path, input_names=["image"],
                      output_names=["kernel"],
                      dynamic_axes={"image": {2: "h", 3: "w"}, "kernel": {2: "h4", 3: "w4"}},
                      opset_version=13, do_constant_folding=True)
    # A probe anyone can rebuild: pixel i of the flattened tensor is (i * 37) % 256.
    n = PROBE_SHAPE[0] * PROBE_SHAPE[1] * PROBE_SHAPE[2] * PROBE_SHAPE[3]
    probe = (torch.arange(n) * 37 % 256).float().reshape(PROBE_SHAPE)
    with torch.no_grad():
        ref = net(probe)
    json.dump({"probe": "pixel i = (i * 37) % 256", "probe_shape": PROBE_SHAPE,
               "output_shape": list(ref.shape), "output": [round(v, 6) for v in ref.flatten().tolist()]},
              open(os.path.join(out, "parity.json"), "w"))
    return path


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    net = OverlayTextNet()
    net.load_state_dict(torch.load(args.checkpoint))
    print(export(net, args.out))
