"""Node framework over interchangeable transports (inproc, Cyclone DDS, rclpy)."""
