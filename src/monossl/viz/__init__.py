"""Seeing what was learned: image grids, conv1 filters, activation maximisation, retrieval, style transfer."""
