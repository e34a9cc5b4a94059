// The listening socket's and connections' settings, shared by rota's server and the bare
// server that `make bench` measures it against (bench/bare_http.cc), so that both listen alike.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

namespace rota::http {

// Requests a keep-alive connection serves before the server closes it. Served by httplib
// (as the bench's bare server is), a connection holds one of the pool's threads for as
// long as it lasts: with 10 000, two clients that kept sending held both threads of
// `--threads 2`, and a third waited seconds for its first answer. rota's connections hold
// no thread since (http/connections.h); both servers keep 100, so that they are measured
// alike and a client that keeps sending still reconnects now and then (a load balancer
// can move it), at the cost of one handshake in a hundred requests.
inline constexpr size_t kKeepAliveRequests = 100;

// httplib's own socket options set SO_REUSEPORT, with which a second server on a port in
// use started without a word and took part of the first one's connections. These set
// SO_REUSEADDR instead (a restarted server binds at once while its old connections
// linger) and keep the socket's descriptor in *fd, for WidenBacklog.
inline void UseListenOptions(httplib::Server& server, int* fd) {
  server.set_keep_alive_max_count(kKeepAliveRequests);
  server.set_socket_options([fd](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    *fd = sock;
  });
}

// httplib listens with a backlog of 5. Clients that connect together (wrk's connections, a
// CRM's import workers) overflowed it, and each handshake the kernel dropped waited a
// second or more for its retransmission (docs/performance.md, "Fifth pass"). Listening
// again on the bound socket sets the backlog. False, with errno, when it fails.
inline bool WidenBacklog(int fd) { return fd >= 0 && ::listen(fd, SOMAXCONN) == 0; }

}  // namespace rota::http
