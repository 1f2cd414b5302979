"""`python -m orderhub ...`: the same commands as the `orderhub` script."""

from orderhub.cli import main

main()
