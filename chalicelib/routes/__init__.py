"""HTTP routes as Chalice Blueprints; ``app.py`` registers them."""
