"""`python -m smartcustoms.cli.risk`: the risk commands on their own."""

from smartcustoms.cli.risk import app

app()
