"""The demo page: a Flask server (server.py) and its one HTML page (index.html); demo.py starts it."""
