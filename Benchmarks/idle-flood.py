"""Opens COUNT idle TCP connections to 127.0.0.1:PORT that never send a byte, keeps them
for HOLD seconds, then prints how many the server closed. Bounded in count and time."""
import resource, select, socket, sys, time

port, count, hold = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
sockets = []
for _ in range(count):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setblocking(False)
    s.connect_ex(("127.0.0.1", port))
    sockets.append(s)
print(f"opened {len(sockets)}", flush=True)
closed = set()
deadline = time.time() + hold
while time.time() < deadline and len(closed) < len(sockets):
    live = [s for s in sockets if s.fileno() not in closed]
    for start in range(0, len(live), 1000):
        readable, _, _ = select.select(live[start:start + 1000], [], [], 0)
        for s in readable:
            try:
                if s.recv(1) == b"":
                    closed.add(s.fileno())
            except OSError:
                closed.add(s.fileno())
    time.sleep(0.5)
print(f"closed by the server {len(closed)}", flush=True)
