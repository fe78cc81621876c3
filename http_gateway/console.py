"""The web console's files at /ui/, with the headers that keep what agents supplied from ever running.

The console renders agent-supplied text (ids, tags, alarm details) as text; the Content-Security-Policy is
the second wall: scripts and styles only from this server's own files (no inline script, no eval, no
inline style), requests only to this server, no framing, no plugins. No cookie carries authority: the
console sends the operator's token as a bearer header.
"""

from tornado.web import StaticFileHandler

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}


class ConsoleHandler(StaticFileHandler):
    def set_extra_headers(self, path: str) -> None:
        for name, value in HEADERS.items():
            self.set_header(name, value)
