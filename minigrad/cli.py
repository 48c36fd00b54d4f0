"""Subcommands of ``python -m minigrad`` (``minigrad`` once installed). Each ``add_*_parser(subparsers)``
registers one subcommand and sets ``func`` to the function that runs it with the parsed arguments."""
import ast
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
        print(f"minigrad summary: error: {e}", file=sys.stderr)
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
