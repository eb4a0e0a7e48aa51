"""matrix"""

__all__: list[str] = []
