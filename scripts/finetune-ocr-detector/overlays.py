"""
Training pictures for fine-tuning PaddleOCR's detector on overlaid text, with targets in the
detector's own terms (DB, "Real-time Scene Text Detection with Differentiable Binarization"):
each line's ink box shrunk by D = A(1 - r^2)/L with r = 0.4 (PaddleOCR's shrink_ratio), at full
resolution; and the ink box itself, outside which the original detector's own output is the
target (so what it already does on photos, including their own text, is kept).

Pictures, fonts and words come from ../train-text-detector/data.py: disjoint from the evaluation
(no DejaVu font, none of the eight stock-photo marks, none of the evaluation's photos).
"""
import importlib.util
import io
import math
import os
import random

import numpy as np
from PIL import Image, ImageDraw

_spec = importlib.util.spec_from_file_location(
    "text_detector_data", os.path.join(os.path.dirname(__file__), "..", "train-text-detector", "data.py"))
_base = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_base)
fonts, photo_crop, photos = _base.fonts, _base.photo_crop, _base.photos
texture = _base.texture

SHRINK_RATIO = 0.4
# PaddleOCR's BGR order with ImageNet statistics (src/classify/image/ocr-detect.ts).
MEAN = np.array([0.485, 0.456, 0.406], np.float32)[:, None, None]
STD = np.array([0.229, 0.224, 0.225], np.float32)[:, None, None]


def to_tensor(rgb):
    """H×W×3 uint8 RGB → 3×H×W float32, BGR, normalised as the gateway does."""
    bgr = rgb[..., ::-1].transpose(2, 0, 1).astype(np.float32) / 255
    return (bgr - MEAN) / STD


def corners(cx, cy, w, h, angle):
    rad = math.radians(-angle)  # PIL turns counter-clockwise; image y points down
    ux, uy = math.cos(rad), math.sin(rad)
    vx, vy = -uy, ux
    return [(cx + su * w / 2 * ux + sv * h / 2 * vx, cy + su * w / 2 * uy + sv * h / 2 * vy)
            for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))]


def place(base, kernel, box, line, angle, centre, colour, alpha):
    if not _base.blend_line(base, line[0], centre, colour, alpha):
        return
    _, tw, th = line
    cx, cy = centre
    d = tw * th * (1 - SHRINK_RATIO ** 2) / (2 * (tw + th))
    ImageDraw.Draw(kernel).polygon(corners(cx, cy, max(1, tw - 2 * d), max(1, th - 2 * d), angle),
                                   fill=255)
    pad = 0.25 * th  # the box a little larger than the ink: the teacher's halo there is not kept
    ImageDraw.Draw(box).polygon(corners(cx, cy, tw + 2 * pad, th + 2 * pad, angle), fill=255)


class Generator:
    def __init__(self, size, seed, text_share=0.8, max_height=120):
        self.size, self.text_share, self.max_height = size, text_share, max_height
        self.rng = random.Random(seed)
        self.font_paths = fonts()
        self.photos = photos()

    def sample(self):
        rng, s = self.rng, self.size
        img = photo_crop(rng, rng.choice(self.photos), s) if rng.random() < 0.5 else texture(rng, s)
        base = np.asarray(img.convert("RGB"), np.float32).copy()
        kernel = Image.new("L", (s, s), 0)
        box = Image.new("L", (s, s), 0)
        if rng.random() < self.text_share:
            _base.draw_lines(rng, self.font_paths, s,
                             lambda line, angle, c, colour, alpha: place(
                                 base, kernel, box, line, angle, c, colour, alpha),
                             heights=(10, self.max_height), min_alpha=0.35)
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        if rng.random() < 0.4:
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=rng.randint(40, 95))
            img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        x = to_tensor(np.asarray(img, np.uint8))
        k = (np.asarray(kernel, np.uint8) > 127).astype(np.float32)[None]
        b = (np.asarray(box, np.uint8) > 127).astype(np.float32)[None]
        return x, k, b
