"""A WSGI app with a slow route, served by gunicorn with servicekit.gunicorn_conf in the graceful shutdown test."""

import time
from urllib.parse import parse_qs


def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        seconds = float(parse_qs(environ.get("QUERY_STRING", "")).get("s", ["2"])[0])
        time.sleep(seconds)
        body = f"slept {seconds}".encode()
    else:
        body = b"ok"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
