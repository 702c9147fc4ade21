"""``chatcli ask``: gather the question, send it through a session, print and record the answer."""
