"""Weights of a trained model read back from its own ONNX export, so training can resume from
what is shipped in models/ when the torch checkpoint is gone.

torch.onnx.export with constant folding renames many parameters: a Linear weight becomes an
anonymous "onnx::MatMul_N" initializer holding its transpose, a GroupNorm's scale an
"onnx::Mul_N" of shape [C, 1, 1]. The names depend only on the module code and the torch
version, so exporting a freshly built module of the same shape gives the same names; its
parameters, filled with distinct values, say which parameter each initializer holds and whether
it is transposed. The shipped initializers are then copied into the parameters through that map.
The caller checks the result against the export's parity.json.
"""

import os
import tempfile

import numpy as np
import onnx
import torch
from onnx import numpy_helper


def _initializers(path):
    model = onnx.load(path)
    return {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}


def load_from_onnx(module: torch.nn.Module, onnx_path: str, export) -> None:
    """Copies the parameters of `module` from the ONNX file `onnx_path`. `export(module, path)`
    must export the module exactly as the shipped file was exported."""
    params = dict(module.named_parameters())
    with torch.no_grad():
        # Distinct values per parameter and element, so each initializer matches one parameter.
        gen = torch.Generator().manual_seed(7)
        for p in params.values():
            p.copy_(torch.rand(p.shape, generator=gen) + 1.0)
    with tempfile.TemporaryDirectory() as tmp:
        probe_path = os.path.join(tmp, "probe.onnx")
        export(module, probe_path)
        probe = _initializers(probe_path)
    shipped = _initializers(onnx_path)
    if set(probe) != set(shipped):
        missing = sorted(set(probe) ^ set(shipped))[:5]
        raise SystemExit(f"{onnx_path}: initializer names differ from a fresh export ({missing}); "
                         "export with the torch version and code that made it")
    loaded = set()
    with torch.no_grad():
        for name, value in probe.items():
            match = _match(value, params)
            if match is None:
                continue  # a folded constant that is no parameter (e.g. a shape)
            pname, transposed = match
            w = torch.from_numpy(np.array(shipped[name]))
            p = params[pname]
            p.copy_((w.reshape(p.shape[::-1]).t() if transposed else w.reshape(p.shape)).to(p.dtype))
            loaded.add(pname)
    left = sorted(set(params) - loaded)
    if left:
        raise SystemExit(f"{onnx_path}: no initializer holds {left[:5]} ({len(left)} parameters)")


def _match(value, params):
    flat = value.reshape(-1)
    for pname, p in params.items():
        if p.numel() != flat.size:
            continue
        data = p.detach().numpy()
        if np.array_equal(flat, data.reshape(-1)):
            return pname, False
        if data.ndim == 2 and np.array_equal(flat, data.T.reshape(-1)):
            return pname, True
    return None
