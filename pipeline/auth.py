"""Bearer tokens: one for the User API, a separate one for the Agent API, either optional.

Both transports ask the same question, through the request pipeline: does this `Authorization` value (HTTP
header, gRPC metadata) carry the token of the API this RPC belongs to? Tokens are compared in constant
time. Tokens come from a file or an environment variable, never from a command-line flag, which every user
of the machine can read in `ps`.
"""

import hmac
import ipaddress
from dataclasses import dataclass

from pipeline.rpcs import Api


@dataclass(frozen=True)
class Tokens:
    user: bytes | None = None
    agent: bytes | None = None

    def required(self, api: Api) -> bytes | None:
        """The token `api` needs, or None when it is open."""
        return self.user if api is Api.USER else self.agent

    def allows(self, api: Api, authorization: str | None) -> bool:
        expected = self.required(api)
        if expected is None:
            return True
        if not authorization:
            return False
        scheme, _, given = authorization.partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected)


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
    if exposed and tokens.user is None and not allow_unauthenticated_user_api:
        raise ValueError(
            f"the User API would listen on {', '.join(exposed)} without a token: anyone who reaches it could "
            "change every agent's configs. Set CONFIGSERVER_USER_TOKEN or --user-token-file, or pass "
            "--allow-unauthenticated-user-api if something in front of it authenticates"
        )
