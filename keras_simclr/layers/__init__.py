"""Keras layers of keras_simclr: projection heads, synchronized batch norm and
SimCLR's augmentations."""
