"""The clinical concepts, one module each."""
