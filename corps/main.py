"""The ASGI application for uvicorn: `corps.main:app`."""

from corps.app import create_app

app = create_app()
