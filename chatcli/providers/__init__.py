"""The only code that talks HTTP: one ``Provider`` protocol, one module per endpoint type."""
