"""`python -m corps` runs the command line."""

from corps.cli import main

main()
