"""The ASGI application uvicorn serves: `smartcustoms.web.main:app`."""

from smartcustoms.web.app import create_app

app = create_app()
