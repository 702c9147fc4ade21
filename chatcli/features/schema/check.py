"""Reading a structured reply and validating it against the user's schema.

Validation uses the ``jsonschema`` library (the draft the schema declares in ``$schema``,
2020-12 otherwise), imported only here and only when something is validated: ``ask`` without
``--schema`` never pays for it. Errors come out as short lines, most relevant first, each
naming where in the answer it is (``$.reasons[1]: 3 is not of type 'string'``).

A schema is checked whole before anything is sent (``check_schema``), so that validating the
answer that was paid for cannot fail: its nesting, values JSON can carry (no NaN, no infinity,
no lone surrogate), its draft's metaschema, every ``$ref`` resolving inside the schema (or to a
draft's own metaschema: nothing is ever fetched) and one trial validation. Should validating an
answer fail all the same, ``errors`` raises ``Unchecked``, never the library's own exception.
"""

from __future__ import annotations

import datetime
import json
import math
from typing import Any

from chatcli.errors import UsageError
from chatcli.safetext import one_line

SHOWN = 3
"""Validation errors named in a message (the rest are counted)."""
MAX_DEPTH = 64
"""Deeper schemas are refused up front (the checks recurse; strict mode allows far less)."""


class NotJSON(ValueError):
    """The reply is not one JSON value."""


class Unchecked(Exception):
    """Validating an answer failed for another reason than the answer (a schema that slipped
    through ``check_schema``): the message says what the validator met."""


class SchemaProblem(UsageError):
    """A schema chatcli cannot use (exit 2): ``detail`` is the message without its
    ``--schema: SOURCE`` lead, ``at`` the path inside the schema where the problem is (so
    ``[schemas.NAME]`` can be reported at its line in the config)."""

    def __init__(self, source: str, detail: str, at: tuple[str | int, ...] = (),
                 hint: str | None = None) -> None:  # fmt: skip
        super().__init__(f"--schema: {source} {detail}", hint=hint)
        self.detail = detail
        self.at = at


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is beyond the range of a number")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_reply(text: str) -> Any:
    """The JSON value of a reply. Endpoints that ignore ``response_format`` often wrap it in
    a Markdown code fence; one fence around the whole reply is taken off. ``NaN``,
    ``Infinity`` and numbers too large for a float (``1e999``) are not JSON: refused."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and body.count("```") == 2:
        body = body[3:-3]
        first, _, rest = body.partition("\n")
        body = rest if first.strip().isalnum() or not first.strip() else body
    try:
        return json.loads(body, parse_constant=_constant, parse_float=_finite)
    except ValueError as exc:
        shown = one_line(text.strip(), 60) or "an empty reply"
        raise NotJSON(f"the reply is not JSON ({exc}): {shown!r}") from None


def _validator(schema: dict[str, Any]) -> Any:
    from jsonschema import validators
    from referencing import Registry

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    # an empty registry: a $ref to another document is never fetched (jsonschema's default
    # registry would download it, with no timeout)
    return cls(schema, format_checker=cls.FORMAT_CHECKER, registry=Registry())


def check_schema(schema: Any, source: str) -> None:
    """``SchemaProblem`` (a ``UsageError``) unless ``schema`` can be sent and answers can be
    checked against it: an object, nested at most ``MAX_DEPTH`` deep, holding only values JSON
    can carry, valid against its draft's metaschema, with every ``$ref`` resolving."""
    from jsonschema import exceptions, validators

    if not isinstance(schema, dict):
        raise SchemaProblem(source, "is not a JSON Schema object")
    if depth(schema) > MAX_DEPTH:
        raise SchemaProblem(source, f"nests deeper than {MAX_DEPTH} levels")
    _sendable(schema, source)
    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except exceptions.SchemaError as exc:
        at = tuple(exc.absolute_path)
        raise SchemaProblem(
            source,
            f"is not a valid JSON Schema: {one_line(exc.message, 160)} (at {_path(at)})",
            at,
        ) from None
    except RecursionError:
        raise SchemaProblem(source, "nests too deeply to be checked") from None
    check_usable(schema, source)


def check_usable(schema: dict[str, Any], source: str) -> None:
    """``SchemaProblem`` unless every ``$ref`` of ``schema`` (a valid JSON Schema) resolves
    and a trial validation runs (what ``errors`` does with an answer, on stand-in values)."""
    _check_refs(schema, source)
    validator = _validator(schema)
    stand_ins: tuple[Any, ...] = (None, {})
    for stand_in in stand_ins:
        try:
            for _ in validator.iter_errors(stand_in):
                pass
        except Exception as exc:  # any failure here would come after paying for an answer
            raise SchemaProblem(
                source, f"cannot be used to check answers: {failure(exc)}"
            ) from None


_REF_KEYWORDS = ("$ref", "$dynamicRef")


