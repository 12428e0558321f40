"""Procedural training data for the embedded diffusion model: scenes drawn here, captioned here.

Every image is drawn from a seeded numpy generator, so the data set is the same on every run and
owes nothing to anyone else's pictures. Four kinds of scene, captioned from a small vocabulary:

  shape      "a red circle on a blue background"  (also "a small …", "a large …")
  landscape  "a yellow sun over green hills"      (also "… at sunset", "… at night")
  gradient   "a red to yellow gradient"
  stripes    "blue and white stripes"

Drawn at 2x the resolution and averaged down (anti-aliasing), with a little per-pixel noise and
colour jitter so that colours are ranges, not single values.
"""

import hashlib

import numpy as np

# Named colours (sRGB). Evaluation classifies pixels to the nearest of these.
PALETTE = {
    "red": (215, 35, 35),
    "orange": (245, 135, 25),
    "yellow": (245, 215, 35),
    "green": (45, 160, 60),
    "blue": (35, 85, 215),
    "purple": (135, 55, 185),
    "pink": (245, 135, 185),
    "white": (245, 245, 245),
    "black": (20, 20, 20),
    "brown": (125, 75, 35),
}
COLOURS = list(PALETTE)
SHAPES = ["circle", "square", "triangle", "star"]
SUN_COLOURS = ["yellow", "orange", "red", "white"]
HILL_COLOURS = ["green", "brown", "purple", "blue", "black"]


def held_out(colour: str, shape: str, background: str) -> bool:
    """One (colour, shape, background) combination in ten is never drawn in training."""
    digest = hashlib.sha256(f"{colour}|{shape}|{background}".encode()).digest()
    return digest[0] % 10 == 0


def _jitter(rng: np.random.Generator, name: str) -> np.ndarray:
    base = np.array(PALETTE[name], dtype=np.float32)
    return np.clip(base + rng.normal(0, 10, 3), 0, 255)


def _grid(size: int):
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    return (xs + 0.5) / size, (ys + 0.5) / size


def _shape_mask(rng, shape: str, size: int, radius: float, cx: float, cy: float) -> np.ndarray:
    x, y = _grid(size)
    dx, dy = x - cx, y - cy
    if shape == "circle":
        return (dx * dx + dy * dy) <= radius * radius
    if shape == "square":
        return (np.abs(dx) <= radius * 0.85) & (np.abs(dy) <= radius * 0.85)
    if shape == "triangle":
        # Upward triangle: apex above the centre, base below it.
        top, bottom = cy - radius, cy + radius * 0.8
        t = (y - top) / (bottom - top)
        return (t >= 0) & (t <= 1) & (np.abs(dx) <= t * radius)
    if shape == "star":
        angle = np.arctan2(dy, dx) + np.pi / 2
        r = np.sqrt(dx * dx + dy * dy)
        # Five points: the boundary radius swings between the outer and inner radius.
        k = np.abs(((angle * 5 / (2 * np.pi)) % 1) - 0.5) * 2
        return r <= radius * (0.45 + 0.55 * k)
    raise ValueError(shape)


def draw_shape(rng, size, colour, shape, background, scale):
    lo, hi = {"small": (0.14, 0.2), "large": (0.36, 0.44), "": (0.22, 0.36)}[scale]
    radius = rng.uniform(lo, hi)
    cx = rng.uniform(radius, 1 - radius)
    cy = rng.uniform(radius, 1 - radius)
    img = np.empty((size, size, 3), np.float32)
    img[:] = _jitter(rng, background)
    img[_shape_mask(rng, shape, size, radius, cx, cy)] = _jitter(rng, colour)
    return img


