"""prodsupport on one machine: the emulated AWS stack, stand-ins for the APIs it calls, and the operator CLIs."""
