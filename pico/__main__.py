import sys

from pico.cli import main

sys.exit(main(sys.argv[1:]))
