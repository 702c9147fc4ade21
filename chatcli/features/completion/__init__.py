"""Shell completion: the names a value can take (profiles, models, roles, sessions)."""
