"""The Clarity bridge that runs beside Sage 100 and writes through BOI (see server.py)."""
