"""Side and bottom panels: controls, takes, transport."""
