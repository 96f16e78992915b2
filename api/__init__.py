"""The HTTP API (FastAPI): build it with `api.main:create_app(settings)`."""
