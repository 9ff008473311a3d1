"""Generated modules of the Cocos `manager` package (regenerate with python -m proto.generate)."""
