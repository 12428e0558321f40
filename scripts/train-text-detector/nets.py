"""The overlay-text detector: a small fully convolutional net, image in, text-kernel probability
out at a quarter of the resolution. Encoder to 1/32 for context (long turned lines), a light
top-down path back to 1/4 (FPN-like), one sigmoid channel."""
import torch
from torch import nn
import torch.nn.functional as F


def block(cin, cout, stride=1, dilation=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, padding=dilation, dilation=dilation, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU(inplace=True),
    )


class OverlayTextNet(nn.Module):
    def __init__(self, w=(16, 24, 48, 80, 112), top=32):
        super().__init__()
        self.s2 = block(3, w[0], 2)
        self.s4 = nn.Sequential(block(w[0], w[1], 2), block(w[1], w[1]))
        self.s8 = nn.Sequential(block(w[1], w[2], 2), block(w[2], w[2]))
        self.s16 = nn.Sequential(block(w[2], w[3], 2), block(w[3], w[3], dilation=2))
        self.s32 = nn.Sequential(block(w[3], w[4], 2), block(w[4], w[4], dilation=2))
        self.l4, self.l8 = nn.Conv2d(w[1], top, 1), nn.Conv2d(w[2], top, 1)
        self.l16, self.l32 = nn.Conv2d(w[3], top, 1), nn.Conv2d(w[4], top, 1)
        self.head = nn.Sequential(block(top, top), nn.Conv2d(top, 1, 1))

    def forward(self, x):
        # x: [N,3,H,W] float in 0..255 (RGB); H, W multiples of 32.
        x = x / 127.5 - 1.0
        f4 = self.s4(self.s2(x))
        f8 = self.s8(f4)
        f16 = self.s16(f8)
        f32 = self.s32(f16)
        p = self.l32(f32)
        p = self.l16(f16) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.l8(f8) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        p = self.l4(f4) + F.interpolate(p, scale_factor=2.0, mode="nearest")
        return torch.sigmoid(self.head(p))
