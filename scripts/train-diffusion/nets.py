"""The embedded model's networks: a small text encoder and a small text-conditioned UNet.

Both are written with plain tensor operations (no nn.MultiheadAttention / nn.Transformer*), so
the ONNX export is a short graph of MatMul, Softmax, Conv and normalisation nodes that any
ONNX Runtime reads. Signatures follow the Stable Diffusion ONNX export (diffusers / optimum):

  text_encoder: input_ids int32 [batch, seq] -> last_hidden_state float [batch, seq, dim],
                pooler_output float [batch, dim]
  unet:         sample float [batch, 3, 32, 32], timestep int64 [1 or batch],
                encoder_hidden_states float [batch, seq, dim] -> out_sample float (noise estimate)
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class Attention(nn.Module):
    def __init__(self, dim, context_dim, heads):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(dim, dim, bias=False)
        self.k = nn.Linear(context_dim, dim, bias=False)
        self.v = nn.Linear(context_dim, dim, bias=False)
        self.o = nn.Linear(dim, dim)

    def forward(self, x, context):
        b, n, d = x.shape
        h = self.heads
        q = self.q(x).reshape(b, n, h, d // h).transpose(1, 2)
        k = self.k(context).reshape(b, -1, h, d // h).transpose(1, 2)
        v = self.v(context).reshape(b, -1, h, d // h).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(d // h), dim=-1)
        return self.o((w @ v).transpose(1, 2).reshape(b, n, d))


class TextEncoder(nn.Module):
    def __init__(self, vocab_size, max_length, dim=64, layers=2, heads=4):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim)
        self.positions = nn.Parameter(torch.zeros(max_length, dim))
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(
                nn.ModuleDict(
                    {
                        "n1": nn.LayerNorm(dim),
                        "attn": Attention(dim, dim, heads),
                        "n2": nn.LayerNorm(dim),
                        "ff": nn.Sequential(nn.Linear(dim, dim * 2), nn.GELU(), nn.Linear(dim * 2, dim)),
                    }
                )
            )
        self.final = nn.LayerNorm(dim)
        nn.init.normal_(self.positions, std=0.02)

    def forward(self, input_ids):
        x = self.tokens(input_ids.long()) + self.positions[: input_ids.shape[1]]
        for blk in self.blocks:
            h = blk["n1"](x)
            x = x + blk["attn"](h, h)
            x = x + blk["ff"](blk["n2"](x))
        x = self.final(x)
        return x, x.mean(dim=1)


def timestep_embedding(t, dim):
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / half)
    args = t[:, None] * freqs[None]
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)


class ResBlock(nn.Module):
    def __init__(self, cin, cout, emb):
        super().__init__()
        self.n1 = nn.GroupNorm(8, cin)
        self.c1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.e = nn.Linear(emb, cout * 2)
        self.n2 = nn.GroupNorm(8, cout)
        self.c2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()
        nn.init.zeros_(self.c2.weight)
        nn.init.zeros_(self.c2.bias)

    def forward(self, x, emb):
        h = self.c1(F.silu(self.n1(x)))
        scale, shift = self.e(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.n2(h) * (1 + scale) + shift
        h = self.c2(F.silu(h))
        return self.skip(x) + h


class CrossAttnBlock(nn.Module):
    def __init__(self, c, context_dim, heads=4):
        super().__init__()
        self.norm = nn.GroupNorm(8, c)
        self.attn = Attention(c, context_dim, heads)

    def forward(self, x, context):
        b, c, hh, ww = x.shape
        h = self.norm(x).reshape(b, c, hh * ww).transpose(1, 2)
        h = self.attn(h, context).transpose(1, 2).reshape(b, c, hh, ww)
        return x + h


class UNet(nn.Module):
    def __init__(self, channels=(32, 64, 96), context_dim=64, in_channels=3):
        super().__init__()
        c0, c1, c2 = channels
        emb = c0 * 4
        self.temb = nn.Sequential(nn.Linear(c0, emb), nn.SiLU(), nn.Linear(emb, emb))
        self.cemb = nn.Linear(context_dim, emb)
        self.conv_in = nn.Conv2d(in_channels, c0, 3, padding=1)
        self.d0 = ResBlock(c0, c0, emb)
        self.down0 = nn.Conv2d(c0, c0, 3, stride=2, padding=1)
        self.d1 = ResBlock(c0, c1, emb)
        self.a1 = CrossAttnBlock(c1, context_dim)
        self.down1 = nn.Conv2d(c1, c1, 3, stride=2, padding=1)
        self.d2 = ResBlock(c1, c2, emb)
        self.a2 = CrossAttnBlock(c2, context_dim)
        self.m1 = ResBlock(c2, c2, emb)
        self.ma = CrossAttnBlock(c2, context_dim)
        self.m2 = ResBlock(c2, c2, emb)
        self.u2 = ResBlock(c2 + c2, c2, emb)
        self.ua2 = CrossAttnBlock(c2, context_dim)
        self.up2 = nn.Conv2d(c2, c2, 3, padding=1)
        self.u1 = ResBlock(c2 + c1, c1, emb)
        self.ua1 = CrossAttnBlock(c1, context_dim)
        self.up1 = nn.Conv2d(c1, c1, 3, padding=1)
        self.u0 = ResBlock(c1 + c0, c0, emb)
        self.norm_out = nn.GroupNorm(8, c0)
        self.conv_out = nn.Conv2d(c0, in_channels, 3, padding=1)
        self.c0 = c0

    def forward(self, sample, timestep, encoder_hidden_states):
        # A [1] timestep (what diffusers' ONNX pipeline passes) applies to the whole batch.
        t = timestep.float().reshape(-1).expand(sample.shape[0])
        ctx = encoder_hidden_states
        emb = self.temb(timestep_embedding(t, self.c0)) + self.cemb(ctx.mean(dim=1))
        h0 = self.d0(self.conv_in(sample), emb)
        h1 = self.a1(self.d1(self.down0(h0), emb), ctx)
        h2 = self.a2(self.d2(self.down1(h1), emb), ctx)
        m = self.m2(self.ma(self.m1(h2, emb), ctx), emb)
        u = self.ua2(self.u2(torch.cat([m, h2], 1), emb), ctx)
        u = self.up2(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.ua1(self.u1(torch.cat([u, h1], 1), emb), ctx)
        u = self.up1(F.interpolate(u, scale_factor=2.0, mode="nearest"))
        u = self.u0(torch.cat([u, h0], 1), emb)
        return self.conv_out(F.silu(self.norm_out(u)))


class Identity(nn.Module):
    """The embedded model's 'VAE': its latent space is the pixels themselves ([-1, 1])."""

    def forward(self, x):
        return x * 1.0