def draw_landscape(rng, size, sun, hills, time):
    x, y = _grid(size)
    if time == "sunset":
        top, bottom = np.array([120, 60, 150.0]), np.array([250, 150, 60.0])
    elif time == "night":
        top, bottom = np.array([5, 5, 30.0]), np.array([20, 30, 80.0])
    else:
        top, bottom = np.array([70, 140, 230.0]), np.array([170, 210, 250.0])
    top = top + rng.normal(0, 8, 3)
    bottom = bottom + rng.normal(0, 8, 3)
    img = top[None, None, :] + (bottom - top)[None, None, :] * y[..., None]
    r = rng.uniform(0.1, 0.16)
    cx, cy = rng.uniform(0.15, 0.85), rng.uniform(0.15, 0.35)
    img[(x - cx) ** 2 + (y - cy) ** 2 <= r * r] = _jitter(rng, sun)
    hill = _jitter(rng, hills)
    for k in range(2):
        base = rng.uniform(0.55, 0.7) + 0.1 * k
        ridge = base + rng.uniform(0.04, 0.1) * np.sin(
            x * rng.uniform(1.5, 4) * np.pi + rng.uniform(0, 6.3)
        )
        img[y > ridge] = hill * (1 - 0.2 * k)
    return img


def draw_gradient(rng, size, a, b):
    _, y = _grid(size)
    ca, cb = _jitter(rng, a), _jitter(rng, b)
    return ca[None, None, :] + (cb - ca)[None, None, :] * y[..., None]


def draw_stripes(rng, size, a, b):
    x, y = _grid(size)
    coord = x if rng.random() < 0.5 else y
    n = rng.integers(2, 5)
    band = np.floor(coord * n * 2).astype(np.int64) % 2 == 0
    img = np.empty((size, size, 3), np.float32)
    img[:] = _jitter(rng, b)
    img[band] = _jitter(rng, a)
    return img


def sample_scene(rng, size):
    """One (image, caption, kind) triple: image float32 HxWx3 in [0, 255] at 2x `size`."""
    big = size * 2
    kind = rng.choice(["shape", "shape", "shape", "landscape", "gradient", "stripes"])
    if kind == "shape":
        while True:
            colour, background = rng.choice(COLOURS, 2, replace=False)
            shape = rng.choice(SHAPES)
            if not held_out(colour, shape, background):
                break
        scale = rng.choice(["", "", "small", "large"])
        img = draw_shape(rng, big, colour, shape, background, scale)
        words = ["a"] + ([scale] if scale else []) + [colour, shape, "on", "a", background, "background"]
        caption = " ".join(words)
    elif kind == "landscape":
        sun, hills = rng.choice(SUN_COLOURS), rng.choice(HILL_COLOURS)
        time = rng.choice(["", "", "sunset", "night"])
        img = draw_landscape(rng, big, sun, hills, time)
        caption = f"a {sun} sun over {hills} hills" + (f" at {time}" if time else "")
    elif kind == "gradient":
        a, b = rng.choice(COLOURS, 2, replace=False)
        img = draw_gradient(rng, big, a, b)
        caption = f"a {a} to {b} gradient"
    else:
        a, b = rng.choice(COLOURS, 2, replace=False)
        img = draw_stripes(rng, big, a, b)
        caption = f"{a} and {b} stripes"
    img = img.reshape(size, 2, size, 2, 3).mean(axis=(1, 3))
    img = np.clip(img + rng.normal(0, 3, img.shape), 0, 255)
    return img.astype(np.uint8), caption, str(kind)


def make_dataset(n: int, size: int, seed: int):
    rng = np.random.default_rng(seed)
    images = np.empty((n, size, size, 3), np.uint8)
    captions = []
    for i in range(n):
        images[i], caption, _ = sample_scene(rng, size)
        captions.append(caption)
    return images, captions


def vocabulary_words():
    """Every word a caption can contain (the BPE tokenizer is learned on captions)."""
    words = set(COLOURS + SHAPES + ["a", "on", "background", "sun", "over", "hills", "at"])
    words |= {"sunset", "night", "to", "gradient", "and", "stripes", "small", "large"}
    return sorted(words)
