"""Native records for convolution transforms (nengo's ConvInc, ConvTransposeInc)."""

TRANSLATORS = {}
