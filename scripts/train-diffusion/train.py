"""Trains Hallmark's embedded text-to-image diffusion model on CPU and exports it to ONNX in the
Stable Diffusion export layout (text_encoder/, unet/, vae_decoder/, vae_encoder/, tokenizer/,
scheduler/, model_index.json), so that src/generate/onnx-sd runs it like any SD export.

  npm run train:diffusion          (or: python3 scripts/train-diffusion/train.py --out DIR)

Model (models/embedded-diffusion/README.md has the card and the exact commands):
  - images: 32x32 RGB pictures of the Noto Color Emoji font, captioned from Unicode CLDR's
    annotations, with hue-turned copies (emoji.py); `--data shapes` draws data.py's scenes;
  - "VAE": linear, fitted not trained: 4x4 patches (48 values) projected on their first
    LATENT_CHANNELS principal components, so the latent is 8x8xLATENT_CHANNELS; the decoder is a
    1x1 convolution back to 48 values and a depth-to-space. scaling_factor makes latents unit-std.
  - text encoder: a byte-level BPE (bpe.py, CLIP's algorithm) learned on the captions, then a
    small transformer; UNet: ResBlocks with cross-attention to the text (nets.py);
  - DDPM training (epsilon prediction, 1000 steps, SD's scaled_linear betas 0.00085..0.012),
    10% of captions dropped for classifier-free guidance, EMA weights exported.
Seeded throughout; one thread count (TORCH_THREADS, default 1) gives the same weights each run.
Training resumes from a torch checkpoint (--resume) or, when none is left, from an export's ONNX
files (--resume-export DIR: onnx_weights.py, checked against the export's parity.json).
"""

import argparse
import hashlib
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bpe  # noqa: E402
import data  # noqa: E402
import emoji  # noqa: E402
import nets  # noqa: E402
import onnx_weights  # noqa: E402

SEED = 20251127
SIZE = 32
PATCH = 4
LATENT_CHANNELS = 16
MAX_LENGTH = 16
TEXT_DIM = 64
TRAIN_TIMESTEPS = 1000
BETA_START, BETA_END = 0.00085, 0.012
PARITY_CAPTION = "a red apple"


def pca_basis(images: np.ndarray):
    """First LATENT_CHANNELS principal directions of 4x4x3 patches of images in [-1, 1]."""
    x = torch.from_numpy(images[:4000]).float().permute(0, 3, 1, 2) / 127.5 - 1
    patches = F.pixel_unshuffle(x, PATCH).permute(0, 2, 3, 1).reshape(-1, 3 * PATCH * PATCH)
    mean = patches.mean(0)
    _, s, vh = torch.linalg.svd(patches - mean, full_matrices=False)
    explained = float((s[:LATENT_CHANNELS] ** 2).sum() / (s**2).sum())
    basis = vh[:LATENT_CHANNELS]  # [C, 48], orthonormal rows
    # Signs of singular vectors are arbitrary: fix them so the largest entry is positive.
    signs = torch.sign(basis.gather(1, basis.abs().argmax(1, keepdim=True)))
    return basis * signs, mean, explained


class Encoder(torch.nn.Module):
    def __init__(self, basis, mean):
        super().__init__()
        self.register_buffer("w", basis[:, :, None, None].clone())
        self.register_buffer("b", -(basis @ mean))

    def forward(self, sample):
        return F.conv2d(F.pixel_unshuffle(sample, PATCH), self.w, self.b)


