"""Generated modules of the Cocos `cvms` package (regenerate with python -m proto.generate)."""
