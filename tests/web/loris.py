"""Slow clients for the dashboard's test: opens N connections to HOST:PORT,
each sending the start of a request and never its end, prints how many
connected, and holds them for SECONDS.  usage: loris.py HOST PORT N SECONDS"""
import socket
import sys
import time

host, port, n, hold = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
socks = []
for _ in range(n):
    try:
        s = socket.create_connection((host, port), timeout=2)
        s.sendall(b"GET / HTTP/1.1\r\nHost: fieldmesh\r\nX-Slow: ")
        socks.append(s)
    except OSError:
        pass
print(len(socks), flush=True)
time.sleep(hold)
