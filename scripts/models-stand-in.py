#!/usr/bin/env python3
"""A loopback stand-in for the Anthropic API's GET /v1/models, for the scripts.

Usage: models-stand-in.py [CERT.pem KEY.pem]
Binds 127.0.0.1 on a free port, prints the port on the first line of stdout, then serves
until killed: HTTPS with the given certificate, plain HTTP without one.
"""
import http.server
import ssl
import sys

BODY = b'{"data":[{"id":"claude-sonnet-4-5","type":"model"}],"has_more":false}'


class Models(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else delayed ACKs add 40 ms to every answer

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Models)
if len(sys.argv) == 3:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(sys.argv[1], sys.argv[2])
    server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
