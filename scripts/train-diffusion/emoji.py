"""Emoji training data for the embedded diffusion model: Noto Color Emoji pictures, captioned
from Unicode CLDR's English annotations, with hue-shifted copies so colour words steer.

Sources (Debian packages; nothing downloaded):
  fonts-noto-color-emoji  /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf (OFL-1.1)
  unicode-cldr-core       /usr/share/unicode/cldr/common/annotations/en.xml (Unicode licence)

Each single-code-point emoji the font draws (an optional U+FE0F aside; no sequences, flags,
keycaps or skin-tone swatches) is rendered with python3-pil at the font's bitmap size (109 px),
centred on white with a margin, and reduced to SIZE x SIZE with a box filter. Its captions:

  - the CLDR text-to-speech name ("red apple", "sun with face"), alone and with "a ";
  - "a <colour> <keyword>" for each of its CLDR keywords, the colour measured on the picture;
  - for each hue-shifted copy (the picture turned round the colour wheel), the same captions
    with the copy's measured colour, and colour words in the name replaced ("a blue apple").

  - the words of DRAWN: what Noto draws and CLDR does not say (the sun's face smiles).

So "a red apple", "a blue car" and "a smiling sun" are captions the model sees.
"""

import re
import xml.etree.ElementTree as ET

import numpy as np
from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
ANNOTATIONS = "/usr/share/unicode/cldr/common/annotations/en.xml"
STRIKE = 109  # the font's only bitmap size
CANVAS = 136  # 109 px glyph with a 10% margin on each side

COLOUR_WORDS = ["red", "orange", "yellow", "green", "blue", "purple", "pink", "brown", "black", "white"]
# Hue turns for the copies (degrees); each copy is captioned with the colour measured on it.
HUE_TURNS = [120, 240]


# Code point ranges of pictographs with a shape to learn (plants and food, animals, sky and
# weather, transport), which `train.py --focus-share` oversamples: faces, symbols and signs are
# many and alike, and would otherwise take most of a small model's training.
FOCUS = [
    (0x1F300, 0x1F32F),  # sky and weather: sun with face, moons, rainbow
    (0x1F330, 0x1F37F),  # plants, fruit, food and drink
    (0x1F400, 0x1F43F),  # animals
    (0x1F680, 0x1F6C5),  # transport
    (0x1F950, 0x1F96F),  # more food
    (0x1F980, 0x1F9AE),  # more animals
    (0x2600, 0x2604),  # sun, cloud, umbrella, snowman, comet
]


# What Noto draws and CLDR does not say: the sun and the moons with faces are drawn smiling (see
# the model card), while their annotations name only a face ("sun with face"). Without these
# words "smiling" is learned from smiley faces alone, and "a smiling sun" came out a faceless
# disc. Written for this project by looking at the font's pictures; used like CLDR keywords.
DRAWN = {
    "\U0001F31E": ["smiling sun"],  # sun with face
    "\U0001F31D": ["smiling moon", "smiling full moon"],  # full moon face
    # Not U+1F31A new moon face: its dark face smirks rather than smiles.
    "\U0001F31B": ["smiling moon", "smiling crescent moon"],  # first quarter moon face
    "\U0001F31C": ["smiling moon", "smiling crescent moon"],  # last quarter moon face
}


# Smiling and other faces (U+1F600..U+1F64F, and U+263A smiling face): `train.py --focus-faces`
# adds them to the focus, so that teaching "smiling" on the sun and moons keeps it on faces too.
FACES = [(0x1F600, 0x1F64F), (0x263A, 0x263A)]


def in_focus(emoji: str, faces: bool = False) -> bool:
    return any(lo <= ord(emoji) <= hi for lo, hi in FOCUS + (FACES if faces else []))


def annotations():
    """{emoji: (tts name, [keywords])} for single code points (plus an optional U+FE0F)."""
    root = ET.parse(ANNOTATIONS).getroot()
    names, keywords = {}, {}
    for a in root.iter("annotation"):
        cp = a.get("cp") or ""
        base = cp.replace("\ufe0f", "")
        if len(base) != 1:
            continue
        text = (a.text or "").strip()
        if a.get("type") == "tts":
            names[base] = text
        else:
            keywords[base] = [k.strip() for k in text.split("|") if k.strip()]
    return {e: (names[e], keywords.get(e, []) + DRAWN.get(e, [])) for e in names}


