"""
Synthetic training pictures for the overlay-text detector: words drawn over photos and textures
the way watermarks and captions are laid over images (any colour, semi-transparent, turned,
sometimes tiled), with a mask of each line's centre band (the "kernel") as the target.

Deliberately disjoint from the evaluation (scripts/models/ocr-eval-set.ts): no DejaVu font, none
of the eight stock-photo marks as text, and none of the evaluation's photos (Meta's PDQ test
photos). Photos come from Debian's python3-skimage (its data folder; see the model card for
their licences); fonts from fonts-liberation, fonts-freefont-ttf and fonts-urw-base35.
Nothing is downloaded.
"""
import glob
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Kernel geometry: the target band keeps the middle KERNEL_H of the line's height and stops
# KERNEL_END × height short of each end, so that neighbouring lines stay apart in the mask. The
# gateway's integration grew a found kernel back by the inverse (see README.md here).
KERNEL_H = 0.5
KERNEL_END = 0.25
STRIDE = 4

SKIMAGE_PHOTOS = [
    "astronaut", "coffee", "chelsea", "rocket", "camera", "coins", "moon", "brick", "grass",
    "gravel", "hubble_deep_field", "immunohistochemistry", "colorwheel", "horse", "cell",
]


def fonts():
    paths = []
    for pattern in ("/usr/share/fonts/truetype/liberation*/*.ttf",
                    "/usr/share/fonts/truetype/freefont/*.ttf",
                    "/usr/share/fonts/opentype/urw-base35/*.otf"):
        paths += sorted(glob.glob(pattern))
    paths = [p for p in paths if "dejavu" not in p.lower()]
    if len(paths) < 8:
        raise SystemExit("needs fonts: apt-get install fonts-liberation fonts-freefont-ttf fonts-urw-base35")
    return paths


def photos():
    from skimage import data  # Debian python3-skimage; its files ship in the package
    out = []
    for name in SKIMAGE_PHOTOS:
        try:
            img = np.asarray(getattr(data, name)())
        except Exception:  # a picture this skimage only downloads: skipped, never fetched
            continue
        if img.dtype != np.uint8:
            img = (255 * (img.astype(np.float32) / max(1e-6, float(img.max())))).astype(np.uint8)
        if img.ndim == 2:
            img = np.stack([img] * 3, -1)
        out.append(Image.fromarray(img[..., :3]))
    if len(out) < 6:
        raise SystemExit("needs python3-skimage with its data pictures")
    return out


SYLLABLES = ["ka", "lo", "mi", "ne", "ra", "to", "su", "vi", "den", "mar", "pol", "tek", "sta",
             "gra", "pho", "vis", "lum", "cor", "ber", "fin", "zo", "qui", "xen", "wa", "ly"]
WORDS = ["photo", "image", "studio", "stock", "media", "design", "copyright", "preview", "sample",
         "pictures", "creative", "vector", "gallery", "archive", "collection", "licensed", "draft",
         "proof", "confidential", "www", "com", "net", "royalty", "free", "the", "and", "news"]


def random_text(rng):
    kind = rng.random()
    if kind < 0.45:
        n = rng.choice([1, 1, 2, 2, 3])
        words = [rng.choice(WORDS) if rng.random() < 0.5 else
                 "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(1, 4))) for _ in range(n)]
    elif kind < 0.65:
        words = ["".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 5)))]
    elif kind < 0.8:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
        words = ["".join(rng.choice(alphabet) for _ in range(rng.randint(2, 10)))
                 for _ in range(rng.randint(1, 2))]
    elif kind < 0.9:
        words = ["www." + "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) +
                 rng.choice([".com", ".net", ".org", ""])]
    else:
        words = ["© " + "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))),
                 str(rng.randint(1990, 2030))]
    text = " ".join(words)
    style = rng.random()
    if style < 0.3:
        text = text.capitalize()
    elif style < 0.45:
        text = text.upper()
    elif style < 0.6:
        text = " ".join(w.capitalize() for w in text.split(" "))
    return text


