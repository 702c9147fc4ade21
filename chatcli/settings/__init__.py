"""Configuration: the TOML file (loading), keys, paths, and what global options resolve to."""
