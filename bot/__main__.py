import sys

from bot.cli import main

# Guarded: audit worker processes (spawned) import this module as __mp_main__.
if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
