"""studio: `avatar studio`, a local web page that does what the CLI does (app.create_app, app.serve)."""

from pipeline.studio.app import create_app, serve

__all__ = ["create_app", "serve"]
