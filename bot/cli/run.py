"""`python -m bot run`: placeholder until its issue lands."""

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs="*")


def run(args: argparse.Namespace) -> int:
    print("'run' is not available yet", file=sys.stderr)
    return 2
