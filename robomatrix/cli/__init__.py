"""Command-line interface: `robomatrix ...`."""
