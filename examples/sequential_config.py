#!/usr/bin/env python3
"""config.json <-> torch.nn.Sequential, the architecture description portaquant reads.

The config describes a torch.nn.Sequential one layer per entry, in order, so layer i of the
config is torch's module "i" and its parameters are the state-dict keys "i.weight", "i.bias".

    {"architecture": "Sequential", "input_shape": [1, 8, 8], "dtype": "float32", "num_classes": 10,
     "layers": [{"type": "Conv2d", ...}, {"type": "ReLU"}, ...]}

input_shape excludes the batch dimension. Supported layer types and their fields:

    Conv2d     in_channels, out_channels, kernel_size [kh,kw], stride [sh,sw], padding [ph,pw],
               dilation [dh,dw], groups, bias
    Linear     in_features, out_features, bias
    ReLU, SiLU
    GELU       approximate ("none" | "tanh")
    MaxPool2d  kernel_size [kh,kw], stride [sh,sw], padding [ph,pw]
    AvgPool2d  kernel_size [kh,kw], stride [sh,sw], padding [ph,pw]   (count_include_pad=True, no ceil)
    Flatten    start_dim, end_dim
    LayerNorm  normalized_shape [...], eps, elementwise_affine
    Embedding  num_embeddings, embedding_dim

Anything torch allows but this format cannot express (another layer type, padding_mode other
than "zeros", padding="same", ceil_mode, pooling dilation, Embedding max_norm, LayerNorm without
bias, nested containers, ...) raises UnsupportedLayerError instead of being silently dropped.

Python is only used to produce example models and fixtures; portaquant itself is C++.
"""
import json
from collections import OrderedDict

import torch
from torch import nn

__all__ = ["UnsupportedLayerError", "layer_to_dict", "layer_from_dict", "model_to_config",
           "write_config", "config_to_model", "read_config", "SUPPORTED_LAYERS"]

SUPPORTED_LAYERS = ("Conv2d", "Linear", "ReLU", "SiLU", "GELU", "MaxPool2d", "AvgPool2d", "Flatten",
                    "LayerNorm", "Embedding")

_DTYPES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16"}


class UnsupportedLayerError(ValueError):
    pass


def _pair(v, what, index):
    if isinstance(v, int):
        return [v, v]
    if isinstance(v, (tuple, list)) and len(v) == 2 and all(isinstance(x, int) for x in v):
        return [int(v[0]), int(v[1])]
    raise UnsupportedLayerError(f"layer {index}: {what}={v!r} is not an int or a pair of ints")


def _unsupported(index, module, why):
    raise UnsupportedLayerError(f"layer {index} ({type(module).__name__}): {why}")


