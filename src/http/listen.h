// The listening socket's settings, shared by rota's server and the bare server that
// `make bench` measures it against (bench/bare_http.cc), so that both listen alike.
#pragma once

#include <httplib.h>
#include <sys/socket.h>

namespace rota::http {

// httplib's own socket options set SO_REUSEPORT, with which a second server on a port in
// use started without a word and took part of the first one's connections. These set
// SO_REUSEADDR instead (a restarted server binds at once while its old connections
// linger) and keep the socket's descriptor in *fd, for WidenBacklog.
inline void UseListenOptions(httplib::Server& server, int* fd) {
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
