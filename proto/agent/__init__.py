"""Generated modules of the Cocos `agent` package (regenerate with python -m proto.generate)."""
