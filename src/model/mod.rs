//! Pure network math: no I/O, no ROS.
