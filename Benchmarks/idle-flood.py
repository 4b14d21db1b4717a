"""Opens COUNT idle TCP connections to 127.0.0.1:PORT that never send a byte, keeps them
for HOLD seconds, then prints how many the server closed. Bounded in count and time."""
import errno, resource, select, socket, sys, time

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
# Wait for every connect to finish (the listen queue is short), then watch for closes.
poller = select.poll()
for s in sockets:
    poller.register(s, select.POLLOUT)
by_fd = {s.fileno(): s for s in sockets}
pending = dict(by_fd)
deadline = time.time() + 20
while pending and time.time() < deadline:
    for fd, _ in poller.poll(500):
        if fd in pending:
            poller.modify(fd, select.POLLIN)
            del pending[fd]
established = sum(1 for s in sockets if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0)
print(f"established {established}", flush=True)
closed = set()
deadline = time.time() + hold
while time.time() < deadline and len(closed) < len(sockets):
    for fd, _ in poller.poll(500):
        if fd in closed:
            continue
        try:
            data = by_fd[fd].recv(1)
        except BlockingIOError:
            continue
        except OSError:
            data = b""
        if data == b"":
            closed.add(fd)
            poller.unregister(fd)
print(f"closed by the server {len(closed)}", flush=True)
