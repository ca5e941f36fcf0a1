"""`python -m qanagat`: the same command line as `qanagat`."""

from qanagat.cli import main

main(prog_name="qanagat")
