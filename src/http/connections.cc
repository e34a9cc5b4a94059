#include "http/connections.h"

#include <fcntl.h>
#include <malloc.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <spdlog/spdlog.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "core/text.h"
#include "io/json_util.h"

namespace rota::http {
namespace {

using Clock = std::chrono::steady_clock;

// A head this long without its end is read by a thread, through httplib (which answers
// 414 or 400): no request rota serves has one.
constexpr size_t kHeadMax = 16 * 1024;
constexpr size_t kReadChunk = 64 * 1024;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()).count();
}

// HTTP's optional white space (spaces and tabs) trimmed; core::Trim takes Unicode's too,
// which httplib would not.
std::string_view TrimOws(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Where the request at the front of `b` ends, told from its head: whole (its length),
// not all here yet, or one a thread must read from the socket.
enum class Frame { kIncomplete, kWhole, kThread };
struct Scan {
  Frame frame;
  size_t length = 0;
};

Scan ScanRequest(std::string_view b, size_t body_max) {
  const size_t end = b.find("\r\n\r\n");
  const size_t bare = b.find("\n\n");  // lines ended by LF alone: httplib's to judge
  if (bare != std::string_view::npos && (end == std::string_view::npos || bare < end)) return {Frame::kThread};
  if (end == std::string_view::npos) return {b.size() > kHeadMax ? Frame::kThread : Frame::kIncomplete};
  if (end > kHeadMax) return {Frame::kThread};
  const std::string_view head = b.substr(0, end + 2);  // every line with its CRLF
  std::optional<uint64_t> length;
  for (size_t i = head.find("\r\n") + 2; i < head.size();) {
    const size_t e = head.find("\r\n", i);
    const std::string_view line = head.substr(i, e - i);
    i = e + 2;
    if (line.front() == ' ' || line.front() == '\t') return {Frame::kThread};  // a folded line
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) return {Frame::kThread};
    const std::string name = core::AsciiLower(std::string(line.substr(0, colon)));
    const std::string_view value = TrimOws(line.substr(colon + 1));
    if (name == "content-length") {
      if (length || value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return {Frame::kThread};
      }
      length = std::stoull(std::string(value));
    } else if (name == "transfer-encoding" || name == "expect") {
      return {Frame::kThread};
    }
  }
  const uint64_t body = length.value_or(0);
  if (body > body_max) return {Frame::kThread};
  const size_t whole = end + 4 + static_cast<size_t>(body);
  return {b.size() < whole ? Frame::kIncomplete : Frame::kWhole, whole};
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return status < 300 ? "OK" : status < 500 ? "Bad Request" : "Internal Server Error";
  }
}

}  // namespace

enum class ConnState { kReading, kWriting, kBusy };

struct Connections::Conn : std::enable_shared_from_this<Connections::Conn> {
  int fd = -1;
  std::string in;  // bytes read and not yet served, from `pos`
  size_t pos = 0;
  std::string out;  // an answer being sent, from `sent`
  size_t sent = 0;
  size_t served = 0;
  bool close_after = false;  // once `out` is sent
  bool peer_done = false;    // the client ended its side
  bool large = false;
  std::atomic<bool> awaiting{false};  // an answer promised later, not yet given
  std::atomic<ConnState> state{ConnState::kBusy};
  std::atomic<int64_t> deadline{0};  // steady ms, while waiting for the client
  std::string ip;
  int port = 0;

  std::string_view Unread() const { return std::string_view(in).substr(pos); }
};

