"""siyu (私域): owned-audience user modeling, from interaction histories to user tags."""

__version__ = "0.1.0"
__all__ = ["__version__"]
