"""Use cases, one module each: they open a unit of work and call the store, never SQL."""
