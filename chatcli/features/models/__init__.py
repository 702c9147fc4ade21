"""``chatcli models``: what the endpoint offers, or what the config names when it lists none."""
