"""chatcli: a fast terminal chat client for OpenAI, Azure OpenAI and OpenAI-compatible relays."""

__version__ = "0.1.0"
