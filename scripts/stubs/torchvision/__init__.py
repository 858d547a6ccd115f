"""Stub so that segment_anything imports on the CPU torch wheel (PyPI's torchvision does not load
with it). The model code never calls these; the fixture scripts do any resizing themselves."""
