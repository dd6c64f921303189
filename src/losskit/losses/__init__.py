"""The losses, one module per family.  Everything public is re-exported by ``losskit``."""
