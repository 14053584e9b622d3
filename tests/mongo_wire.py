"""A scripted MongoDB server on loopback (mockupdb) that the real pymongo driver talks to.

It answers the handshake as a MongoDB 7.0 standalone and every command as an
empty, healthy database would, unless a test scripts that command otherwise:
a reply document, a function of the request, or ``HANG`` (never answered, as
a server that accepts and then stops answering), for a command name or for a
(command, collection) pair.
"""

from mockupdb import MockupDB

HANG = object()
WIRE_VERSION = 21  # MongoDB 7.0


def _cursor(request, batch=()):
    name = request.command_name
    collection = request.doc[name] if isinstance(request.doc[name], str) else "$cmd.aggregate"
    return {
        "ok": 1,
        "cursor": {"id": 0, "ns": f"{request.doc['$db']}.{collection}", "firstBatch": list(batch)},
    }


HEALTHY = {
    "ping": {"ok": 1},
    "find": _cursor,
    "aggregate": _cursor,
    "listIndexes": lambda request: _cursor(request, [{"v": 2, "key": {"_id": 1}, "name": "_id_"}]),
    "insert": lambda request: {"ok": 1, "n": len(request.doc["documents"])},
    "update": lambda request: {"ok": 1, "n": 1, "nModified": 1},
    "delete": {"ok": 1, "n": 0},
    "findAndModify": {"ok": 1, "value": None, "lastErrorObject": {"n": 0, "updatedExisting": False}},
    "createIndexes": {"ok": 1},
    "dropIndexes": {"ok": 1},
    "killCursors": {"ok": 1},
    "endSessions": {"ok": 1},
}


class Wire:
    """The server, its scripted replies, and every command it received."""

    def __init__(self):
        self.replies: dict = {}
        self.received: list[tuple[str, dict]] = []
        self.server = MockupDB(auto_ismaster={"maxWireVersion": WIRE_VERSION, "minWireVersion": 0})
        self.server.autoresponds(self._respond)
        self.server.run()
        self.uri = self.server.uri  # mongodb://localhost:PORT

    def _respond(self, request) -> bool:
        name = request.command_name
        if name in ("hello", "ismaster", "isMaster"):
            return False  # the handshake and heartbeats: mockupdb's own answer
        self.received.append((name, dict(request.doc)))
        target = request.doc.get(name)
        reply = self.replies.get((name, target), self.replies.get(name, HEALTHY.get(name)))
        if reply is HANG:
            return True  # taken, never answered
        if reply is None:
            request.reply({"ok": 0, "code": 59, "errmsg": f"no such command: '{name}'"})
            return True
        request.reply(reply(request) if callable(reply) else reply)
        return True

    def commands(self, *names: str) -> list[dict]:
        """The received commands with these names, in order."""
        return [doc for name, doc in self.received if name in names]

    def stop(self) -> None:
        self.server.stop()
