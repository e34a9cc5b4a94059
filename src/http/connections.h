// The server's connections, served by events rather than by a thread each: a few loop
// threads read every connection's bytes (epoll), and a request goes to a thread only once
// it has arrived whole, so that an idle or slow client holds no thread. No thread waits for
// a decision (`POST /v1/assign`): the thread that read it (on SQLite the loop thread
// itself) hands it to the group commit and goes on, and the answer is written when the
// decision's batch has committed (docs/performance.md, "The front end"). httplib still parses and routes every
// request (Frontend::process_request, from memory), and writes every answer but those.
//
// A request whose end cannot be told from its head alone (chunked, `Expect:
// 100-continue`, a body over 64 KiB, a head over 16 KiB or with folded lines) is served as
// httplib serves a connection: by a thread that reads the rest from the socket.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

namespace rota::http {

// What a request answered later is answered: a status and a JSON body, made by a loop thread.
using MakeAnswer = std::function<std::pair<int, std::string>()>;
// Inside a handler: a function that answers the request being served later, from any
// thread (the group commit's, say), with what the MakeAnswer given to it makes: that runs on
// a loop thread, so the thread giving it pays neither for making nor for sending the
// answer. Empty when this request cannot be answered so (it is not served by a loop
// thread). Once taken, what httplib writes for the request is dropped, and the function
// must be called exactly once.
std::function<void(MakeAnswer)> AnswerLater();
// Whether the request being served on this thread has taken AnswerLater().
bool AnsweredLater();
// The request being served carried a large body either way: the memory its buffers took
// is handed back to the system when its connection ends (malloc_trim).
void NoteLargeBody();

struct ConnectionSettings {
  size_t workers = 32;                 // threads for requests that may wait (reads, config, imports)
  size_t loops = 2;                    // threads reading and writing sockets
  size_t body_limit = 1 << 20;         // a larger body is read by a thread (which answers 413)
  size_t keep_alive_max = 100;         // requests a connection serves before it closes
  std::chrono::seconds keep_alive{5};  // waiting for a next request
  std::chrono::seconds read_timeout{5};   // for the rest of a request begun
  std::chrono::seconds write_timeout{5};  // for a client to take its answer
  // Whether the request whose first line this is is answered through AnswerLater(): its
  // handler must not wait, and no thread waits for its answer.
  std::function<bool(std::string_view request_line)> answers_later;
  // Where such a request is served: by the loop thread that read it (no hand-over, when
  // what its handler reads before answering later is local and quick: SQLite), or by a
  // worker, which is free again as soon as the handler returns (a database across a network,
  // whose round trips would hold a loop thread's other connections).
  bool later_on_loops = true;
  // Bodies up to this size are read by the loop threads; a longer one by a worker, so that
  // connections that have not yet authenticated hold little memory each.
  size_t loop_body_max = 64 * 1024;
};

class Connections {
 public:
  // Serves one request from `stream`: `last` when the connection may serve no more;
  // `closed` set when it must close after this one. False when the connection is done.
  using Serve = std::function<bool(httplib::Stream& stream, bool last, bool& closed)>;

  Connections(ConnectionSettings settings, Serve serve);
  ~Connections();
  Connections(const Connections&) = delete;
  Connections& operator=(const Connections&) = delete;

  // Starts the loop and worker threads (once; the first Add would otherwise find none).
  void Start();
  // Takes an accepted socket over: it is closed here, whatever happens.
  void Add(int fd);
  // Closes idle connections, lets the requests under way finish and answer (within the
  // write timeout), then stops the threads. Later sockets are closed at once.
  void Shutdown();

  struct Conn;
  // Answers given later, posted by other threads (the group commit's) for a loop thread to
  // make and send. Shared with the functions AnswerLater hands out, which may outlive the
  // Connections (a commit that ends after a stop gave up waiting for it): once closed,
  // what is posted is dropped.
  struct Mailbox;

 private:
  void Loop(bool sweeper);
  void OnEvent(const std::shared_ptr<Conn>& c);
  // What to do with the connection's buffered bytes: serve a request, or wait for more.
  void Dispatch(const std::shared_ptr<Conn>& c);
  // One request: `length` bytes buffered whole, or 0 (a worker reads the rest from the
  // socket); `later` when it may be answered through AnswerLater().
  void ServeOne(const std::shared_ptr<Conn>& c, size_t length, bool later);
  // Sends what the connection has to send; then waits for its next request, or closes.
  void Respond(const std::shared_ptr<Conn>& c);
  void AfterAnswer(const std::shared_ptr<Conn>& c);
  void WaitFor(const std::shared_ptr<Conn>& c, bool writing);
  void Close(const std::shared_ptr<Conn>& c);
  void Deliver(const std::shared_ptr<Conn>& c, int status, std::string json);
  // Makes and sends the answers posted since the last time.
  void DeliverPosted();
  void Sweep();

  const ConnectionSettings settings_;
  const Serve serve_;
  int epoll_ = -1;
  int wake_ = -1;    // an eventfd that wakes every loop thread when the loops stop
  std::shared_ptr<Mailbox> mailbox_;
  std::vector<std::thread> loops_;
  std::unique_ptr<httplib::ThreadPool> workers_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_loops_{false};
  std::once_flag started_;
  std::mutex mu_;
  std::condition_variable none_left_;
  std::unordered_map<int, std::shared_ptr<Conn>> conns_;  // GUARDED_BY(mu_)
};

// httplib's server whose accepted sockets Connections serves. Bind, listen and stop are
// httplib's own.
class Frontend final : public httplib::Server {
 public:
  explicit Frontend(ConnectionSettings settings);
  ~Frontend() override;

 private:
  bool process_and_close_socket(socket_t sock) override;
  Connections connections_;
};

}  // namespace rota::http