namespace {

// One request of a connection as httplib reads and answers it. A whole request is read
// from memory and its answer kept for the connection to send; otherwise (a thread's) the
// rest is read from the socket and the answer sent at once (a `100 Continue` has to reach
// the client before it sends its body).
class ConnStream final : public httplib::Stream {
 public:
  ConnStream(Connections::Conn& c, bool whole, const ConnectionSettings& s, const bool& drop)
      : c_(c), whole_(whole), s_(s), drop_(drop) {}
  bool is_readable() const override { return c_.pos < c_.in.size(); }
  bool is_writable() const override { return true; }
  ssize_t read(char* ptr, size_t size) override {
    if (c_.pos == c_.in.size() && (whole_ || !Fill())) return whole_ ? 0 : -1;
    const size_t n = std::min(size, c_.in.size() - c_.pos);
    std::memcpy(ptr, c_.in.data() + c_.pos, n);
    c_.pos += n;
    return static_cast<ssize_t>(n);
  }
  // The answer's head said `Connection: close` (a handler's: a body far over the limit
  // was cut off, and the connection is out of step).
  bool closes() const { return closes_; }
  ssize_t write(const char* ptr, size_t size) override {
    if (drop_) return static_cast<ssize_t>(size);
    if (!head_written_) {
      const std::string_view chunk(ptr, size);
      closes_ = chunk.find("\r\nConnection: close\r\n") != std::string_view::npos;
      head_written_ = chunk.find("\r\n\r\n") != std::string_view::npos && !chunk.starts_with("HTTP/1.1 100 ");
    }
    if (whole_) {
      c_.out.append(ptr, size);
      return static_cast<ssize_t>(size);
    }
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::send(c_.fd, ptr + done, size - done, MSG_NOSIGNAL);
      if (n > 0) {
        done += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!Wait(POLLOUT, s_.write_timeout)) return -1;
      } else {
        return -1;
      }
    }
    return static_cast<ssize_t>(size);
  }
  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    ip = c_.ip;
    port = c_.port;
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    ip.clear();
    port = 0;
  }
  socket_t socket() const override { return c_.fd; }

 private:
  bool Wait(short events, std::chrono::seconds timeout) {
    pollfd p{c_.fd, events, 0};
    int r;
    do {
      r = ::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(timeout).count()));
    } while (r < 0 && errno == EINTR);
    return r > 0;
  }
  // More of the request from the socket, within the read timeout.
  bool Fill() {
    c_.in.erase(0, c_.pos);
    c_.pos = 0;
    char buf[16 * 1024];
    for (;;) {
      const ssize_t n = ::recv(c_.fd, buf, sizeof buf, 0);
      if (n > 0) {
        c_.in.append(buf, static_cast<size_t>(n));
        return true;
      }
      if (n == 0) return false;
      if (errno == EINTR) continue;
      if ((errno != EAGAIN && errno != EWOULDBLOCK) || !Wait(POLLIN, s_.read_timeout)) return false;
    }
  }

  Connections::Conn& c_;
  const bool whole_;
  const ConnectionSettings& s_;
  const bool& drop_;
  bool head_written_ = false;
  bool closes_ = false;
};

}  // namespace

struct Connections::Mailbox {
  std::mutex mu;
  bool closed = false;  // GUARDED_BY(mu)
  int fd = -1;          // an eventfd that wakes one loop thread; closed with the mailbox
  std::vector<std::pair<std::shared_ptr<Conn>, MakeAnswer>> answers;  // GUARDED_BY(mu)

  void Post(std::shared_ptr<Conn> c, MakeAnswer make) {
    std::lock_guard<std::mutex> lock(mu);
    if (closed) return;
    const bool first = answers.empty();
    answers.emplace_back(std::move(c), std::move(make));
    // One write for all answers posted until a loop thread takes them (a batch's).
    const uint64_t one = 1;
    if (first) (void)!::write(fd, &one, sizeof one);
  }
};

