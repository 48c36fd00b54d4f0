"""``python -m minigrad <subcommand>``: a thin dispatcher; the subcommands live in ``minigrad.cli``.

A user's mistake (an unknown model, a missing or corrupt file, no GPU, a bad number) ends with one line,
``minigrad: error: ...``, and exit status 2; Ctrl-C ends with one line and status 130. ``--debug`` (or
``MINIGRAD_DEBUG=1``) shows the traceback instead."""
import argparse
import os
import sys


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser whose errors (a bad number, an unknown choice, a missing argument) are one line like
    every other user error, ``minigrad: error: ...``, exit status 2, instead of the usage block above it
    (``--help`` shows the usage). Subcommand parsers are of the same class."""

    def error(self, message):
        self.exit(2, f"minigrad: error: {message} (see {self.prog} --help)\n")


def build_parser():
    from . import __version__, cli, train
    parser = ArgumentParser(prog="minigrad", description="minigrad command-line tools")
    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    train.add_train_parser(subparsers)
    cli.add_summary_parser(subparsers)
    cli.add_convert_weights_parser(subparsers)
    cli.add_export_parser(subparsers)
    return parser


def _user_errors():
    """The exception types that mean 'the input was wrong', not 'minigrad is broken'."""
    from .backend import DeviceUnavailableError
    from .onnx import ExportError
    from .serialization import CheckpointError
    from .train import TrainingDivergedError
    from .utils.data.download import DownloadError
    return (ValueError, OSError, ImportError, CheckpointError, DownloadError, DeviceUnavailableError,
            TrainingDivergedError, ExportError)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 2
    debug = args.debug or os.environ.get("MINIGRAD_DEBUG", "") not in ("", "0")
    try:
        return args.func(args) or 0
    except KeyboardInterrupt as e:
        if debug:
            raise
        print("minigrad: interrupted" + (f" {e}" if str(e) else ""), file=sys.stderr)
        return 130
    except _user_errors() as e:
        if debug:
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"minigrad: error: {message} (run with --debug for the traceback)", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
