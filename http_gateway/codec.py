"""Request and response bodies: protobuf by default, proto3 JSON on request.

A request is read as JSON only when its Content-Type says `application/json`; a missing, unknown or
misspelt one (agents have sent `application/x-protouf`) is read as protobuf. The answer takes the
request's format unless `Accept` names only the other one. A body-less request may carry the request's
scalar fields as query parameters (`GET /User/GetConfig?config_name=c1`).

JSON is strict: a field the message does not have is refused, naming it, because a misspelt field would
otherwise be dropped without a word (a HeartBeat with "tag" for "tags" gets no configs). Protobuf keeps
accepting unknown fields, which is how newer clients talk to older servers.
"""

import json
from collections.abc import Mapping
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message

from core import errors
from pipeline.answers import AnyAnswer, as_message, wire_bytes

PROTOBUF = "application/x-protobuf"
JSON = "application/json"


def is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() == JSON


def answers_json(request_is_json: bool, accept: str) -> bool:
    """Whether the answer is JSON: the request's format, unless Accept names only the other one."""
    accept = accept.lower()
    wants_json, wants_protobuf = JSON in accept, PROTOBUF in accept
    if request_is_json:
        return not (wants_protobuf and not wants_json)
    return wants_json and not wants_protobuf


def _unknown_field(document: dict[str, Any], descriptor: Any, where: str) -> str | None:
    """The first field of `document` (at any depth) that its message does not have, as a message."""
    fields = {**descriptor.fields_by_name, **{field.json_name: field for field in descriptor.fields}}
    for key, value in document.items():
        field = fields.get(key)
        if field is None:
            known = ", ".join(sorted(descriptor.fields_by_name))
            return f'Unknown field "{key}" in {where or descriptor.name} (its fields: {known}).'
        if field.message_type is None:
            continue
        entry: Any = field.message_type
        items: list[Any] = value if isinstance(value, list) else [value]
        if entry.GetOptions().map_entry:  # a map: its values are checked when they are messages
            entry = entry.fields_by_name["value"].message_type
            items = list(value.values()) if isinstance(value, dict) and entry is not None else []
        for item in items:
            found = (
                _unknown_field(item, entry, f"{where or descriptor.name}.{key}")
                if isinstance(item, dict)
                else None
            )
            if found:
                return found
    return None


def decode(message: Message, body: bytes, as_json: bool) -> None:
    """Fill `message` from `body`; an undecodable body raises BadRequest."""
    try:
        if as_json:
            document = json.loads(body)
            if not isinstance(document, dict):
                raise ValueError("a JSON request body must be an object")
            unknown = _unknown_field(document, message.DESCRIPTOR, "")
            if unknown:
                raise errors.bad_request(unknown)
            json_format.ParseDict(document, message)
        else:
            message.ParseFromString(body)
    except (DecodeError, json_format.ParseError, UnicodeDecodeError, RecursionError, ValueError) as error:
        kind = "JSON" if as_json else "protobuf"
        hint = ""
        if not as_json and body.lstrip()[:1] in (b"{", b"["):
            hint = " It looks like JSON: send JSON with the header Content-Type: application/json."
        raise errors.bad_request(
            f"The body is not a valid {kind} {message.DESCRIPTOR.name}: {error}.{hint}"
        ) from None


def decode_query(message: Message, arguments: Mapping[str, list[bytes]]) -> None:
    """Fill `message`'s scalar fields from query parameters named by their proto or JSON names."""
    fields = message.DESCRIPTOR.fields_by_name
    json_names = {field.json_name: field.name for field in fields.values()}
    values: dict[str, str] = {}
    for name, given in arguments.items():
        field_name = name if name in fields else json_names.get(name)
        if field_name is None or fields[field_name].message_type is not None:
            continue
        try:
            values[field_name] = given[-1].decode("utf-8")
        except UnicodeDecodeError:
            raise errors.bad_request(f"The query parameter {name} is not UTF-8.") from None
    try:
        json_format.ParseDict(values, message)
    except json_format.ParseError as error:
        raise errors.bad_request(f"Invalid query parameters: {error}") from None


def encode(answer: AnyAnswer, as_json: bool) -> tuple[bytes, str]:
    """The body and Content-Type of an answer."""
    if as_json:
        text = json_format.MessageToJson(
            as_message(answer), indent=None, always_print_fields_with_no_presence=True
        )
        return text.encode("utf-8"), JSON
    return wire_bytes(answer), PROTOBUF