namespace {

// An answer given later, and the request's end as ServeOne saw it: whichever comes second
// sends it.
struct Later {
  std::mutex mu;
  bool returned = false;  // ServeOne is done with the request
  MakeAnswer given;
};

// The epoll data of the posted answers' eventfd (a connection's is its Conn, the stop's null).
char posted_tag;

// The request this thread is serving.
struct Serving {
  std::shared_ptr<Connections::Conn> conn;
  std::shared_ptr<Connections::Mailbox> mailbox;
  bool later = false;  // may be answered through AnswerLater()
  bool taken = false;
  bool large = false;
  std::shared_ptr<Later> promised;
};
thread_local Serving* t_serving = nullptr;

// An answer promised by AnswerLater(): given once, by whichever copy of its function is
// called; dropped without being given (a handler that threw after taking it), it answers
// 500, so that the connection does not wait for ever.
class Promise {
 public:
  Promise(std::shared_ptr<Later> later, std::shared_ptr<Connections::Conn> conn,
          std::shared_ptr<Connections::Mailbox> mailbox)
      : later_(std::move(later)), conn_(std::move(conn)), mailbox_(std::move(mailbox)) {}
  ~Promise() {
    if (!given_) {
      Give([] { return std::pair<int, std::string>(500, io::ErrorBody(Status::Internal("internal error")).dump()); });
    }
  }
  Promise(const Promise&) = delete;
  Promise& operator=(const Promise&) = delete;
  void Give(MakeAnswer make) {
    if (std::exchange(given_, true)) return;
    std::unique_lock<std::mutex> lock(later_->mu);
    if (!later_->returned) {
      later_->given = std::move(make);  // ServeOne makes and sends it (a dry run's, a refusal's)
      return;
    }
    lock.unlock();
    mailbox_->Post(conn_, std::move(make));
  }

 private:
  std::shared_ptr<Later> later_;
  std::shared_ptr<Connections::Conn> conn_;
  std::shared_ptr<Connections::Mailbox> mailbox_;
  bool given_ = false;  // by the one thread that calls the function
};

}  // namespace

std::function<void(MakeAnswer)> AnswerLater() {
  Serving* s = t_serving;
  if (s == nullptr || !s->later || s->taken) return {};
  s->taken = true;
  s->conn->awaiting = true;
  s->promised = std::make_shared<Later>();
  auto promise = std::make_shared<Promise>(s->promised, s->conn, s->mailbox);
  return [promise](MakeAnswer make) { promise->Give(std::move(make)); };
}

bool AnsweredLater() { return t_serving != nullptr && t_serving->taken; }

void NoteLargeBody() {
  if (t_serving != nullptr) t_serving->large = true;
}

Connections::Connections(ConnectionSettings settings, Serve serve)
    : settings_(std::move(settings)), serve_(std::move(serve)), mailbox_(std::make_shared<Mailbox>()) {}

Connections::~Connections() { Shutdown(); }

void Connections::Start() {
  std::call_once(started_, [this] {
    epoll_ = ::epoll_create1(EPOLL_CLOEXEC);
    wake_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    mailbox_->fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr;  // the wake-up, not a connection
    epoll_event post{};
    post.events = EPOLLIN | EPOLLONESHOT;  // one loop thread takes the answers posted
    post.data.ptr = &posted_tag;
    if (epoll_ < 0 || wake_ < 0 || mailbox_->fd < 0 || ::epoll_ctl(epoll_, EPOLL_CTL_ADD, wake_, &ev) != 0 ||
        ::epoll_ctl(epoll_, EPOLL_CTL_ADD, mailbox_->fd, &post) != 0) {
      spdlog::error("cannot serve connections: {}", std::strerror(errno));
      stopping_ = true;
      return;
    }
    workers_ = std::make_unique<httplib::ThreadPool>(std::max<size_t>(1, settings_.workers));
    for (size_t i = 0; i < std::max<size_t>(1, settings_.loops); ++i) loops_.emplace_back([this, i] { Loop(i == 0); });
  });
}

