"""The HTTP layer: thin handlers that parse, call one service function, and answer."""
