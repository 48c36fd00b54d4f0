"""``python -m minigrad <subcommand>``: a thin dispatcher; the subcommands live in ``minigrad.cli``."""
import argparse
import sys


def build_parser():
    from . import cli, train
    from . import __version__
    parser = argparse.ArgumentParser(prog="minigrad", description="minigrad command-line tools")
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    train.add_train_parser(subparsers)
    cli.add_summary_parser(subparsers)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())
