"""``--schema``: answers that are JSON valid against the user's schema, or an error.

The steps, one module each: ``fields`` (the short field-list syntax -> JSON Schema), ``spec``
(SPEC as a file, inline JSON, ``@NAME`` or a field list -> a ``Schema``), ``strict`` (the
provider's strict form, and dropping the nulls it adds for optional fields), ``check`` (parsing
the reply and validating it with the ``jsonschema`` library), ``memory`` (endpoints that refuse
``response_format``, remembered per profile and model), ``turn`` (one structured turn: send,
validate, retry once, fall back), ``batch`` (the same checks for batch lines).

Nothing here is imported by ``chatcli --help``; ``jsonschema`` is imported only to validate.
"""
