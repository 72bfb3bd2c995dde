"""Demonstration datasets: the on-disk format (FORMAT.md), the recorder that fills it with expert
demonstrations, and the torch loader that feeds training."""
