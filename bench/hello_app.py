"""The smallest Flask app, served by the same gunicorn settings as the services: the HTTP ceiling."""

from flask import Flask


def create_app() -> Flask:
    app = Flask("hello")

    @app.get("/hello")
    def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app
