"""Extract one request schema and everything it references from OpenAI's ``openapi.json``
(github.com/openai/openai-openapi) into a standalone JSON Schema for jsonschema: refs
rewritten to ``$defs``, descriptions and examples dropped.

    python tests/openapi/extract.py openapi.json CreateResponse f85dbe2 \
        > tests/openapi/responses_request.schema.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

_DROP = {"description", "example", "examples", "title", "x-oaiMeta"}


def extract(spec: dict[str, Any], name: str, commit: str) -> dict[str, Any]:
    """``name`` from ``spec``'s components with its referenced schemas under ``$defs``."""
    schemas: dict[str, Any] = spec["components"]["schemas"]
    seen: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if node.get("$recursiveAnchor") is True:  # draft 2019-09: name the schema instead
                node = {k: v for k, v in node.items() if k != "$recursiveAnchor"}
                node = _recursive(node, "#/components/schemas/" + current[-1])
            if "discriminator" in node and "oneOf" in node:
                # OpenAPI picks a branch by the discriminator; in plain JSON Schema several
                # branches match one item (an input message is both EasyInputMessage and
                # InputMessage), which oneOf would refuse
                node = {("anyOf" if k == "oneOf" else k): v for k, v in node.items()}
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                target = ref.rsplit("/", 1)[1]
                if target not in seen:
                    seen.add(target)
                    current.append(target)
                    defs[target] = walk(schemas[target])
                    current.pop()
            return {
                k: ("#/$defs/" + v.rsplit("/", 1)[1] if k == "$ref" else walk(v))
                for k, v in node.items()
                if k not in _DROP
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    defs: dict[str, Any] = {}
    current = [name]
    root = walk(schemas[name])
    comment = (
        f"{name} and the schemas it references, from openai/openai-openapi (openapi.json, "
        f"commit {commit}), refs rewritten to $defs, descriptions dropped, "
        "discriminated oneOf as anyOf."
    )
    return {"$comment": comment, "$defs": dict(sorted(defs.items())), **root}


def _recursive(node: Any, ref: str) -> Any:
    """``$recursiveRef: "#"`` inside a ``$recursiveAnchor`` schema as a plain ``$ref`` to it."""
    if isinstance(node, dict):
        if node.get("$recursiveRef") == "#":
            return {"$ref": ref, **{k: v for k, v in node.items() if k != "$recursiveRef"}}
        return {k: _recursive(v, ref) for k, v in node.items()}
    if isinstance(node, list):
        return [_recursive(v, ref) for v in node]
    return node


if __name__ == "__main__":
    with open(sys.argv[1], encoding="utf-8") as f:
        document = json.load(f)
    json.dump(extract(document, sys.argv[2], sys.argv[3]), sys.stdout, indent=1, sort_keys=True)
    print()
