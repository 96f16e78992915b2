"""The HTTP/1.1 protocol `ledger serve` runs: uvicorn's httptools protocol, whose one
answer of its own is a problem document too.

A request the HTTP parser cannot read (a malformed request line or header, a URL or
header beyond llhttp's limits, broken chunked framing) never reaches the app: uvicorn
answers it itself, `400 Bad Request` with the text "Invalid HTTP request received." and
closes the connection. Everything the app refuses is `application/problem+json` (RFC
9457, api/errors.py), so a client would need a second parser for this one answer. This
subclass sends the same 400 and closes the connection as uvicorn does, with the body in
the problem shape (`code` `bad_request`). uvicorn takes it by its import string
(`http="api.protocol:ProblemHttpToolsProtocol"`), in one process or in every worker.
"""

from __future__ import annotations

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import PROBLEM_JSON, problem_body

IMPORT_STRING = "api.protocol:ProblemHttpToolsProtocol"
BODY = problem_body(status=400, code="bad_request", title="Bad request",
                    detail="the request is not valid HTTP/1.1 (its request line, a header, "
                           "its length or its chunked framing) and was not read")


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with its own 400 answered as a problem document."""

    def send_400_response(self, msg: str) -> None:
        # As uvicorn's own (httptools_impl.send_400_response): the server's default
        # headers, the body, then close; `msg` is already in uvicorn's log.
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"content-type: ", PROBLEM_JSON.encode(), b"\r\n",
                        b"content-length: ", str(len(BODY)).encode(), b"\r\n",
                        b"connection: close\r\n\r\n", BODY])
        self.transport.write(b"".join(content))
        self.transport.close()
