"""Transformations: interpreters that rewrite or evaluate programs."""
