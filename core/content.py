"""Config content as LoongCollector (v2) agents need it: a JSON object.

Operators write content in YAML or JSON. v2 agents parse a config's detail as a JSON object and add
`"version"` to it, so content that is a JSON object is sent as it is, a YAML mapping is converted to JSON
(safe loading), and anything else cannot reach v2 agents (they would report it FAILED anyway). YAML with
anchors and aliases is not converted: an alias expands on conversion, so a few lines could become
gigabytes of JSON. Alpha and v1 agents get the content as stored.

A config's (name, version) never holds two contents (versions never repeat), so conversions are cached by
it, bounded.
"""

import json
from functools import lru_cache

import yaml

from core.model import Config

CACHED = 1024
"""Converted contents kept."""


def json_object(config: Config) -> bytes | None:
    """The config's content as a JSON object's UTF-8 text, or None when it is neither a JSON object nor a
    YAML mapping without aliases."""
    return _converted(config.name, config.version, config.content)


@lru_cache(maxsize=CACHED)
def _converted(name: str, version: int, content: str) -> bytes | None:
    try:
        if isinstance(json.loads(content), dict):
            return content.encode()
    except ValueError:
        pass
    try:
        if any(isinstance(event, yaml.AliasEvent) for event in yaml.parse(content, Loader=yaml.SafeLoader)):
            return None
        document = yaml.safe_load(content)
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(document, dict):
        return None
    try:
        return json.dumps(document, ensure_ascii=False, default=str).encode()
    except (TypeError, ValueError, RecursionError):
        return None
