"""Recording stand-ins for the HTTP APIs the functions call, on one server base with one fault mechanism."""
