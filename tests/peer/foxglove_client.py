#!/usr/bin/env python3
"""A Foxglove WebSocket protocol client, independent of the foxglove crate.

    foxglove_client.py URI SECONDS TOPIC... [--all TOPIC] [--stall S]

Connects with the `foxglove.sdk.v1` subprotocol (the Foxglove app offers
it), waits for the server's channel advertisements, subscribes to the given
topics, collects message data frames (opcode 0x01: u32 subscription id,
u64 log time, payload; all little-endian) for SECONDS, decodes the JSON
payloads and prints, as JSON, per topic: the advertised schema name and
encoding, the message count and the last message (every message, in
order, for the topic after --all). With --stall S it stops reading for S
seconds once subscribed (a stuck viewer, with small receive buffers), then
reads on. "advertised" lists every channel the server offered.
"""
import json
import socket
import struct
import sys
import time

from websockets.sync.client import connect


def main():
    uri, seconds, topics = sys.argv[1], float(sys.argv[2]), sys.argv[3:]
    keep_all = None
    stall = 0.0
    if "--stall" in topics:
        i = topics.index("--stall")
        stall = float(topics[i + 1])
        topics = topics[:i] + topics[i + 2 :]
    if "--all" in topics:
        i = topics.index("--all")
        keep_all = topics[i + 1]
        topics = topics[:i] + topics[i + 1 :]
    out = {"server": None, "topics": {}}
    channels = {}
    subs = {}
    deadline = time.monotonic() + seconds
    # The server may not be up yet when we start: retry for a few seconds.
    for attempt in range(50):
        try:
            # Small receive buffers, so a stall reaches the server at once
            # instead of filling megabytes of loopback socket buffer.
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if stall:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            host, port = uri.split("//")[1].split(":")
            sock.connect((host, int(port)))
            ws = connect(uri, sock=sock, subprotocols=["foxglove.sdk.v1"], open_timeout=2,
                         max_queue=4 if stall else 16)
            break
        except OSError:
            time.sleep(0.2)
    else:
        sys.exit(f"could not connect to {uri}")
    with ws:
        while time.monotonic() < deadline:
            try:
                frame = ws.recv(timeout=max(0.05, deadline - time.monotonic()))
            except TimeoutError:
                break
            if isinstance(frame, str):
                msg = json.loads(frame)
                if msg["op"] == "serverInfo":
                    out["server"] = msg["name"]
                elif msg["op"] == "advertise":
                    new = []
                    for ch in msg["channels"]:
                        channels[ch["id"]] = ch
                        if ch["topic"] in topics and ch["topic"] not in subs.values():
                            sid = len(subs) + 1
                            subs[sid] = ch["topic"]
                            out["topics"][ch["topic"]] = {
                                "schemaName": ch.get("schemaName"),
                                "encoding": ch.get("encoding"),
                                "count": 0,
                                "last": None,
                            }
                            new.append({"id": sid, "channelId": ch["id"]})
                    if new:
                        ws.send(json.dumps({"op": "subscribe", "subscriptions": new}))
                        if stall:
                            time.sleep(stall)
                            stall = 0.0
                continue
            if frame[0] != 0x01:
                continue
            sid, log_time = struct.unpack_from("<IQ", frame, 1)
            topic = subs.get(sid)
            if topic is None:
                continue
            entry = out["topics"][topic]
            entry["count"] += 1
            entry["last"] = json.loads(frame[13:].decode("utf-8"))
            if topic == keep_all:
                entry.setdefault("all", []).append(entry["last"])
            entry["log_time"] = log_time
    out["advertised"] = sorted(ch["topic"] for ch in channels.values())
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
