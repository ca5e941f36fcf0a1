"""Open results: the public pages under /results and the open-data packages.

Reads core (rollups, published score runs) and scoring (explanations); nothing imports it but
the composition in `qanagat/`. What is public follows one disclosure rule (`disclosure.py`).
"""
