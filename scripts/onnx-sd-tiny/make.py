"""Writes a tiny Stable Diffusion ONNX export with random weights for the onnx-sd tests:

  python3 scripts/onnx-sd-tiny/make.py [OUT]   (default src/generate/onnx-sd/fixtures/tiny-sd)

Same folder layout and tensor signatures as an SD 1.x export by diffusers' conversion script /
Hugging Face optimum, at toy sizes (a few kB per model):

  text_encoder  input_ids int32 [batch, 77] -> last_hidden_state [batch, 77, 32], pooler_output
  unet          sample float [batch, 4, h, w], timestep float [1] (diffusers' script exports a
                float timestep; optimum an int64 one: the embedded model covers that),
                encoder_hidden_states [batch, 77, 32] -> out_sample [batch, 4, h, w]
  vae_decoder   latent_sample [batch, 4, h, w] -> sample [batch, 3, 8h, 8w]
  vae_encoder   sample [batch, 3, H, W] -> latent_parameters [batch, 8, H/8, W/8] (optimum's
                mean + log-variance output)
  tokenizer     vocab.json / merges.txt: CLIP's byte-level BPE learned on a few phrases
  scheduler     scheduler_config.json of SD 1.5 (PNDMScheduler, scaled_linear, leading, offset 1)

There is deliberately no unet/config.json or vae config.json: the pipeline's SD defaults
(4 latent channels, scale factor 8, scaling_factor 0.18215) are what the tests exercise. Weights
are seeded; the graphs are deterministic, so same seed -> same image bytes.
"""

import json
import os
import sys

import torch
import torch.nn.functional as F
from torch import nn

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train-diffusion"))
import bpe  # noqa: E402

MAX_LENGTH = 77
DIM = 32


class TextEncoder(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, DIM)
        self.positions = nn.Parameter(torch.randn(MAX_LENGTH, DIM) * 0.1)
        self.mix = nn.Linear(DIM, DIM)

    def forward(self, input_ids):
        x = self.tokens(input_ids.long()) + self.positions[: input_ids.shape[1]]
        # Causal running mean, as a stand-in for CLIP's causal attention: token i sees 0..i.
        counts = torch.arange(1, x.shape[1] + 1, dtype=torch.float32)[None, :, None]
        x = torch.tanh(self.mix(torch.cumsum(x, dim=1) / counts))
        return x, x[:, -1]


class UNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Conv2d(4, 8, 3, padding=1)
        self.t = nn.Linear(1, 8)
        self.c = nn.Linear(DIM, 8)
        self.out = nn.Conv2d(8, 4, 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states):
        t = (timestep.float().reshape(-1).expand(sample.shape[0]) / 1000.0)[:, None]
        cond = self.t(t) + self.c(encoder_hidden_states.mean(dim=1))
        h = torch.tanh(self.inp(sample) + cond[:, :, None, None])
        return self.out(h)


class VaeDecoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 3, 1)

    def forward(self, latent_sample):
        return torch.tanh(F.interpolate(self.conv(latent_sample), scale_factor=8.0, mode="nearest"))


class VaeEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 1)

    def forward(self, sample):
        return self.conv(F.avg_pool2d(sample, 8))


def write_json(path, value):
    with open(path, "w") as f:
        json.dump(value, f, indent=1, ensure_ascii=False)
        f.write("\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "..", "..", "src", "generate", "onnx-sd", "fixtures", "tiny-sd"
    )
    torch.manual_seed(7)
    phrases = ["a photo of a cat", "a red apple on a table", "a watercolour fox in the snow",
               "a lighthouse at dusk", "an astronaut riding a horse"]
    vocab, merges = bpe.learn(phrases * 3)
    for sub in ["text_encoder", "unet", "vae_decoder", "vae_encoder", "tokenizer", "scheduler"]:
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    text, unet, dec, enc = TextEncoder(len(vocab)), UNet(), VaeDecoder(), VaeEncoder()
    ids = torch.tensor([bpe.encode("a photo of a cat", vocab, merges, MAX_LENGTH)] * 2, dtype=torch.int32)
    ctx, _ = text(ids)
    sample = torch.randn(2, 4, 8, 8)
    kw = dict(opset_version=14, do_constant_folding=True)
    torch.onnx.export(text, (ids,), os.path.join(out, "text_encoder/model.onnx"),
                      input_names=["input_ids"], output_names=["last_hidden_state", "pooler_output"],
                      dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                                    "last_hidden_state": {0: "batch", 1: "sequence"},
                                    "pooler_output": {0: "batch"}}, **kw)
    torch.onnx.export(unet, (sample, torch.tensor([500.0]), ctx), os.path.join(out, "unet/model.onnx"),
                      input_names=["sample", "timestep", "encoder_hidden_states"], output_names=["out_sample"],
                      dynamic_axes={"sample": {0: "batch", 2: "height", 3: "width"}, "timestep": {0: "steps"},
                                    "encoder_hidden_states": {0: "batch", 1: "sequence"},
                                    "out_sample": {0: "batch", 2: "height", 3: "width"}}, **kw)
    torch.onnx.export(dec, (sample,), os.path.join(out, "vae_decoder/model.onnx"),
                      input_names=["latent_sample"], output_names=["sample"],
                      dynamic_axes={"latent_sample": {0: "batch", 2: "height", 3: "width"},
                                    "sample": {0: "batch", 2: "h", 3: "w"}}, **kw)
    torch.onnx.export(enc, (torch.rand(1, 3, 64, 64),), os.path.join(out, "vae_encoder/model.onnx"),
                      input_names=["sample"], output_names=["latent_parameters"],
                      dynamic_axes={"sample": {0: "batch", 2: "height", 3: "width"},
                                    "latent_parameters": {0: "batch", 2: "h", 3: "w"}}, **kw)
    write_json(os.path.join(out, "model_index.json"), {
        "_class_name": "OnnxStableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "_hallmark": "tiny random-weight test model: scripts/onnx-sd-tiny/make.py",
        "text_encoder": ["onnxruntime", "OnnxRuntimeModel"], "unet": ["onnxruntime", "OnnxRuntimeModel"],
        "vae_decoder": ["onnxruntime", "OnnxRuntimeModel"], "vae_encoder": ["onnxruntime", "OnnxRuntimeModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "scheduler": ["diffusers", "PNDMScheduler"],
    })
    write_json(os.path.join(out, "scheduler/scheduler_config.json"), {
        "_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear",
        "beta_start": 0.00085, "num_train_timesteps": 1000, "set_alpha_to_one": False,
        "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None, "clip_sample": False,
    })
    write_json(os.path.join(out, "tokenizer/vocab.json"), vocab)
    with open(os.path.join(out, "tokenizer/merges.txt"), "w") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    write_json(os.path.join(out, "tokenizer/tokenizer_config.json"), {
        "model_max_length": MAX_LENGTH, "do_lower_case": True, "tokenizer_class": "CLIPTokenizer",
        "bos_token": {"content": bpe.BOS}, "eos_token": {"content": bpe.EOS},
        "pad_token": "<|endoftext|>", "unk_token": {"content": bpe.EOS},
    })
    # Reference token ids from bpe.py (CLIP's algorithm, independent of the TypeScript one).
    cases = ["a photo of a cat", "A  Red APPLE!!", "astronaut's horse, 2 foxes", "café au lait", "",
             "snow " * 40]
    write_json(os.path.join(out, "..", "tokenizer-cases.json"),
               [{"text": c, "ids": bpe.encode(c, vocab, merges, MAX_LENGTH)} for c in cases])
    print("wrote", out)


if __name__ == "__main__":
    main()
