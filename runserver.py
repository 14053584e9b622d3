"""Run the development server: ``python runserver.py`` (use gunicorn in production)."""

import os

from flask_rest_service import serve_app

if __name__ == "__main__":
    serve_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5000")), threaded=True)
