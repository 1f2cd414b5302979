"""One package per sales channel, each with the same files: codec.py, client.py, sandbox.py."""