void Connections::Add(int fd) {
  if (stopping_ || epoll_ < 0) {
    ::close(fd);
    return;
  }
  const int flags = ::fcntl(fd, F_GETFL, 0);
  ::fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int yes = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof yes);
  auto c = std::make_shared<Conn>();
  c->fd = fd;
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    char host[NI_MAXHOST] = "";
    char serv[NI_MAXSERV] = "";
    if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv,
                      NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
      c->ip = host;
      c->port = std::atoi(serv);
    }
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns_[fd] = c;
  }
  c->deadline = NowMs() + std::chrono::milliseconds(settings_.read_timeout).count();
  c->state = ConnState::kReading;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
  ev.data.ptr = c.get();
  if (::epoll_ctl(epoll_, EPOLL_CTL_ADD, fd, &ev) != 0) Close(c);
}

void Connections::Loop(bool sweeper) {
  epoll_event events[64];
  int64_t next_sweep = NowMs() + 1000;
  while (!stopped_loops_) {
    const int n = ::epoll_wait(epoll_, events, 64, 1000);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) continue;  // the loops are stopping
      if (events[i].data.ptr == &posted_tag) {
        DeliverPosted();
        continue;
      }
      OnEvent(static_cast<Conn*>(events[i].data.ptr)->shared_from_this());
    }
    if (sweeper && NowMs() >= next_sweep) {
      Sweep();
      next_sweep = NowMs() + 1000;
    }
  }
}

void Connections::OnEvent(const std::shared_ptr<Conn>& c) {
  // This thread's now: the sweep leaves it alone while it reads (or sends) and serves.
  if (c->state.exchange(ConnState::kBusy) == ConnState::kWriting) return Respond(c);
  char buf[kReadChunk];
  for (;;) {
    const ssize_t n = ::recv(c->fd, buf, sizeof buf, 0);
    if (n > 0) {
      c->in.append(buf, static_cast<size_t>(n));
      // Enough for any request read here; the rest waits in the socket.
      if (c->in.size() - c->pos > settings_.loop_body_max + kHeadMax) break;
      continue;
    }
    if (n == 0) {
      c->peer_done = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) break;
    return Close(c);  // reset
  }
  Dispatch(c);
}

void Connections::Dispatch(const std::shared_ptr<Conn>& c) {
  const Scan scan = ScanRequest(c->Unread(), std::min(settings_.body_limit, settings_.loop_body_max));
  if (scan.frame == Frame::kIncomplete) {
    if (c->peer_done || (stopping_ && c->Unread().empty())) return Close(c);
    return WaitFor(c, false);
  }
  if (stopping_ && scan.frame == Frame::kThread) return Close(c);
  c->state = ConnState::kBusy;
  if (scan.frame == Frame::kThread) {
    workers_->enqueue([this, c] { ServeOne(c, 0, false); });
    return;
  }
  const std::string_view unread = c->Unread();
  const bool later = settings_.answers_later && settings_.answers_later(unread.substr(0, unread.find("\r\n")));
  if (later && settings_.later_on_loops) return ServeOne(c, scan.length, true);
  workers_->enqueue([this, c, length = scan.length, later] { ServeOne(c, length, later); });
}

void Connections::ServeOne(const std::shared_ptr<Conn>& c, size_t length, bool later) {
  const bool whole = length > 0;
  // A client that ended its side is answered what it sent whole, then the connection closes.
  const bool last = c->served + 1 >= settings_.keep_alive_max || stopping_ ||
                    (c->peer_done && (!whole || c->Unread().size() <= length));
  Serving serving{c, mailbox_, later, false, false, nullptr};
  ConnStream stream(*c, whole, settings_, serving.taken);
  Serving* outer = t_serving;
  t_serving = &serving;
  bool closed = false, ok = false;
  try {
    ok = serve_(stream, last, closed);
  } catch (const std::exception& e) {
    spdlog::error("a request's connection failed: {}", e.what());
  }
  t_serving = outer;
  ++c->served;
  c->large = c->large || serving.large;
  // httplib read less or more than the head said (a 400 or 414 before the body): what
  // follows cannot be trusted to begin a request.
  const bool out_of_step = whole && c->pos != length;
  c->in.erase(0, c->pos);
  c->pos = 0;
  if (c->in.empty() && c->in.capacity() > kReadChunk) std::string().swap(c->in);
  const bool close = !ok || closed || last || stream.closes() || out_of_step;
  if (serving.taken) {
    // Whoever comes second sends the answer: this thread, when it was given already.
    c->close_after = close;
    std::unique_lock<std::mutex> lock(serving.promised->mu);
    serving.promised->returned = true;
    if (!serving.promised->given) return;
    MakeAnswer make = std::move(serving.promised->given);
    lock.unlock();
    auto [status, json] = make();
    return Deliver(c, status, std::move(json));
  }
  c->close_after = close;
  if (whole) return Respond(c);
  AfterAnswer(c);  // a thread's request wrote its answer as it went
}

