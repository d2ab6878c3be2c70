# Connects to a Ferry port (an abstract Unix socket) and sends one crafted request frame.
# argv[1]: the port name; argv[2]: what to send. Run as another user or as the job's own.
import socket, struct, sys

port, kind = sys.argv[1], sys.argv[2]
member = "4000-deadbeef/0 4000"
bodies = {
    # a member count of -1 and of INT64_MAX: crashed the process in MPI_Comm_accept before
    "count-minus-one": "ferry-connect 1\n16384 8\nffffffffffffffff\n-1\n" + member,
    "count-int64max": "ferry-connect 1\n16384 8\nffffffffffffffff\n9223372036854775807\n" + member,
    # well formed: was accepted as a real peer
    "wellformed": "ferry-connect 1\n16384 8\nffffffffffffffff\n1\n" + member,
    "garbage": "\x00\xff\xfe not a request at all",
}
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect("\0" + port)
if kind == "huge-length":
    s.sendall(struct.pack("<I", 0xFFFFFFFF))
else:
    body = bodies[kind].encode("latin-1")
    s.sendall(struct.pack("<I", len(body)) + body)
s.settimeout(3)
try:
    answer = s.recv(65536)
    print("answer:", answer[4:].decode("latin-1", "replace").replace("\n", " | "))
except Exception as e:
    print("no answer:", type(e).__name__)
s.close()
