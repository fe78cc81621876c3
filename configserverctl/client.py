"""The User API over HTTP JSON, with the standard library only.

Every call is one request to `/User/<Rpc>` with a JSON body (the proto3 JSON mapping) and an answer whose
`code` says whether the server accepted it. Refusals and transport failures become click exceptions, so
that every command fails the same way: the server's code and message on stderr, and an exit code that
tells a refusal (1) from a server that could not be reached (3).
"""

import http.client
import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

import click

from configserverctl.routes import WRITE_METHODS

EXIT_REFUSED = 1
"""The server answered with a code other than Accept."""
EXIT_UNREACHABLE = 3
"""No answer, or an answer that is not a ConfigServer's."""

Answer = dict[str, Any]
"""A decoded answer: the proto3 JSON mapping (lowerCamelCase names, int64 as strings)."""


class Refused(click.ClickException):
    """The server refused the call: its code and message."""

    exit_code = EXIT_REFUSED

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message
        self.status = status


class Unreachable(click.ClickException):
    """No ConfigServer answered."""

    exit_code = EXIT_UNREACHABLE


class Api:
    """A ConfigServer's User API at `url`, called with `token` as the bearer token when there is one."""

    def __init__(self, url: str, token: str | None, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/") if "://" in url else f"http://{url.rstrip('/')}"
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if token:
            self._headers["Authorization"] = f"Bearer {token}"

    def call(self, rpc: str, body: Mapping[str, Any] | None = None) -> Answer:
        """The accepted answer of `rpc`; raises Refused or Unreachable."""
        status, payload = self._send(rpc, json.dumps(body or {}).encode())
        answer = self._decode(rpc, status, payload)
        if answer["code"] == "Accept":
            return answer
        message = str(answer.get("message", ""))
        if answer["code"] == "Unauthenticated" and "Authorization" not in self._headers:
            message += " Set CONFIGSERVER_TOKEN, or give --token-file."
        raise Refused(answer["code"], message, status)

    def pages(self, rpc: str, body: Mapping[str, Any], items: str, page_size: int, limit: int = 0) -> Answer:
        """The answer of a paged `rpc` with the `items` of every page (of `limit` items at most when it is
        not 0); `nextPageToken` is empty unless the limit cut the listing short."""
        collected: list[Any] = []
        token = ""
        while True:
            size = page_size if not limit else min(page_size, limit - len(collected))
            answer = self.call(rpc, {**body, "pageSize": size, "pageToken": token})
            collected.extend(answer.get(items, []))
            token = answer.get("nextPageToken", "")
            if not token or (limit and len(collected) >= limit):
                return {**answer, items: collected}

    def _send(self, rpc: str, data: bytes) -> tuple[int, bytes]:
        method = WRITE_METHODS.get(rpc, "POST")
        request = urllib.request.Request(f"{self.url}/User/{rpc}", data, self._headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return int(response.status), bytes(response.read())
        except urllib.error.HTTPError as error:  # a refusal: the body says why
            with error:
                return error.code, error.read()
        except (OSError, http.client.HTTPException) as error:
            reason = getattr(error, "reason", error)
            raise Unreachable(f"cannot reach the ConfigServer at {self.url}: {reason}") from error

    def _decode(self, rpc: str, status: int, payload: bytes) -> Answer:
        try:
            answer = json.loads(payload)
        except ValueError:
            answer = None
        if not isinstance(answer, dict) or not isinstance(answer.get("code"), str):
            raise Unreachable(
                f"{self.url}/User/{rpc} answered HTTP {status} with something that is not a ConfigServer's "
                "answer: is --server (CONFIGSERVER_URL) right?"
            )
        return answer
