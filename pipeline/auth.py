"""Bearer tokens: named User API tokens with a role each, and a separate Agent API token; either optional.

Both transports ask the same question, through the request pipeline: whose token does this `Authorization`
value (HTTP header, gRPC metadata) carry, for the API this RPC belongs to? A User API token has a name
(the actor of the audit trail) and a role: `viewer` may call the User API's reads, `editor` all of it.
Tokens are compared in constant time, every configured token each time, and never logged. They come from
a file or an environment variable, never from a command-line flag, which every user of the machine can
read in `ps`.

The token file holds one `NAME ROLE TOKEN` per line (blank lines and `#` comments ignored); a file holding
a single bare token still works, as the editor named `user`.
"""

import hmac
import ipaddress
from dataclasses import dataclass
from enum import StrEnum

from core.model import ANONYMOUS
from pipeline.rpcs import Api

SINGLE_TOKEN_NAME = "user"
"""The name of the User API token given alone (a bare token in the file or the environment)."""


class Role(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"


@dataclass(frozen=True)
class UserToken:
    name: str
    role: Role
    secret: bytes


@dataclass(frozen=True)
class Identity:
    """Who a call's token says it is: the actor of the audit trail, and what the token may do."""

    name: str
    role: Role


OPEN = Identity(ANONYMOUS, Role.EDITOR)
"""Anyone calling an API that has no tokens."""


def parse_user_tokens(text: str, source: str) -> tuple[UserToken, ...]:
    """The tokens of a token file's `text` (or a bare token); ValueError naming the line, never the token."""
    lines = [
        (number, line.split())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise ValueError(f"{source} holds no token")
    if len(lines) == 1 and len(lines[0][1]) == 1:
        return (UserToken(SINGLE_TOKEN_NAME, Role.EDITOR, lines[0][1][0].encode()),)
    tokens: list[UserToken] = []
    for number, fields in lines:
        if len(fields) != 3:
            raise ValueError(f"{source} line {number}: expected NAME ROLE TOKEN")
        name, role, secret = fields
        if role not in tuple(Role):
            raise ValueError(f"{source} line {number}: the second field, the role, must be viewer or editor")
        if any(token.name == name for token in tokens):
            raise ValueError(f"{source} line {number}: the name {name} is given twice")
        if any(token.secret == secret.encode() for token in tokens):
            raise ValueError(f"{source} line {number}: the same token is given twice")
        tokens.append(UserToken(name, Role(role), secret.encode()))
    return tuple(tokens)


def _bearer(authorization: str | None) -> bytes | None:
    if not authorization:
        return None
    scheme, _, given = authorization.partition(" ")
    return given.strip().encode() if scheme.lower() == "bearer" else None


@dataclass(frozen=True)
class Tokens:
    user: tuple[UserToken, ...] = ()
    agent: bytes | None = None

    def required(self, api: Api) -> bool:
        """Whether calls of `api` must carry a token (else a transport need not read one)."""
        return bool(self.user) if api is Api.USER else self.agent is not None

    def identify(self, api: Api, authorization: str | None) -> Identity | None:
        """Whose token `authorization` carries for `api`: OPEN when the API has none, None when it is
        missing or wrong."""
        if api is Api.AGENT:
            if self.agent is None:
                return OPEN
            given = _bearer(authorization)
            return OPEN if given is not None and hmac.compare_digest(given, self.agent) else None
        if not self.user:
            return OPEN
        given = _bearer(authorization)
        if given is None:
            return None
        found: UserToken | None = None
        for token in self.user:  # every token, so that the time does not tell which one matched
            if hmac.compare_digest(given, token.secret):
                found = token
        return None if found is None else Identity(found.name, found.role)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_exposure(tokens: Tokens, hosts: list[str], allow_unauthenticated_user_api: bool) -> None:
    """Refuse to serve the User API beyond loopback without a token, unless told to."""
    exposed = [host for host in hosts if not is_loopback(host)]
    if exposed and not tokens.user and not allow_unauthenticated_user_api:
        raise ValueError(
            f"the User API would listen on {', '.join(exposed)} without a token: anyone who reaches it could "
            "change every agent's configs. Set CONFIGSERVER_USER_TOKEN or --user-token-file, or pass "
            "--allow-unauthenticated-user-api if something in front of it authenticates"
        )