def _check_refs(schema: dict[str, Any], source: str) -> None:
    """Resolve every ``$ref`` (and ``$dynamicRef``) where the schema's draft reads one, in the
    scope of the ``$id`` around it, as the validator will; nothing is fetched."""
    import referencing.jsonschema
    from jsonschema import validators
    from jsonschema_specifications import REGISTRY  # type: ignore[import-untyped]
    from referencing import Registry
    from referencing.exceptions import InvalidAnchor, NoSuchAnchor, PointerToNowhere, Unresolvable

    cls = validators.validator_for(schema, default=validators.Draft202012Validator)
    keywords = [k for k in _REF_KEYWORDS if k in cls.VALIDATORS]
    places = _places(schema)
    try:
        spec = referencing.jsonschema.specification_with(
            cls.ID_OF(cls.META_SCHEMA) or "", default=referencing.jsonschema.DRAFT202012
        )
        root = spec.create_resource(schema)
        registry: Registry[Any] = REGISTRY  # the drafts' metaschemas; nothing is retrieved
        stack: list[tuple[Any, Any]] = [(registry.resolver_with_root(root), root)]
    except Exception as exc:  # an $id that is no URI, ...
        raise SchemaProblem(source, f"cannot be resolved: {failure(exc)}") from None
    while stack:
        resolver, resource = stack.pop()
        node = resource.contents
        at = places.get(id(node), ())
        for keyword in keywords:
            if not isinstance(node, dict) or keyword not in node:
                continue
            ref = node[keyword]
            where = f"(at {_path(at)})"
            if not isinstance(ref, str):
                raise SchemaProblem(source, f"has a {keyword} that is not a string {where}", at)
            try:
                target = resolver.lookup(ref).contents
            except (PointerToNowhere, NoSuchAnchor, InvalidAnchor):
                raise SchemaProblem(
                    source, f"has a {keyword} that points nowhere: {ref!r} {where}", at
                ) from None
            except Unresolvable:  # a document neither in the schema nor a draft's own
                raise SchemaProblem(
                    source,
                    f"has a {keyword} to another document, which chatcli does not fetch: "
                    f"{ref!r} {where}",
                    at,
                    hint="put what it names under $defs in the schema and refer to it as "
                    "#/$defs/NAME",
                ) from None
            except Exception as exc:  # a malformed URI, ...
                raise SchemaProblem(
                    source, f"has a {keyword} that cannot be resolved: {ref!r} {where} "
                    f"({failure(exc)})", at,
                ) from None  # fmt: skip
            if not isinstance(target, dict | bool):  # ``#/required``: a list, no schema
                raise SchemaProblem(
                    source, f"has a {keyword} to something that is not a schema: {ref!r} {where}",
                    at,
                )  # fmt: skip
        try:
            subresources = list(resource.subresources())
            stack.extend((resolver.in_subresource(sub), sub) for sub in subresources)
        except Exception as exc:
            raise SchemaProblem(source, f"cannot be resolved: {failure(exc)}") from None


def _places(schema: Any) -> dict[int, tuple[str | int, ...]]:
    """The path of each object of ``schema`` (by identity), for messages."""
    out: dict[int, tuple[str | int, ...]] = {}
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, at = stack.pop()
        if isinstance(node, dict):
            out.setdefault(id(node), at)
            stack.extend((v, (*at, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, (*at, i)) for i, v in enumerate(node))
    return out


def _sendable(schema: Any, source: str) -> None:
    """``SchemaProblem`` at the first value the request body could not carry as JSON: NaN or
    an infinite number (``1e999`` reads as infinity), a string with half a surrogate pair, or
    a TOML date or time (``[schemas.NAME]`` written as TOML)."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(schema, ())]
    while stack:
        node, at = stack.pop()
        problem = None
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(key, str) and not _encodable(key):
                    problem = f"has a key with half a surrogate pair ({_escaped(key)})"
                stack.append((value, (*at, key)))
        elif isinstance(node, list):
            stack.extend((v, (*at, i)) for i, v in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            problem = f"has {_name_of(node)}, which JSON has no number for"
        elif isinstance(node, str):
            if not _encodable(node):
                problem = f"has a string with half a surrogate pair ({_escaped(node)})"
        elif isinstance(node, datetime.date | datetime.time):
            problem = "has a TOML date or time, which JSON has no form for (quote it)"
        elif node is not None and not isinstance(node, bool | int | float):
            problem = f"has a {type(node).__name__} value, which JSON has no form for"
        if problem is not None:
            raise SchemaProblem(source, f"{problem} (at {_path(at)})", at)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _escaped(text: str) -> str:
    return one_line(json.dumps(text), 40)


def _name_of(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    return "an infinite number (Infinity, or one as large as 1e999)"


def failure(exc: BaseException) -> str:
    """An unexpected exception in one line: its type and message."""
    return f"{type(exc).__name__}: {one_line(str(exc), 160)}"


def depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: a hostile file must not exhaust the stack)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if level > MAX_DEPTH:
            break
        children = (
            node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        )
        stack.extend((child, level + 1) for child in children)
    return deepest


def errors(data: Any, schema: dict[str, Any]) -> list[str]:
    """Every way ``data`` fails ``schema``, most relevant first; empty when it validates.
    ``Unchecked`` when the validator itself fails (``RecursionError`` is left to the caller:
    a reply nested too deeply)."""
    from jsonschema.exceptions import relevance

    try:
        found = sorted(_validator(schema).iter_errors(data), key=relevance, reverse=True)
    except RecursionError:
        raise
    except Exception as exc:  # checked before sending; never a crash after paying
        raise Unchecked(failure(exc)) from None
    return [f"{_path(e.absolute_path)}: {one_line(e.message, 160)}" for e in found]


def _path(parts: Any) -> str:
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def summary(found: list[str]) -> str:
    """The first errors in one line, and how many more there are."""
    shown = "; ".join(found[:SHOWN])
    more = len(found) - SHOWN
    return shown + (f" (and {more} more)" if more > 0 else "")
