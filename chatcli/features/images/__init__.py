"""Image generation, edits and variations, saved under unique names."""
