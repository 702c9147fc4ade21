"""Prompt templates (``--template NAME -V key=value``, ``chatcli templates``)."""
