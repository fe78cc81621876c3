"""The web console: static files (HTML, JavaScript, CSS) served by the HTTP listener at /ui/, talking to the
User API with the operator's token. No build step: what is here is what the browser runs."""

from pathlib import Path

STATIC = Path(__file__).parent / "static"
"""The console's files."""