void Connections::DeliverPosted() {
  std::vector<std::pair<std::shared_ptr<Conn>, MakeAnswer>> answers;
  {
    std::lock_guard<std::mutex> lock(mailbox_->mu);
    uint64_t count = 0;
    (void)!::read(mailbox_->fd, &count, sizeof count);
    answers.swap(mailbox_->answers);
  }
  // Armed again before the answers are sent, so that the next posted wake another loop thread.
  epoll_event post{};
  post.events = EPOLLIN | EPOLLONESHOT;
  post.data.ptr = &posted_tag;
  ::epoll_ctl(epoll_, EPOLL_CTL_MOD, mailbox_->fd, &post);
  for (auto& [conn, make] : answers) {
    auto [status, json] = make();
    Deliver(conn, status, std::move(json));
  }
}

void Connections::Deliver(const std::shared_ptr<Conn>& c, int status, std::string json) {
  c->awaiting = false;
  std::string& out = c->out;
  // As httplib writes its heads: the fields in the order of their names.
  out = "HTTP/1.1 " + std::to_string(status) + " " + Reason(status) + "\r\n";
  if (c->close_after) out += "Connection: close\r\n";
  out += "Content-Length: " + std::to_string(json.size()) + "\r\nContent-Type: application/json\r\n";
  if (!c->close_after) {
    out += "Keep-Alive: timeout=" + std::to_string(settings_.keep_alive.count()) +
           ", max=" + std::to_string(settings_.keep_alive_max) + "\r\n";
  }
  out += "\r\n";
  out += json;
  c->sent = 0;
  Respond(c);
}

void Connections::Respond(const std::shared_ptr<Conn>& c) {
  while (c->sent < c->out.size()) {
    const ssize_t n = ::send(c->fd, c->out.data() + c->sent, c->out.size() - c->sent, MSG_NOSIGNAL);
    if (n > 0) {
      c->sent += static_cast<size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      return WaitFor(c, true);
    } else {
      return Close(c);
    }
  }
  if (c->out.capacity() > kReadChunk) {
    std::string().swap(c->out);
  } else {
    c->out.clear();
  }
  c->sent = 0;
  AfterAnswer(c);
}

void Connections::AfterAnswer(const std::shared_ptr<Conn>& c) {
  if (c->close_after) return Close(c);
  // A request sent behind this one (pipelined) waits for no event: the bytes are here.
  if (!c->Unread().empty()) {
    c->state = ConnState::kBusy;
    workers_->enqueue([this, c] { Dispatch(c); });
    return;
  }
  if (stopping_) return Close(c);
  WaitFor(c, false);
}

void Connections::WaitFor(const std::shared_ptr<Conn>& c, bool writing) {
  const std::chrono::seconds timeout =
      writing ? settings_.write_timeout : c->Unread().empty() ? settings_.keep_alive : settings_.read_timeout;
  c->deadline = NowMs() + std::chrono::milliseconds(timeout).count();
  c->state = writing ? ConnState::kWriting : ConnState::kReading;
  epoll_event ev{};
  ev.events = (writing ? EPOLLOUT : EPOLLIN | EPOLLRDHUP) | EPOLLONESHOT;
  ev.data.ptr = c.get();
  // Armed, the connection is the next event's: this thread touches it no more.
  if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, c->fd, &ev) != 0) {
    c->state = ConnState::kBusy;
    Close(c);
  }
}

