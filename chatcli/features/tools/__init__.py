"""Function calling: tools from MCP servers, offered to the model only when the user names them.

``registry`` (tools and their names), ``mcp`` (the servers, on a background event loop),
``approval`` (who may run what), ``results`` (tool output as the model reads it), ``loop``
(rounds of calls within one turn), ``toolbox`` (all of it for one conversation), ``servers``
(``chatcli mcp list|import``). Nothing here is imported unless tools are in use.
"""
