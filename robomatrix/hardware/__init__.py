"""Hardware layer: the Robot contract, backends registry, and the hardware node."""
