"""``chatcli config``: init, show, path, validate and set on the TOML file."""
