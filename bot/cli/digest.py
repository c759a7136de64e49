"""`python -m bot digest`: placeholder until its issue lands."""

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("rest", nargs="*")


def run(args: argparse.Namespace) -> int:
    print("'digest' is not available yet", file=sys.stderr)
    return 2
