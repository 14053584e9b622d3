"""Run the development server: ``python runserver.py`` (use gunicorn in production)."""

import os

from flask_rest_service import create_app, serve

if __name__ == "__main__":
    serve(create_app()).run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