def texture(rng, size):
    s = size
    kind = rng.random()
    yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
    c1 = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
    c2 = np.array([rng.randint(0, 255) for _ in range(3)], np.float32)
    if rng.random() < 0.4:  # black and white, the hardest contrast for overlays
        c1, c2 = np.zeros(3, np.float32) + rng.randint(0, 40), np.zeros(3, np.float32) + rng.randint(215, 255)
    if kind < 0.15:
        img = np.broadcast_to(c1, (s, s, 3)).copy()
    elif kind < 0.3:
        a = rng.uniform(0, math.pi)
        t = (np.cos(a) * xx + np.sin(a) * yy) / (s * 1.5) + 0.5
        img = c1 * (1 - t[..., None]) + c2 * t[..., None]
    elif kind < 0.55:  # stripes (zebra, blinds, fences), sometimes wavy
        a = rng.uniform(0, math.pi)
        period = rng.uniform(5, 70)
        phase = np.cos(a) * xx + np.sin(a) * yy
        if rng.random() < 0.5:
            phase = phase + rng.uniform(0, 20) * np.sin(
                (-np.sin(a) * xx + np.cos(a) * yy) / rng.uniform(20, 120))
        t = (np.sin(2 * math.pi * phase / period) > rng.uniform(-0.5, 0.5)).astype(np.float32)
        if rng.random() < 0.5:
            t = np.asarray(Image.fromarray((t * 255).astype(np.uint8)).filter(
                ImageFilter.GaussianBlur(rng.uniform(0.5, 3))), np.float32) / 255
        img = c1 * (1 - t[..., None]) + c2 * t[..., None]
    elif kind < 0.65:  # checkerboard
        cell = rng.uniform(6, 60)
        t = ((np.floor(xx / cell) + np.floor(yy / cell)) % 2).astype(np.float32)
        img = c1 * (1 - t[..., None]) + c2 * t[..., None]
    elif kind < 0.8:  # smooth blobs (clouds, bokeh)
        small = rng.randint(3, 12)
        noise = np.random.default_rng(rng.randint(0, 2**31)).random((small, small, 3)) * 255
        img = np.asarray(Image.fromarray(noise.astype(np.uint8)).resize((s, s), Image.BICUBIC), np.float32)
    else:  # Gaussian noise over a colour
        img = c1 + np.random.default_rng(rng.randint(0, 2**31)).normal(0, rng.uniform(5, 60), (s, s, 3))
    img = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8))
    if rng.random() < 0.35:  # shapes: edges a detector could take for strokes
        d = ImageDraw.Draw(img)
        for _ in range(rng.randint(3, 25)):
            x, y = rng.randint(-20, s), rng.randint(-20, s)
            w, h = rng.randint(3, 90), rng.randint(3, 90)
            fill = tuple(rng.randint(0, 255) for _ in range(3))
            if rng.random() < 0.5:
                d.rectangle([x, y, x + w, y + h], fill=fill)
            elif rng.random() < 0.5:
                d.ellipse([x, y, x + w, y + h], fill=fill)
            else:
                d.line([x, y, x + w, y + h], fill=fill, width=rng.randint(1, 6))
    return img


def photo_crop(rng, photo, size):
    w, h = photo.size
    scale = rng.uniform(0.4, 2.5) * size / min(w, h)
    cw, ch = min(w, int(size / scale)), min(h, int(size / scale))
    x, y = rng.randint(0, w - cw), rng.randint(0, h - ch)
    img = photo.crop((x, y, x + cw, y + ch)).resize((size, size), Image.BILINEAR)
    if rng.random() < 0.5:
        img = img.transpose(Image.FLIP_LEFT_RIGHT)
    if rng.random() < 0.3:
        arr = np.asarray(img, np.float32) * rng.uniform(0.5, 1.3) + rng.uniform(-40, 40)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return img


def render_line(rng, font_paths, text, height, angle):
    """One line's coverage (0..1), turned by `angle` degrees, and its ink box size (tw, th)."""
    font = ImageFont.truetype(rng.choice(font_paths), size=max(6, int(height)))
    left, top, right, bottom = font.getbbox(text)
    tw, th = right - left, bottom - top
    if tw <= 0 or th <= 0:
        return None
    pad = int(th * 0.5) + 4
    stroke = rng.choice([0, 0, 0, 1, 2]) if height > 18 else 0
    layer = Image.new("L", (tw + 2 * pad, th + 2 * pad), 0)
    ImageDraw.Draw(layer).text((pad - left, pad - top), text, font=font, fill=255,
                               stroke_width=stroke, stroke_fill=255)
    if rng.random() < 0.15:
        layer = layer.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.2)))
    rotated = layer.rotate(angle, resample=Image.BICUBIC, expand=True)
    return np.asarray(rotated, np.float32)[..., None] / 255, tw, th


