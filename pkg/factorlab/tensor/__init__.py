"""tensor"""

__all__: list[str] = []
