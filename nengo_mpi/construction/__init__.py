"""Constructing a model: nengo's builder, with the decoder solves done in parallel."""