class Decoder(torch.nn.Module):
    def __init__(self, basis, mean):
        super().__init__()
        self.register_buffer("w", basis.t()[:, :, None, None].clone())
        self.register_buffer("b", mean.clone())

    def forward(self, latent_sample):
        return F.pixel_shuffle(F.conv2d(latent_sample, self.w, self.b), PATCH)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/embedded-diffusion")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--data", choices=["emoji", "shapes"], default="emoji",
                    help="emoji: Noto Color Emoji captioned from CLDR (emoji.py); shapes: data.py's scenes")
    ap.add_argument("--images", type=int, default=10000, help="shapes only: how many scenes")
    ap.add_argument("--channels", default="48,96,144", help="UNet widths at 8x8, 4x4, 2x2")
    ap.add_argument("--merges", type=int, default=2000, help="most BPE merges learned on the captions")
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--checkpoint", help="also save the trained weights here (torch.save)")
    ap.add_argument("--export-from", help="skip training: export the weights of this checkpoint")
    ap.add_argument("--resume", help="start from this checkpoint's weights (same data, so the same latent basis)")
    ap.add_argument("--resume-export",
                    help="start from the ONNX export in this folder (e.g. models/embedded-diffusion), "
                         "its tokenizer and its loss log, when no checkpoint is left")
    ap.add_argument("--colourless-natural", action="store_true",
                    help="emoji only: a caption naming no colour is trained on the emoji's own "
                         "colours only, not on its hue-turned copies (\"a smiling sun\" is yellow)")
    ap.add_argument("--focus-share", type=float, default=0.0,
                    help="emoji only: share of each batch drawn from the pictographs of emoji.FOCUS "
                         "(food, plants, animals, sky, transport: things with a shape to learn)")
    ap.add_argument("--focus-faces", action="store_true",
                    help="emoji only: the focus also holds the faces of emoji.FACES")
    ap.add_argument("--drawn-share", type=float, default=0.0,
                    help="emoji only: share of each batch drawn from the emoji with captions of "
                         "emoji.DRAWN (the smiling sun and moons), few pictures among thousands")
    args = ap.parse_args()
    threads = int(os.environ.get("TORCH_THREADS", "1"))
    torch.set_num_threads(threads)
    torch.manual_seed(SEED)
    started = time.time()

    focus = None
    if args.data == "emoji":
        images, caption_lists, sources, turned = emoji.make_dataset(SIZE, with_turned=True)
        focus = torch.tensor([i for i, e in enumerate(sources) if emoji.in_focus(e, args.focus_faces)])
        drawn = torch.tensor([i for i, e in enumerate(sources) if e in emoji.DRAWN])
    else:
        images, captions = data.make_dataset(args.images, SIZE, SEED)
        caption_lists = [[c] for c in captions]
    if args.resume_export:
        vocab, merges = read_tokenizer(args.resume_export)  # the exported model's own vocabulary
    else:
        vocab, merges = bpe.learn([c for cs in caption_lists for c in cs], args.merges)
    if args.data == "emoji" and args.colourless_natural:
        # Learned on every caption above (the vocabulary stays that of a resumed checkpoint);
        # trained on a copy's colour-naming captions only.
        caption_lists = [[c for c in cs if emoji.names_colour(c)] or cs if t else cs
                         for cs, t in zip(caption_lists, turned)]
    # Every caption of every image, [images, most captions, tokens]; a step draws one of each
    # drawn image's captions (a shorter list repeats its captions to fill the row).
    widest = max(len(cs) for cs in caption_lists)
    ids = torch.tensor([[bpe.encode(cs[k % len(cs)], vocab, merges, MAX_LENGTH) for k in range(widest)]
                        for cs in caption_lists], dtype=torch.int32)
    n_captions = torch.tensor([len(cs) for cs in caption_lists])
    empty = torch.tensor(bpe.encode("", vocab, merges, MAX_LENGTH), dtype=torch.int32)
    basis, mean, explained = pca_basis(images)
    enc, dec = Encoder(basis, mean), Decoder(basis, mean)
    with torch.no_grad():
        pixels = torch.from_numpy(images).float().permute(0, 3, 1, 2) / 127.5 - 1
        latents = torch.cat([enc(pixels[i : i + 1000]) for i in range(0, len(pixels), 1000)])
        scaling = float(1 / latents.std())
        recon = dec(latents[:1000])
        recon_rmse = float(((recon.clamp(-1, 1) - pixels[:1000]) ** 2).mean().sqrt() * 127.5)
        latents = latents * scaling
    print(f"data: {len(images)} images, {int(n_captions.sum())} captions, vocab {len(vocab)}, PCA {explained:.4f} explained, "
          f"reconstruction RMSE {recon_rmse:.2f}/255, scaling {scaling:.5f}", flush=True)

    text = nets.TextEncoder(len(vocab), MAX_LENGTH, TEXT_DIM)
    channels = tuple(int(c) for c in args.channels.split(","))
    unet = nets.UNet(channels=channels, in_channels=LATENT_CHANNELS, context_dim=TEXT_DIM)
    params = list(text.parameters()) + list(unet.parameters())
    n_params = sum(p.numel() for p in params)
    ema = [p.detach().clone() for p in params]
    opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
    betas = torch.linspace(BETA_START**0.5, BETA_END**0.5, TRAIN_TIMESTEPS, dtype=torch.float64) ** 2
    alphas_cumprod = torch.cumprod(1 - betas, 0).float()

    gen = torch.Generator().manual_seed(SEED)
    log = []
    running = 0.0
    if args.export_from or args.resume:
        saved = torch.load(args.export_from or args.resume)
        text.load_state_dict(saved["text"])
        unet.load_state_dict(saved["unet"])
        ema = [p.detach().clone() for p in params]
        log = saved["log"]
    if args.resume_export:
        log = resume_from_export(args.resume_export, text, unet, vocab, merges)
        ema = [p.detach().clone() for p in params]
    offset = log[-1]["step"] if (args.resume or args.resume_export) and log else 0
    for step in range(1, 0 if args.export_from else args.steps + 1):
        lr = args.lr * min(1.0, step / 100) * (0.5 * (1 + np.cos(np.pi * step / args.steps)) * 0.95 + 0.05)
        for g in opt.param_groups:
            g["lr"] = lr
        idx = torch.randint(0, len(latents), (args.batch,), generator=gen)
        if focus is not None and args.focus_share > 0:
            k = int(round(args.batch * args.focus_share))
            idx[:k] = focus[torch.randint(0, len(focus), (k,), generator=gen)]
        if args.data == "emoji" and args.drawn_share > 0:
            k = int(round(args.batch * args.drawn_share))
            idx[-k:] = drawn[torch.randint(0, len(drawn), (k,), generator=gen)]
        x0 = latents[idx]
        flip = torch.rand(args.batch, generator=gen) < 0.5
        # A mirrored scene has the same caption; flip in pixel space is a flip of the patch grid
        # plus a permutation inside patches, so flip pixels and re-encode.
        if flip.any():
            with torch.no_grad():
                x0 = x0.clone()
                x0[flip] = enc(pixels[idx[flip]].flip(-1)) * scaling
        pick = (torch.rand(args.batch, generator=gen) * n_captions[idx]).long()
        tok = ids[idx, pick].clone()
        drop = torch.rand(args.batch, generator=gen) < 0.1
        tok[drop] = empty
        t = torch.randint(0, TRAIN_TIMESTEPS, (args.batch,), generator=gen)
        noise = torch.randn(x0.shape, generator=gen)
        a = alphas_cumprod[t].sqrt()[:, None, None, None]
        s = (1 - alphas_cumprod[t]).sqrt()[:, None, None, None]
        ctx, _ = text(tok)
        pred = unet(a * x0 + s * noise, t, ctx)
        loss = F.mse_loss(pred, noise)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        decay = min(0.995, (1 + step) / (10 + step))
        with torch.no_grad():
            for e, p in zip(ema, params):
                e.mul_(decay).add_(p.detach(), alpha=1 - decay)
        running += loss.item()
        if step % 25 == 0:
            row = {"step": offset + step, "loss": round(running / 25, 5), "lr": round(lr, 6),
                   "elapsed_s": round(time.time() - started, 1)}
            log.append(row)
            print(json.dumps(row), flush=True)
            running = 0.0
    train_seconds = time.time() - started
    with torch.no_grad():
        for e, p in zip(ema, params):
            p.copy_(e)
    text.eval()
    unet.eval()
    if args.checkpoint:
        torch.save({"text": text.state_dict(), "unet": unet.state_dict(), "log": log}, args.checkpoint)
    export(args.out, text, unet, enc, dec, vocab, merges, scaling)
    info = {
        "seed": SEED, "steps": args.steps, "resumed_from_steps": offset,
        "focus_share": args.focus_share, "drawn_share": args.drawn_share, "focus_faces": args.focus_faces,
        "resumed_from_export": args.resume_export, "colourless_natural": args.colourless_natural, "batch": args.batch, "data": args.data,
        "images": len(images), "captions": int(n_captions.sum()), "unet_channels": list(channels),
        "lr": args.lr, "torch_threads": threads, "torch": torch.__version__,
        "parameters": {"text_encoder": sum(p.numel() for p in text.parameters()),
                       "unet": sum(p.numel() for p in unet.parameters()), "total": n_params},
        "latent": {"channels": LATENT_CHANNELS, "patch": PATCH, "pca_explained": round(explained, 5),
                   "reconstruction_rmse_255": round(recon_rmse, 3), "scaling_factor": scaling},
        "vocab_size": len(vocab), "merges": len(merges), "train_seconds": round(train_seconds, 1),
        "loss": log,
    }
    with open(os.path.join(args.out, "training.json"), "w") as f:
        json.dump(info, f, indent=1)
    print(f"done in {train_seconds:.0f} s; {n_params} parameters", flush=True)