def blend_line(base, cover, centre, colour, alpha):
    """Blends a line's coverage into `base` (float32 H×W×3, in place) centred at `centre`;
    False when it falls wholly outside."""
    cx, cy = centre
    ox, oy = int(cx - cover.shape[1] / 2), int(cy - cover.shape[0] / 2)
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(base.shape[1], ox + cover.shape[1]), min(base.shape[0], oy + cover.shape[0])
    if x1 <= x0 or y1 <= y0:
        return False
    aa = cover[y0 - oy:y1 - oy, x0 - ox:x1 - ox] * alpha
    base[y0:y1, x0:x1] = base[y0:y1, x0:x1] * (1 - aa) + np.array(colour, np.float32) * aa
    return True


def place_line(base, mask, line, angle, centre, colour, alpha):
    """Blends a rendered line into `base` (float32 H×W×3, in place) centred at `centre`, and
    draws its kernel into `mask` (1/STRIDE resolution)."""
    if not blend_line(base, line[0], centre, colour, alpha):
        return
    _, tw, th = line
    cx, cy = centre
    # Kernel: the ink box (tw × th, centred on the layer's centre), shrunk, turned like the text.
    kw = max(1.0, tw - 2 * KERNEL_END * th)
    kh = th * KERNEL_H
    rad = math.radians(-angle)  # PIL turns counter-clockwise; image y points down
    ux, uy = math.cos(rad), math.sin(rad)
    vx, vy = -uy, ux
    pts = []
    for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        pts.append(((cx + su * kw / 2 * ux + sv * kh / 2 * vx) / STRIDE,
                    (cy + su * kw / 2 * uy + sv * kh / 2 * vy) / STRIDE))
    ImageDraw.Draw(mask).polygon(pts, fill=255)


def draw_lines(rng, font_paths, s, place, heights=(8, 72), min_alpha=0.25):
    """One to three lines of random text, or one tiled over the whole picture, each handed to
    `place(line, angle, centre, colour, alpha)` (which blends it and draws its target)."""
    tiled = rng.random() < 0.15
    for _ in range(1 if tiled else rng.choice([1, 1, 1, 2, 3])):
        text = random_text(rng)
        height = math.exp(rng.uniform(math.log(heights[0]), math.log(heights[1])))
        angle = 0.0 if rng.random() < 0.35 else rng.uniform(-90, 90)
        r = rng.random()
        colour = (255, 255, 255) if r < 0.45 else (0, 0, 0) if r < 0.75 else tuple(
            rng.randint(0, 255) for _ in range(3))
        alpha = rng.uniform(min_alpha, 1.0) if rng.random() < 0.7 else 1.0
        line = render_line(rng, font_paths, text, height, angle)
        if line is None:
            continue
        if tiled:
            est_w = 0.55 * height * len(text)
            step_x, step_y = rng.uniform(1.2, 2) * est_w + height, rng.uniform(2, 5) * height
            for gy in np.arange(-s, 2 * s, step_y):
                for gx in np.arange(-s, 2 * s, step_x):
                    c = (gx + (gy / step_y % 2) * step_x / 2, gy)
                    if -s / 2 < c[0] < 1.5 * s and -s / 2 < c[1] < 1.5 * s:
                        place(line, angle, c, colour, alpha)
        else:
            place(line, angle, (rng.uniform(0, s), rng.uniform(0, s)), colour, alpha)


class Generator:
    def __init__(self, size, seed):
        self.size = size
        self.rng = random.Random(seed)
        self.font_paths = fonts()
        self.photos = photos()

    def sample(self):
        rng, s = self.rng, self.size
        img = photo_crop(rng, rng.choice(self.photos), s) if rng.random() < 0.5 else texture(rng, s)
        base = np.asarray(img.convert("RGB"), np.float32).copy()
        mask = Image.new("L", (s // STRIDE, s // STRIDE), 0)
        if rng.random() < 0.8:
            draw_lines(rng, self.font_paths, s,
                       lambda line, angle, c, colour, alpha: place_line(base, mask, line, angle, c,
                                                                        colour, alpha))
        img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
        if rng.random() < 0.4:
            import io
            buf = io.BytesIO()
            img.save(buf, "JPEG", quality=rng.randint(40, 95))
            img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
        x = np.asarray(img, np.uint8).transpose(2, 0, 1).copy()
        y = (np.asarray(mask, np.uint8) > 127).astype(np.float32)[None]
        return x, y
