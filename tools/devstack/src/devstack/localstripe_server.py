"""localstripe bound to loopback, with its store kept where we say (not the shared /tmp pickle).

python -m devstack.localstripe_server --port 8420 [--store FILE]
Without --store nothing is persisted (faster: localstripe re-pickles its whole store on every write).
"""

from __future__ import annotations

import argparse
import pickle

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--store", default=None)
    args = parser.parse_args()
    store_path = args.store

    def dump_to_disk(self: resources.Store) -> None:
        if store_path:
            with open(store_path, "wb") as f:
                pickle.dump(dict(self), f, protocol=pickle.HIGHEST_PROTOCOL)

    def try_load_from_disk(self: resources.Store) -> None:
        if store_path:
            try:
                with open(store_path, "rb") as f:
                    old = pickle.load(f)  # noqa: S301 - our own file
                dict.clear(self)
                dict.update(self, old)
            except (FileNotFoundError, EOFError):
                pass

    resources.Store.dump_to_disk = dump_to_disk  # type: ignore[method-assign]
    resources.Store.try_load_from_disk = try_load_from_disk  # type: ignore[method-assign]
    resources.store.try_load_from_disk()
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