def layer_to_dict(module, index=0):
    """One module -> one config entry; raises UnsupportedLayerError for anything not expressible."""
    t = type(module)
    if t is nn.Conv2d:
        if isinstance(module.padding, str):
            _unsupported(index, module, f"padding={module.padding!r} (only explicit padding is supported)")
        if module.padding_mode != "zeros":
            _unsupported(index, module, f"padding_mode={module.padding_mode!r} (only 'zeros')")
        return OrderedDict([
            ("type", "Conv2d"), ("in_channels", module.in_channels), ("out_channels", module.out_channels),
            ("kernel_size", _pair(module.kernel_size, "kernel_size", index)),
            ("stride", _pair(module.stride, "stride", index)),
            ("padding", _pair(module.padding, "padding", index)),
            ("dilation", _pair(module.dilation, "dilation", index)),
            ("groups", module.groups), ("bias", module.bias is not None)])
    if t is nn.Linear:
        return OrderedDict([("type", "Linear"), ("in_features", module.in_features),
                            ("out_features", module.out_features), ("bias", module.bias is not None)])
    if t is nn.ReLU:
        return OrderedDict([("type", "ReLU")])
    if t is nn.SiLU:
        return OrderedDict([("type", "SiLU")])
    if t is nn.GELU:
        if module.approximate not in ("none", "tanh"):
            _unsupported(index, module, f"approximate={module.approximate!r}")
        return OrderedDict([("type", "GELU"), ("approximate", module.approximate)])
    if t is nn.MaxPool2d:
        if module.ceil_mode:
            _unsupported(index, module, "ceil_mode=True")
        if module.return_indices:
            _unsupported(index, module, "return_indices=True")
        if _pair(module.dilation, "dilation", index) != [1, 1]:
            _unsupported(index, module, f"dilation={module.dilation!r} (only 1)")
        return OrderedDict([("type", "MaxPool2d"), ("kernel_size", _pair(module.kernel_size, "kernel_size", index)),
                            ("stride", _pair(module.stride, "stride", index)),
                            ("padding", _pair(module.padding, "padding", index))])
    if t is nn.AvgPool2d:
        if module.ceil_mode:
            _unsupported(index, module, "ceil_mode=True")
        if not module.count_include_pad:
            _unsupported(index, module, "count_include_pad=False")
        if module.divisor_override is not None:
            _unsupported(index, module, f"divisor_override={module.divisor_override!r}")
        return OrderedDict([("type", "AvgPool2d"), ("kernel_size", _pair(module.kernel_size, "kernel_size", index)),
                            ("stride", _pair(module.stride, "stride", index)),
                            ("padding", _pair(module.padding, "padding", index))])
    if t is nn.Flatten:
        return OrderedDict([("type", "Flatten"), ("start_dim", module.start_dim), ("end_dim", module.end_dim)])
    if t is nn.LayerNorm:
        if module.elementwise_affine and module.bias is None:
            _unsupported(index, module, "elementwise_affine with bias=False")
        return OrderedDict([("type", "LayerNorm"), ("normalized_shape", [int(d) for d in module.normalized_shape]),
                            ("eps", float(module.eps)), ("elementwise_affine", bool(module.elementwise_affine))])
    if t is nn.Embedding:
        if module.max_norm is not None:
            _unsupported(index, module, "max_norm is set")
        if module.scale_grad_by_freq or module.sparse:
            _unsupported(index, module, "scale_grad_by_freq/sparse")
        return OrderedDict([("type", "Embedding"), ("num_embeddings", module.num_embeddings),
                            ("embedding_dim", module.embedding_dim)])
    _unsupported(index, module, f"unsupported layer type {t.__module__}.{t.__qualname__}; "
                                f"supported: {', '.join(SUPPORTED_LAYERS)}")


def model_to_config(model, input_shape, num_classes=None):
    if type(model) is not nn.Sequential:
        raise UnsupportedLayerError(f"model must be a torch.nn.Sequential, not {type(model).__name__}")
    layers = []
    dtype = None
    for i, (name, module) in enumerate(model.named_children()):
        if name != str(i):
            raise UnsupportedLayerError(f"layer {i} is named {name!r}; the format needs torch's default names "
                                        f"'0', '1', ... (build the Sequential from positional modules)")
        layers.append(layer_to_dict(module, i))
        for p in list(module.parameters(recurse=False)) + list(module.buffers(recurse=False)):
            if p.dtype not in _DTYPES:
                raise UnsupportedLayerError(f"layer {i}: parameter dtype {p.dtype} is not supported")
            if dtype is None:
                dtype = p.dtype
            elif p.dtype != dtype:
                raise UnsupportedLayerError(f"layer {i}: mixed parameter dtypes ({dtype} and {p.dtype})")
    if not layers:
        raise UnsupportedLayerError("empty Sequential")
    if num_classes is None:
        last = [l for l in layers if l["type"] == "Linear"]
        num_classes = last[-1]["out_features"] if last else None
    return OrderedDict([
        ("architecture", "Sequential"),
        ("input_shape", [int(d) for d in input_shape]),
        ("dtype", _DTYPES[dtype or torch.float32]),
        ("num_classes", num_classes),
        ("layers", layers)])


def _dumps(config):
    """Stable text: two-space indent, one layer per line, trailing newline."""
    head = OrderedDict((k, v) for k, v in config.items() if k != "layers")
    lines = ["{"]
    for k, v in head.items():
        lines.append(f"  {json.dumps(k)}: {json.dumps(v)},")
    lines.append('  "layers": [')
    layers = config["layers"]
    for i, layer in enumerate(layers):
        lines.append("    " + json.dumps(layer) + ("," if i + 1 < len(layers) else ""))
    lines.append("  ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_config(model, path, input_shape, num_classes=None):
    """Write config.json for `model` (an nn.Sequential) to `path` (a file, or a directory)."""
    import os
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    text = _dumps(model_to_config(model, input_shape, num_classes))
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)
    return path


