"""robust"""

__all__: list[str] = []
