"""The configuration's JSON schema (``dendritic/schema/config.schema.yaml``, package data of
``dendritic``, read with :mod:`importlib.resources` so that an installed copy validates too): its
defaults and allowed values, the conversion of values to the types it asks for, and one readable
line per problem. :func:`dendritic.config.validate_config` is the validation that uses them.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

#: The configuration's JSON schema, package data of ``dendritic`` (``workflow/schemas/`` links to it).
SCHEMA_PATH = Path(str(resources.files("dendritic") / "schema" / "config.schema.yaml"))


@functools.cache
def _packaged_schema() -> dict[str, Any]:
    with open(SCHEMA_PATH) as fh:
        return yaml.safe_load(fh)


def _schema_node(*keys: str) -> dict[str, Any]:
    node = _packaged_schema()
    for key in keys:
        node = node["properties"][key]
    return node


def schema_default(*keys: str) -> Any:
    """The schema's default of the key ``keys`` (e.g. ``schema_default("training", "lr")``)."""
    return _schema_node(*keys)["default"]


def schema_choices(*keys: str) -> tuple[str, ...]:
    """The values the schema allows for the key ``keys`` (its ``enum``)."""
    return tuple(_schema_node(*keys)["enum"])


def describe_config_errors(config: dict[str, Any], schema_path: str | Path = SCHEMA_PATH) -> str:
    """Check ``config`` against the JSON schema; return one readable line per problem ('' if none).

    Each line names the key (as a dotted path), what is wrong, and the allowed keys or values,
    with a "did you mean" for near-miss typos.
    """
    import difflib

    import jsonschema

    schema = _load_schema(schema_path)
    validator = jsonschema.Draft202012Validator(schema)
    lines = []
    for err in sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path))):
        where = ".".join(str(p) for p in err.absolute_path) or "top level"
        if err.validator == "additionalProperties":
            allowed = list(err.schema.get("properties", {}))
            for key in sorted(set(err.instance) - set(allowed)):
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                lines.append(f"unknown key '{key}' in {where}{hint}; allowed keys: {', '.join(allowed)}")
        elif err.validator == "enum":
            allowed = [str(v) for v in err.validator_value]
            close = difflib.get_close_matches(str(err.instance), allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            lines.append(f"{where}: '{err.instance}' is not allowed{hint}; allowed values: {', '.join(allowed)}")
        else:
            lines.append(f"{where}: {err.message}")
    return "\n".join(lines)


def _load_schema(schema_path: str | Path) -> dict[str, Any]:
    if Path(schema_path) == SCHEMA_PATH:
        return _packaged_schema()
    with open(schema_path) as fh:
        return yaml.safe_load(fh)


#: A decimal number as YAML 1.2 writes it. PyYAML (YAML 1.1) reads ``1e-3`` (no dot) as a string.
_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its local ``$ref`` (``#/definitions/...``) merged in."""
    while "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = {**node, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _from_text(text: str, types: set[str]) -> Any:
    """``text`` read with YAML semantics, if that gives a type the schema allows; else ``text``."""
    number = text.strip()
    if types & {"number", "integer"} and _NUMBER.match(number):
        return int(number) if re.fullmatch(r"[-+]?\d+", number) else float(number)
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    fits = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "array": isinstance(value, list),
        "object": isinstance(value, dict),
    }
    return value if any(fits.get(t, False) for t in types) else text


def _coerce(value: Any, schema: dict[str, Any], root: dict[str, Any]) -> Any:
    schema = _resolve(schema, root)
    types = schema.get("type", [])
    types = {types} if isinstance(types, str) else set(types)
    if isinstance(value, str) and types and "string" not in types:
        value = _from_text(value, types)
    if isinstance(value, float) and "integer" in types and value.is_integer():
        return int(value)  # 1.0 where an integer is wanted: 1 (D1.0_S32 is no cell any rule makes)
    if isinstance(value, dict) and "object" in types:
        props, other = schema.get("properties", {}), schema.get("additionalProperties")
        for key in list(value):
            sub = props.get(key, other if isinstance(other, dict) else None)
            if sub is not None:
                value[key] = _coerce(value[key], sub, root)
    elif isinstance(value, list) and "array" in types and isinstance(schema.get("items"), dict):
        value[:] = [_coerce(v, schema["items"], root) for v in value]
    return value


def coerce_config(config: dict[str, Any], schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Give every value the type the schema asks for, where that is unambiguous (in place).

    * Text where the schema wants a number, a boolean, a list or a mapping is read with YAML
      semantics: Snakemake hands nested ``--config`` values over as text (``--config
      seeds='[0,1]'`` arrives as ``['0', '1']``, ``training='{lr: 0.01}'`` as ``{'lr': '0.01'}``),
      and YAML 1.1 reads an unquoted ``1e-3`` as text; both become numbers here.
    * A whole-number float where the schema wants an integer (``dendrites: [1.0]``, ``seeds: [0.0]``,
      ``epochs: {fmnist: 1.0}``) becomes that integer; ``1.5`` stays and fails validation, naming its key.

    Text where the schema wants text is left alone, as is anything that does not fit.
    """
    schema = schema if schema is not None else _load_schema(SCHEMA_PATH)
    return _coerce(config, schema, schema)