def _tuple(v):
    return tuple(int(x) for x in v)


def layer_from_dict(d, index=0, dtype=torch.float32):
    t = d.get("type")
    if t == "Conv2d":
        return nn.Conv2d(d["in_channels"], d["out_channels"], _tuple(d["kernel_size"]), stride=_tuple(d["stride"]),
                         padding=_tuple(d["padding"]), dilation=_tuple(d["dilation"]), groups=d["groups"],
                         bias=d["bias"], dtype=dtype)
    if t == "Linear":
        return nn.Linear(d["in_features"], d["out_features"], bias=d["bias"], dtype=dtype)
    if t == "ReLU":
        return nn.ReLU()
    if t == "SiLU":
        return nn.SiLU()
    if t == "GELU":
        return nn.GELU(approximate=d.get("approximate", "none"))
    if t == "MaxPool2d":
        return nn.MaxPool2d(_tuple(d["kernel_size"]), stride=_tuple(d["stride"]), padding=_tuple(d["padding"]))
    if t == "AvgPool2d":
        return nn.AvgPool2d(_tuple(d["kernel_size"]), stride=_tuple(d["stride"]), padding=_tuple(d["padding"]))
    if t == "Flatten":
        return nn.Flatten(d["start_dim"], d["end_dim"])
    if t == "LayerNorm":
        return nn.LayerNorm(list(d["normalized_shape"]), eps=d["eps"], elementwise_affine=d["elementwise_affine"],
                            dtype=dtype)
    if t == "Embedding":
        return nn.Embedding(d["num_embeddings"], d["embedding_dim"], dtype=dtype)
    raise UnsupportedLayerError(f"layer {index}: unsupported layer type {t!r}; supported: {', '.join(SUPPORTED_LAYERS)}")


def config_to_model(config):
    if config.get("architecture") != "Sequential":
        raise UnsupportedLayerError(f"architecture {config.get('architecture')!r} is not 'Sequential'")
    dtypes = {v: k for k, v in _DTYPES.items()}
    if config.get("dtype", "float32") not in dtypes:
        raise UnsupportedLayerError(f"dtype {config.get('dtype')!r} is not supported")
    dtype = dtypes[config.get("dtype", "float32")]
    return nn.Sequential(*[layer_from_dict(d, i, dtype) for i, d in enumerate(config["layers"])])


def read_config(path):
    """config.json (a file, or a directory holding one) -> a freshly initialised nn.Sequential."""
    import os
    if os.path.isdir(path):
        path = os.path.join(path, "config.json")
    with open(path, encoding="utf-8") as f:
        return config_to_model(json.load(f))


if __name__ == "__main__":
    # Self-check: every supported layer round-trips, unsupported ones raise.
    m = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.AvgPool2d(2, 1, 1),
                      nn.SiLU(), nn.GELU("tanh"), nn.Flatten(), nn.LayerNorm(4 * 5 * 5), nn.Linear(100, 10))
    c = model_to_config(m, [1, 8, 8])
    assert model_to_config(config_to_model(json.loads(_dumps(c))), [1, 8, 8]) == json.loads(_dumps(c))
    e = nn.Sequential(nn.Embedding(7, 3), nn.Linear(3, 2))
    assert model_to_config(config_to_model(model_to_config(e, [5])), [5]) == model_to_config(e, [5])
    for bad in (nn.Sequential(nn.Tanh()), nn.Sequential(nn.Conv2d(1, 1, 3, padding="same")),
                nn.Sequential(nn.MaxPool2d(2, ceil_mode=True)), nn.Sequential(nn.Sequential(nn.ReLU()))):
        try:
            model_to_config(bad, [1, 8, 8])
        except UnsupportedLayerError as err:
            print("ok, rejected:", err)
        else:
            raise AssertionError(f"accepted {bad}")
    print(_dumps(c), end="")
