"""assess"""

__all__: list[str] = []
