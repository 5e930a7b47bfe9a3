"""The catalogue's old address, kept for callers outside the resolver: read `catalogue`."""

from catalogue import Catalogue, cached_catalogue, load_catalogue

__all__ = ["Catalogue", "cached_catalogue", "load_catalogue"]
