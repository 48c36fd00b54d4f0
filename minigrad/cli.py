"""Subcommands of ``python -m minigrad`` (``minigrad`` once installed). Each ``add_*_parser(subparsers)``
registers one subcommand and sets ``func`` to the function that runs it with the parsed arguments."""
import ast
import inspect
import sys


def _kv(text):
    """'key=value' -> (key, Python literal value, or the string itself)."""
    if "=" not in text:
        raise ValueError(f"expected key=value, got {text!r}")
    key, value = text.split("=", 1)
    try:
        return key, ast.literal_eval(value)
    except (ValueError, SyntaxError):
        return key, value


def add_summary_parser(subparsers):
    """``summary MODEL [--input C H W] [--batch-size N] [--num-classes K] [--depth D] [--arg key=value ...]``."""
    p = subparsers.add_parser("summary", help="print a zoo model's layers, shapes, parameters and mult-adds",
                              description="Build a model of minigrad.models and print its summary table.")
    p.add_argument("model", help="model name, e.g. resnet18, lenet5, efficientnet_b0 (see --list)",
                   nargs="?")
    p.add_argument("--input", type=int, nargs="+", metavar="DIM",
                   help="one sample's shape without the batch, e.g. 3 224 224 (default: the model's own)")
    p.add_argument("--batch-size", type=int, default=1)
    p.add_argument("--num-classes", type=int, default=None)
    p.add_argument("--depth", type=int, default=None,
                   help="merge rows below this level of the module tree (1: one row per top-level block)")
    p.add_argument("--arg", action="append", default=[], metavar="KEY=VALUE",
                   help="extra builder argument, e.g. --arg classic=True, --arg width_mult=0.5 (repeatable)")
    p.add_argument("--list", action="store_true", help="list the model names and exit")
    p.set_defaults(func=run_summary)
    return p


def run_summary(args):
    from minigrad import models
    if args.list or not args.model:
        print("\n".join(models.list_models()))
        return 0
    try:
        kw = dict(_kv(a) for a in args.arg)
        if args.num_classes is not None:
            kw["num_classes"] = args.num_classes
        model = models.get_model(args.model, **kw)
    except (ValueError, TypeError) as e:  # unknown model or builder argument: a message, not a traceback
        print(f"minigrad: error: {e}", file=sys.stderr)
        return 2
    input_size = tuple(args.input) if args.input else models.default_input_size(args.model, **kw)
    print(models.summary(model, input_size, batch_size=args.batch_size, depth=args.depth))
    return 0


def add_convert_weights_parser(subparsers):
    """``convert-weights IN.pth OUT.safetensors``: a PyTorch checkpoint to .safetensors (needs torch)."""
    p = subparsers.add_parser("convert-weights", help="convert a PyTorch checkpoint (.pth) to .safetensors",
                              description="Read a PyTorch state dict with torch.load(weights_only=True) and write "
                                          "it as .safetensors, which models.<name>(weights=...) loads without torch.")
    p.add_argument("src", metavar="IN.pth")
    p.add_argument("dst", metavar="OUT.safetensors")
    p.set_defaults(func=run_convert_weights)
    return p


def run_convert_weights(args):
    from minigrad.models.weights import convert_torch_checkpoint
    n = convert_torch_checkpoint(args.src, args.dst)
    print(f"wrote {n} tensors to {args.dst}")
    return 0


def add_export_parser(subparsers):
    """``export MODEL CHECKPOINT OUT.onnx [--input C H W] [--batch-size N] [--num-classes K] [--opset N]``."""
    p = subparsers.add_parser("export", help="write a zoo model with trained weights as an ONNX file",
                              description="Build MODEL, load CHECKPOINT (a training job's checkpoint.mg, a "
                                          "minigrad.save state dict or a .safetensors file) and write it as ONNX "
                                          "(needs the onnx package).")
    p.add_argument("model", help="model name, e.g. lenet5, resnet18")
    p.add_argument("checkpoint")
    p.add_argument("out", metavar="OUT.onnx")
    p.add_argument("--input", type=int, nargs=3, metavar=("C", "H", "W"),
                   help="one sample's shape (default: what the training job fed the model, else the model's own)")
    p.add_argument("--batch-size", type=int, default=1, help="the batch size fixed in the file (default 1)")
    p.add_argument("--num-classes", type=int, default=None,
                   help="default: the training job's dataset, else the builder's default")
    p.add_argument("--opset", type=int, default=17)
    p.set_defaults(func=run_export)
    return p


def _job_settings(path):
    """(num_classes, (C, H, W)) of the images a training job's checkpoint was trained on, or (None, None)."""
    from minigrad import datasets, load
    from minigrad.serialization import CheckpointError
    try:
        ckpt = load(path, map_location="cpu")
    except CheckpointError:
        return None, None          # not a minigrad checkpoint (.safetensors): nothing to learn from it
    cfg = ckpt.get("config") if isinstance(ckpt, dict) else None
    ds = datasets.DATASETS.get(str((cfg or {}).get("dataset", "")).lower())
    if ds is None:
        return None, None
    channels = len(ds.mean)
    # the job's transforms: LeNet-5 reads 32x32 (digits padded); otherwise the images' own size
    side = 32 if cfg["model"].startswith("lenet") or channels == 3 else 28
    return len(ds.classes) if ds.classes else 10, (channels, side, side)


def run_export(args):
    from minigrad import models, onnx, train, zeros
    from minigrad.models.weights import load_weights, read_state_dict
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    state = read_state_dict(args.checkpoint)
    num_classes, job_input = _job_settings(args.checkpoint)
    num_classes = args.num_classes or num_classes
    first_conv = next((v for v in state.values() if v.ndim == 4), None)
    in_channels = int(first_conv.shape[1]) if first_conv is not None else 3
    builder = models.MODELS.get(args.model.lower().replace("-", "_"))
    if builder is None:
        raise ValueError(f"unknown model {args.model!r}; available: {', '.join(models.list_models())}")
    if num_classes is None:
        num_classes = inspect.signature(builder).parameters["num_classes"].default
    model = load_weights(train.build_model(args.model, num_classes, in_channels), args.checkpoint)
    shape = tuple(args.input or job_input or (in_channels,) + tuple(models.default_input_size(args.model)[1:]))
    proto = onnx.export(model, zeros(args.batch_size, *shape), args.out, opset=args.opset)
    print(f"wrote {args.out}: {args.model}, input {(args.batch_size,) + shape}, {len(proto.graph.node)} nodes, "
          f"opset {args.opset}")
    return 0
