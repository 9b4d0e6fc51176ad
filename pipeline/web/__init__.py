"""`narrativ serve`: the local web page for the kansli (see app.py)."""