def parity_sample():
    sample = torch.randn(2, LATENT_CHANNELS, SIZE // PATCH, SIZE // PATCH, generator=torch.Generator().manual_seed(1))
    return sample, torch.tensor([500], dtype=torch.int64)


def export_text(text, path, ids):
    torch.onnx.export(text, (ids,), path,
                      input_names=["input_ids"], output_names=["last_hidden_state", "pooler_output"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                    "last_hidden_state": {0: "batch", 1: "sequence"}, "pooler_output": {0: "batch"}},
                      opset_version=14, do_constant_folding=True)


def export_unet(unet, path, ctx):
    sample, timestep = parity_sample()
    batch = {0: "batch"}
    torch.onnx.export(unet, (sample, timestep, ctx), path,
                      input_names=["sample", "timestep", "encoder_hidden_states"], output_names=["out_sample"],
                      dynamic_axes={"sample": batch, "timestep": {0: "steps"},
                                    "encoder_hidden_states": {0: "batch", 1: "sequence"}, "out_sample": batch},
                      opset_version=14, do_constant_folding=True)


def resume_from_export(src, text, unet, vocab, merges):
    """Loads the text encoder and UNet weights of the export in `src` (see onnx_weights.py) and
    checks them against its parity.json: what the exported graphs computed when it was made."""
    ids = torch.tensor([bpe.encode(PARITY_CAPTION, vocab, merges, MAX_LENGTH)] * 2, dtype=torch.int32)
    onnx_weights.load_from_onnx(text, os.path.join(src, "text_encoder/model.onnx"),
                                lambda m, path: export_text(m, path, ids))
    with torch.no_grad():
        ctx, _ = text(ids)
    onnx_weights.load_from_onnx(unet, os.path.join(src, "unet/model.onnx"),
                                lambda m, path: export_unet(m, path, ctx))
    with open(os.path.join(src, "parity.json")) as f:
        parity = json.load(f)
    with torch.no_grad():
        ctx, _ = text(ids)
        sample, timestep = parity_sample()
        pred = unet(sample[:1], timestep, ctx[:1])
    if ids[0].tolist() != parity["input_ids"]:
        raise SystemExit(f"{src}: the tokenizer does not give parity.json's input_ids")
    text_err = float((ctx[0, :2, :8].flatten() - torch.tensor(parity["last_hidden_state_first16"])).abs().max())
    unet_err = float((pred.flatten()[:16] - torch.tensor(parity["out_sample_first16"])).abs().max())
    print(f"resumed from {src}: parity text {text_err:.2e}, unet {unet_err:.2e}", flush=True)
    if text_err > 1e-4 or unet_err > 1e-3:
        raise SystemExit(f"{src}: the loaded weights do not reproduce parity.json")
    with open(os.path.join(src, "training.json")) as f:
        return json.load(f)["loss"]


def read_tokenizer(src):
    with open(os.path.join(src, "tokenizer/vocab.json")) as f:
        vocab = json.load(f)
    with open(os.path.join(src, "tokenizer/merges.txt")) as f:
        merges = [tuple(line.split()) for line in f.read().splitlines()[1:] if line]
    return vocab, merges


def export(out, text, unet, enc, dec, vocab, merges, scaling):
    for sub in ["text_encoder", "unet", "vae_decoder", "vae_encoder", "tokenizer", "scheduler"]:
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    batch = {0: "batch"}
    ids = torch.tensor([bpe.encode(PARITY_CAPTION, vocab, merges, MAX_LENGTH)] * 2,
                       dtype=torch.int32)
    export_text(text, os.path.join(out, "text_encoder/model.onnx"), ids)
    ctx, _ = text(ids)
    sample, timestep = parity_sample()
    export_unet(unet, os.path.join(out, "unet/model.onnx"), ctx)
    torch.onnx.export(dec, (sample,), os.path.join(out, "vae_decoder/model.onnx"),
                      input_names=["latent_sample"], output_names=["sample"],
                      dynamic_axes={"latent_sample": batch, "sample": batch}, opset_version=14)
    pixels = torch.rand(2, 3, SIZE, SIZE, generator=torch.Generator().manual_seed(2)) * 2 - 1
    torch.onnx.export(enc, (pixels,), os.path.join(out, "vae_encoder/model.onnx"),
                      input_names=["sample"], output_names=["latent_sample"],
                      dynamic_axes={"sample": batch, "latent_sample": batch}, opset_version=14)
    with torch.no_grad():
        # What the exported graphs must reproduce (src/generate/embedded.test.ts runs them).
        pred = unet(sample[:1], timestep, ctx[:1])
        parity = {
            "caption": PARITY_CAPTION,
            "input_ids": ids[0].tolist(),
            "last_hidden_state_first16": ctx[0, :2, :8].flatten().tolist(),
            "unet_timestep": 500,
            "unet_sample": [round(v, 6) for v in sample[0].flatten().tolist()],
            "out_sample_first16": pred.flatten()[:16].tolist(),
            "out_sample_mean_abs": float(pred.abs().mean()),
        }
    write_json(os.path.join(out, "parity.json"), parity)
    write_json(os.path.join(out, "model_index.json"), {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "_hallmark": "embedded-diffusion: trained by scripts/train-diffusion/train.py",
        "text_encoder": ["onnxruntime", "OnnxRuntimeModel"], "unet": ["onnxruntime", "OnnxRuntimeModel"],
        "vae_decoder": ["onnxruntime", "OnnxRuntimeModel"], "vae_encoder": ["onnxruntime", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "EulerAncestralDiscreteScheduler"],
        "safety_checker": [None, None], "feature_extractor": [None, None], "requires_safety_checker": False,
    })
    write_json(os.path.join(out, "scheduler/scheduler_config.json"), {
        "_class_name": "EulerAncestralDiscreteScheduler", "num_train_timesteps": TRAIN_TIMESTEPS,
        "beta_start": BETA_START, "beta_end": BETA_END, "beta_schedule": "scaled_linear",
        "prediction_type": "epsilon", "timestep_spacing": "leading", "steps_offset": 1,
        "set_alpha_to_one": False, "clip_sample": False,
    })
    write_json(os.path.join(out, "unet/config.json"), {
        "_class_name": "UNet2DConditionModel", "in_channels": LATENT_CHANNELS, "out_channels": LATENT_CHANNELS,
        "sample_size": SIZE // PATCH, "cross_attention_dim": TEXT_DIM,
    })
    vae = {"_class_name": "AutoencoderKL", "latent_channels": LATENT_CHANNELS, "in_channels": 3, "out_channels": 3,
           "sample_size": SIZE, "scaling_factor": scaling, "block_out_channels": [3, 3, 3],
           "_hallmark": "linear 4x4-patch PCA autoencoder; block_out_channels gives the 4x scale factor"}
    write_json(os.path.join(out, "vae_decoder/config.json"), vae)
    write_json(os.path.join(out, "vae_encoder/config.json"), vae)
    write_json(os.path.join(out, "text_encoder/config.json"), {
        "hidden_size": TEXT_DIM, "vocab_size": len(vocab), "max_position_embeddings": MAX_LENGTH,
    })
    write_json(os.path.join(out, "tokenizer/vocab.json"), vocab, indent=None)
    with open(os.path.join(out, "tokenizer/merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    write_json(os.path.join(out, "tokenizer/tokenizer_config.json"), {
        "tokenizer_class": "CLIPTokenizer", "model_max_length": MAX_LENGTH, "do_lower_case": True,
        "bos_token": bpe.BOS, "eos_token": bpe.EOS, "pad_token": bpe.EOS, "unk_token": bpe.EOS,
    })
    write_json(os.path.join(out, "tokenizer/special_tokens_map.json"), {
        "bos_token": bpe.BOS, "eos_token": bpe.EOS, "pad_token": bpe.EOS, "unk_token": bpe.EOS,
    })


def write_json(path, value, indent=1):
    with open(path, "w") as f:
        json.dump(value, f, indent=indent, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