def _render(font, emoji: str) -> Image.Image:
    im = Image.new("RGBA", (CANVAS, CANVAS), (255, 255, 255, 0))
    ImageDraw.Draw(im).text((CANVAS // 2, CANVAS // 2), emoji, font=font, embedded_color=True, anchor="mm")
    return im


def colour_name(rgba: np.ndarray) -> str:
    """The dominant colour word of a picture's opaque pixels (HSV bins)."""
    px = rgba.reshape(-1, 4).astype(np.float32) / 255
    px = px[px[:, 3] > 0.5][:, :3]
    if len(px) == 0:
        return "white"
    h, s, v = _hsv(px)
    chromatic = (s > 0.3) & (v > 0.25)
    if chromatic.mean() < 0.3:
        dark = (v < 0.3).mean()
        return "black" if dark > 0.4 else "white"
    hc, sc, vc = h[chromatic], s[chromatic], v[chromatic]
    bins = np.full(len(hc), "", dtype=object)
    bins[(hc >= 345) | (hc < 22)] = "red"
    bins[(hc >= 22) & (hc < 42)] = "orange"
    bins[(hc >= 42) & (hc < 70)] = "yellow"
    bins[(hc >= 70) & (hc < 170)] = "green"
    bins[(hc >= 170) & (hc < 255)] = "blue"
    bins[(hc >= 255) & (hc < 290)] = "purple"
    bins[(hc >= 290) & (hc < 345)] = "pink"
    # Dark oranges and reds read as brown.
    bins[((bins == "orange") | (bins == "red")) & (vc < 0.78) & (sc > 0.3)] = "brown"
    names, counts = np.unique(bins, return_counts=True)
    return str(names[np.argmax(counts)])


def _hsv(rgb: np.ndarray):
    """Hue in degrees, saturation and value of RGB values in [0, 1] (any leading shape)."""
    mx, mn = rgb.max(-1), rgb.min(-1)
    c = mx - mn
    s = np.where(mx > 0, c / np.maximum(mx, 1e-6), 0)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    safe = np.maximum(c, 1e-6)
    h = np.where(mx == r, ((g - b) / safe) % 6, np.where(mx == g, (b - r) / safe + 2, (r - g) / safe + 4))
    return np.where(c > 0, h, 0) * 60, s, mx


def hue_turn(rgba: np.ndarray, degrees: float) -> np.ndarray:
    """The picture turned round the colour wheel (greys stay grey)."""
    rgb = rgba[..., :3].astype(np.float32) / 255
    h, s, v = _hsv(rgb)
    h = (h + degrees) % 360 / 60
    i = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    choices = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    out = np.zeros_like(rgb)
    for k, (cr, cg, cb) in enumerate(choices):
        m = i == k
        out[..., 0][m], out[..., 1][m], out[..., 2][m] = cr[m], cg[m], cb[m]
    return np.concatenate([np.round(out * 255).astype(np.uint8), rgba[..., 3:]], -1)


def _on_white(rgba: np.ndarray, size: int) -> np.ndarray:
    im = Image.fromarray(rgba, "RGBA")
    white = Image.new("RGBA", im.size, (255, 255, 255, 255))
    white.alpha_composite(im)
    return np.asarray(white.convert("RGB").resize((size, size), Image.BOX))


def _recolour(text: str, colour: str) -> str:
    """Colour words in a name replaced by `colour` ("red apple" -> "blue apple")."""
    return re.sub(r"\b(" + "|".join(COLOUR_WORDS) + r")\b", colour, text)


def _a(phrase: str) -> str:
    return f"{'an' if phrase[0] in 'aeiou' else 'a'} {phrase}"


def captions_for(name: str, keywords, colour: str, turned: bool, drawn=()):
    name = _recolour(name, colour) if turned else name
    has_colour = any(re.search(rf"\b{c}\b", name) for c in COLOUR_WORDS)
    out = [name, _a(name)]
    if not has_colour:
        out.append(_a(f"{colour} {name}"))
    for k in keywords:
        if k in COLOUR_WORDS or k == name:
            continue
        out.append(_a(f"{colour} {_recolour(k, colour) if turned else k}"))
        if k in drawn:
            out.append(_a(k))  # "a smiling sun", like a name
    return sorted(set(out))


def names_colour(caption: str) -> bool:
    return any(re.search(rf"\b{c}\b", caption) for c in COLOUR_WORDS)


def make_dataset(size: int, with_turned: bool = False):
    """(images uint8 [n, size, size, 3], captions [[str]] per image, emoji per image), and with
    `with_turned` a fourth list: whether each picture is a hue-turned copy."""
    font = ImageFont.truetype(FONT, STRIKE)
    missing = np.asarray(_render(font, "\U000effff"))  # what the font draws for no glyph
    images, captions, sources, turned_flags = [], [], [], []
    for emoji, (name, keywords) in sorted(annotations().items()):
        cp = ord(emoji)
        if 0x1F3FB <= cp <= 0x1F3FF or 0x1F1E6 <= cp <= 0x1F1FF:  # skin-tone swatches, letters
            continue
        rgba = np.asarray(_render(font, emoji))
        if rgba[..., 3].max() == 0 or np.array_equal(rgba, missing):
            continue
        variants = [(rgba, False)] + [(hue_turn(rgba, d), True) for d in HUE_TURNS]
        for pic, turned in variants:
            colour = colour_name(pic)
            caps = captions_for(name.lower(), [k.lower() for k in keywords], colour, turned, DRAWN.get(emoji, []))
            if turned and colour == colour_name(rgba):
                continue  # a grey picture does not change colour: no new pairing to learn
            images.append(_on_white(pic, size))
            captions.append(caps)
            sources.append(emoji)
            turned_flags.append(turned)
    if with_turned:
        return np.stack(images), captions, sources, turned_flags
    return np.stack(images), captions, sources


def dump(out_dir: str, size: int) -> None:
    """The data set as files for the evaluation (eval.ts): images.raw, index.json."""
    import json
    import os

    imgs, caps, srcs = make_dataset(size)
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "images.raw"), "wb") as f:
        f.write(imgs.tobytes())
    with open(os.path.join(out_dir, "index.json"), "w") as f:
        json.dump({"size": size, "items": [{"emoji": e, "captions": c} for e, c in zip(srcs, caps)]},
                  f, ensure_ascii=False)


if __name__ == "__main__":
    import sys

    if len(sys.argv) == 3 and sys.argv[1] == "--dump":
        dump(sys.argv[2], 32)
        sys.exit(0)
    imgs, caps, srcs = make_dataset(32)
    print(len(imgs), "images from", len(set(srcs)), "emoji;", sum(len(c) for c in caps), "captions")
    for want in ["🍎", "🌞", "🚗", "🚙"]:
        for i in [i for i, s in enumerate(srcs) if s == want]:
            print(want, caps[i])
