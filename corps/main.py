"""The ASGI application for uvicorn: `corps.main:app`."""

from corps.app import create_app
from corps.logs import configure_logging
from corps.settings import get_settings

configure_logging(get_settings())  # here too: each of uvicorn's worker processes imports this
app = create_app()
