"""``chatcli speak``: text to speech."""
