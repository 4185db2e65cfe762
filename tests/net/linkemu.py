#!/usr/bin/env python3
"""A userspace link emulator between two TUN devices (what `tc netem` does, for kernels without
sch_netem): every IP packet read from one TUN is written to the other after a fixed delay, unless
it is lost (random loss) or the link is blackholed (everything dropped, both ways, silently).
It also measures, per TCP flow, the peak bytes in flight as the sender sees them (highest
sequence sent minus highest ACK delivered back to it): the effective window of a bulk transfer.

usage: linkemu.py TUN_A TUN_B CONTROL_SOCKET
Control: connect to the unix socket, send one line, read one line back:
  delay MS | loss FRACTION | blackhole 1|0 | limit PACKETS | stats | reset
"""
import errno
import fcntl
import json
import os
import random
import select
import socket
import struct
import sys
import time
from collections import deque

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def open_tun(name):
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TUN | IFF_NO_PI))
    return fd


class Link:
    def __init__(self):
        self.delay = 0.0
        self.loss = 0.0
        self.blackhole = False
        self.limit = 100000  # packets queued per direction (netem's default is 1000)
        self.dropped = 0
        self.hi_seq = {}  # flow -> highest end sequence sent (mod 2^32)
        self.hi_ack = {}  # flow -> highest ACK delivered to its sender
        self.peak = {}  # flow -> peak bytes in flight

    def stats(self):
        flows = {f"{k[0]}:{k[1]}>{k[2]}:{k[3]}": v for k, v in self.peak.items() if v > 0}
        return {"dropped": self.dropped, "peakInFlight": flows}

    def reset(self):
        self.dropped = 0
        self.hi_seq.clear()
        self.hi_ack.clear()
        self.peak.clear()


def tcp_info(pkt):
    """(flow, seq_end, ack, has_ack, payload_len) of an IPv4 TCP packet, or None."""
    if len(pkt) < 40 or pkt[0] >> 4 != 4 or pkt[9] != 6:
        return None
    ihl = (pkt[0] & 15) * 4
    total = struct.unpack_from("!H", pkt, 2)[0]
    src = socket.inet_ntoa(pkt[12:16])
    dst = socket.inet_ntoa(pkt[16:20])
    sport, dport, seq, ack = struct.unpack_from("!HHII", pkt, ihl)
    off = (pkt[ihl + 12] >> 4) * 4
    flags = pkt[ihl + 13]
    plen = total - ihl - off
    return (src, sport, dst, dport), (seq + plen) & 0xFFFFFFFF, ack, bool(flags & 0x10), plen


def after(a, b):
    return ((a - b) & 0xFFFFFFFF) < 0x80000000


def on_ingress(link, pkt):
    """A packet entered the link from its sender: data counts as sent now."""
    info = tcp_info(pkt)
    if info is None or info[4] <= 0:
        return
    flow, end = info[0], info[1]
    prev = link.hi_seq.get(flow)
    if prev is None or after(end, prev):
        link.hi_seq[flow] = end
        acked = link.hi_ack.get(flow)
        if acked is not None:
            inflight = (end - acked) & 0xFFFFFFFF
            if inflight < 0x80000000 and inflight > link.peak.get(flow, 0):
                link.peak[flow] = inflight


def on_egress(link, pkt):
    """A packet leaves the link toward its receiver: its ACK reaches the data sender now."""
    info = tcp_info(pkt)
    if info is None or not info[3]:
        return
    (src, sport, dst, dport), _, ack, _, _ = info
    data_flow = (dst, dport, src, sport)
    prev = link.hi_ack.get(data_flow)
    if prev is None or after(ack, prev):
        link.hi_ack[data_flow] = ack


def main():
    tun_a, tun_b, ctl_path = sys.argv[1:4]
    fa, fb = open_tun(tun_a), open_tun(tun_b)
    link = Link()
    queues = {fa: deque(), fb: deque()}  # packets waiting to be written to that fd
    other = {fa: fb, fb: fa}
    try:
        os.unlink(ctl_path)
    except FileNotFoundError:
        pass
    ctl = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    ctl.bind(ctl_path)
    ctl.listen(16)
    ctl.setblocking(False)
    ep = select.epoll()
    ep.register(fa, select.EPOLLIN)
    ep.register(fb, select.EPOLLIN)
    ep.register(ctl.fileno(), select.EPOLLIN)
    clients = {}
    print("READY", flush=True)

    def command(line):
        parts = line.split()
        if not parts:
            return {"error": "empty"}
        cmd = parts[0]
        if cmd == "delay":
            link.delay = float(parts[1]) / 1000
        elif cmd == "loss":
            link.loss = float(parts[1])
        elif cmd == "blackhole":
            link.blackhole = parts[1] == "1"
        elif cmd == "limit":
            link.limit = int(parts[1])
        elif cmd == "stats":
            return link.stats()
        elif cmd == "reset":
            link.reset()
        else:
            return {"error": f"unknown command {cmd}"}
        return {"ok": True}

    def deliver(now):
        for fd, q in queues.items():
            while q and q[0][0] <= now:
                pkt = q.popleft()[1]
                if link.blackhole:
                    link.dropped += 1
                    continue
                on_egress(link, pkt)
                try:
                    os.write(fd, pkt)
                except OSError:
                    link.dropped += 1

    while True:
        now = time.monotonic()
        due = min((q[0][0] for q in queues.values() if q), default=None)
        timeout = -1 if due is None else max(0.0, due - now)
        for fd, _ in ep.poll(timeout):
            if fd == ctl.fileno():
                try:
                    c, _ = ctl.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                clients[c.fileno()] = (c, b"")
                ep.register(c.fileno(), select.EPOLLIN)
            elif fd in clients:
                c, buf = clients[fd]
                try:
                    data = c.recv(4096)
                except BlockingIOError:
                    continue
                buf += data
                if b"\n" in buf or not data:
                    line = buf.split(b"\n", 1)[0].decode()
                    try:
                        reply = command(line)
                    except (ValueError, IndexError) as e:
                        reply = {"error": str(e)}
                    try:
                        c.setblocking(True)
                        c.sendall((json.dumps(reply) + "\n").encode())
                    except OSError:
                        pass
                    ep.unregister(fd)
                    c.close()
                    del clients[fd]
                else:
                    clients[fd] = (c, buf)
            else:
                out = other[fd]
                q = queues[out]
                t = time.monotonic()
                while True:
                    try:
                        pkt = os.read(fd, 65536)
                    except BlockingIOError:
                        break
                    except OSError as e:
                        if e.errno == errno.EAGAIN:
                            break
                        raise
                    if link.blackhole or (link.loss > 0 and random.random() < link.loss):
                        link.dropped += 1
                        continue
                    if len(q) >= link.limit:
                        link.dropped += 1
                        continue
                    on_ingress(link, pkt)
                    q.append((t + link.delay, pkt))
        deliver(time.monotonic())


if __name__ == "__main__":
    main()