void Connections::Close(const std::shared_ptr<Conn>& c) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    conns_.erase(c->fd);
    if (conns_.empty()) none_left_.notify_all();
  }
  ::close(c->fd);
  // The megabytes a large body took are free but kept by the malloc arena of the thread
  // that served it; each thread may have its own, so the server grew by each one's share
  // (docs/performance.md, "Ninth pass"). Handed back once a connection, not per request.
  if (c->large) ::malloc_trim(0);
}

// A connection waiting for its client past the timeout is shut down; its event (the end
// of its input, or an error) then reaches its loop thread, which closes it.
void Connections::Sweep() {
  const int64_t now = NowMs();
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [fd, c] : conns_) {
    const ConnState s = c->state;
    if ((s == ConnState::kReading || s == ConnState::kWriting) && c->deadline < now) ::shutdown(fd, SHUT_RDWR);
  }
}

void Connections::Shutdown() {
  stopping_ = true;
  if (epoll_ < 0 || workers_ == nullptr || stopped_loops_) return;  // never started, or stopped
  {
    std::unique_lock<std::mutex> lock(mu_);
    // Idle connections end now; those serving a request end once it is answered.
    for (const auto& [fd, c] : conns_) {
      if (c->state == ConnState::kReading) ::shutdown(fd, SHUT_RDWR);
    }
    const bool ended = none_left_.wait_for(lock, settings_.read_timeout + settings_.write_timeout + std::chrono::seconds(1),
                                           [&] { return conns_.empty(); });
    // Those still busy then (a thread reading a body that trickles in, an answer a client does
    // not take) are cut off, so that their threads end and the stop does not wait for ever;
    // those whose decisions are still being committed are answered whenever that ends (as
    // the threads that waited for them were before).
    if (!ended) {
      for (const auto& [fd, c] : conns_) {
        if (!c->awaiting) ::shutdown(fd, SHUT_RDWR);
      }
      none_left_.wait(lock, [&] { return conns_.empty(); });
    }
  }
  if (stopped_loops_.exchange(true)) return;
  const uint64_t one = 1;
  (void)!::write(wake_, &one, sizeof one);
  for (std::thread& t : loops_) t.join();
  workers_->shutdown();  // its requests finish first
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [fd, c] : conns_) ::close(fd);
  conns_.clear();
  ::close(epoll_);
  ::close(wake_);
  std::lock_guard<std::mutex> closing(mailbox_->mu);
  mailbox_->closed = true;  // answers given from now on have no connection to go to
  mailbox_->answers.clear();
  ::close(mailbox_->fd);
}

namespace {

// httplib's accept loop hands each socket to Connections (through the virtual
// process_and_close_socket) and, once it stops listening, stops them.
class Handoff final : public httplib::TaskQueue {
 public:
  explicit Handoff(Connections& c) : c_(c) {}
  void enqueue(std::function<void()> fn) override { fn(); }
  void shutdown() override { c_.Shutdown(); }

 private:
  Connections& c_;
};

}  // namespace

Frontend::Frontend(ConnectionSettings settings)
    : connections_(std::move(settings), [this](httplib::Stream& stream, bool last, bool& closed) {
        return process_request(stream, last, closed, nullptr);
      }) {
  new_task_queue = [this] {
    connections_.Start();
    return new Handoff(connections_);
  };
}

Frontend::~Frontend() = default;

bool Frontend::process_and_close_socket(socket_t sock) {
  connections_.Add(sock);
  return true;
}

}  // namespace rota::http
