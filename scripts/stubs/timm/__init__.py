"""Minimal `timm` stub: just the four names MobileSAM's tiny_vit_sam.py imports.

The real timm pulls in torchvision, which does not work with the CPU torch wheel used here.
"""
