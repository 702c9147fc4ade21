"""``chatcli cmd`` and the shell integration: from a description to a command for the user's shell.

detect.py (which shell and OS), prompts.py (what the model is told), clean.py (the command in
an answer), danger/ (why a command looks destructive), exchange.py (the requests, one
conversation), menu.py (the one-key menu on a terminal), execute.py (running it in the shell),
history.py (appending it to the shell's history), integration.py (the key-binding snippets),
run.py (the command itself).
"""
