"""deep"""

__all__: list[str] = []
