#!/usr/bin/python3
"""A loopback SMS gateway for the demo: speaks Logto's http-sms webhook
protocol (POST JSON {to, type, payload: {code}}), shows each message on the
terminal as a phone would, and writes the code to a file for the
non-interactive demo.  Binds 127.0.0.1 only; stops after --lifetime seconds."""
import argparse
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--code-file", required=True)
ap.add_argument("--lifetime", type=int, default=600)
args = ap.parse_args()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        try:
            msg = json.loads(self.rfile.read(min(n, 65536)))
            to, code = msg["to"], msg["payload"]["code"]
        except (ValueError, KeyError, TypeError):
            self.send_response(400)
            self.end_headers()
            return
        sys.stderr.write("\n  +--------------------------------------------+\n"
                         "  | SMS to %-36s|\n"
                         "  | Your verification code is %-17s|\n"
                         "  +--------------------------------------------+\n\n" % (to, code))
        sys.stderr.flush()
        with open(args.code_file, "w") as f:
            f.write(code + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")


srv = HTTPServer(("127.0.0.1", 0), Handler)
with open(args.port_file, "w") as f:
    f.write(str(srv.server_address[1]))
threading.Timer(args.lifetime, srv.shutdown).start()
srv.serve_forever()
