"""One package per feature. Each owns its logic and knows nothing of Typer; cli/ calls into it."""
