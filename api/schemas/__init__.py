"""Request and response bodies (pydantic 2), one module per resource."""
