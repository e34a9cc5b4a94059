#include "http/server.h"

#include <httplib.h>
#include <netdb.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <chrono>
#include <cstring>
#include <regex>
#include <thread>

#include "core/text.h"
#include "http/connections.h"
#include "http/csv.h"
#include "http/embedded.h"
#include "http/listen.h"
#include "http/status_map.h"
#include "io/keys_file.h"
#include "io/xlsx_read.h"

namespace rota::http {
namespace {

using service::Json;
using service::Principal;
using service::Role;

// A body either way at least this large (a batch of decisions, a keys import, a long
// page of history): its connection hands the memory back when it ends (NoteLargeBody).
constexpr size_t kLargeBody = 64 * 1024;

// Who may call a route.
enum class Access {
  kPublic,        // no key
  kAdmin,         // admin only
  kRead,          // admin, member
  kAssign,        // admin, integration, and members that may reassign (the service limits them to it)
  kRecordsRead,   // every role
  kRecordsWrite,  // admin, integration
};

bool Allowed(Access a, const service::Principal& who) {
  const Role r = who.role;
  switch (a) {
    case Access::kPublic: return true;
    case Access::kAdmin: return r == Role::kAdmin;
    case Access::kRead: return r == Role::kAdmin || r == Role::kMember;
    case Access::kAssign: return r != Role::kMember || who.can_reassign;
    case Access::kRecordsRead: return true;
    case Access::kRecordsWrite: return r == Role::kAdmin || r == Role::kIntegration;
  }
  return false;
}

// What a handler gets.
struct Ctx {
  const httplib::Request& req;
  httplib::Response& res;
  Principal who;
  std::vector<std::string> params;  // path parameters, decoded
  Json body;                        // parsed JSON body (null when none)
  std::string raw;                  // the body as sent (files, signed webhooks)
  const std::string& route;         // "METHOD /path/{param}", as the metrics name it

  // A parameter left empty (`?owner=&rule=`, as a form sends its blank fields) is one not given.
  std::optional<std::string> Query(const char* name) const {
    if (!req.has_param(name) || req.get_param_value(name).empty()) return std::nullopt;
    return req.get_param_value(name);
  }
  service::Page Page() const {
    service::Page p;
    if (auto l = Query("limit")) {
      try {
        size_t used = 0;
        p.limit = std::stoi(*l, &used);
        if (used != l->size()) p.limit = -1;
      } catch (const std::exception&) {
        p.limit = -1;
      }
    }
    if (auto c = Query("cursor")) p.cursor = *c;
    return p;
  }
};

// A true/false query parameter ("true"/"1", "false"/"0"); `fallback` when absent.
Result<bool> BoolQuery(const Ctx& c, const char* name, bool fallback = false) {
  auto v = c.Query(name);
  if (!v || v->empty()) return fallback;
  if (*v == "true" || *v == "1") return true;
  if (*v == "false" || *v == "0") return false;
  return Status::Invalid(name, std::string(name) + " is true or false");  // a bad value, as a bad period or limit
}

// A handler answers JSON (200, or `status` when set), or a Status for an error.
struct Answer {
  Result<Json> result;
  int status = 200;
  bool later = false;  // answered through AnswerJsonLater's function
};
using Handler = std::function<Answer(Ctx&)>;

// Replaces (does not throw on) invalid UTF-8 that a caller's ids or files brought in.
std::string JsonText(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

void SendJson(httplib::Response& res, int status, const Json& j) {
  res.status = status;
  res.set_content(JsonText(j), "application/json");
}

// A request's log line (`rota serve` without --quiet).
void LogRequest(const std::string& method, const std::string& path, int status, size_t bytes) {
  spdlog::info("{} {} {} {}B", method, path, status, bytes);
}

// A function that answers the request `c` later, from any thread: `ok_status` with the JSON
// result, or the error's status and body, counted in the metrics and logged (when `log`) as
// the requests answered at once are. Empty when it cannot be answered so (http/connections.h:
// AnswerLater).
std::function<void(Result<Json>)> AnswerJsonLater(service::Service& svc, const Ctx& c, bool log, int ok_status) {
  auto send = AnswerLater();
  if (!send) return {};
  return [send = std::move(send), &svc, route = c.route, log, ok_status, method = c.req.method,
          path = c.req.path](Result<Json> r) {
    send([r = std::move(r), &svc, route, log, ok_status, method, path]() -> std::pair<int, std::string> {
      const int status = r.ok() ? ok_status : HttpStatus(r.status().code());
      std::string text = JsonText(r.ok() ? *r : io::ErrorBody(r.status()));
      svc.metrics().Request(route, status);
      if (log) LogRequest(method, path, status, text.size());
      return {status, std::move(text)};
    });
  };
}

void SendError(httplib::Response& res, const Status& s) {
  SendJson(res, HttpStatus(s.code()), io::ErrorBody(s));
}

// `Accept: text/csv` (the history and the distribution report answer CSV then).
bool AcceptsCsv(const httplib::Request& req) {
  return core::AsciiLower(req.get_header_value("Accept")).find("text/csv") != std::string::npos;
}

// What is wrong with the request's path or query, if anything: a '%' not followed by two
// hex digits (httplib would keep it as it is: "%zz" would be an id), bytes that are not
// UTF-8, or control characters: any, with `control` (no route matched); else (a route's
// parameters, a query's values) any but tabs and line breaks, which a key's value may hold.
std::optional<Status> PathProblem(const httplib::Request& req, bool control) {
  const std::string_view raw = std::string_view(req.target).substr(0, req.target.find('?'));
  for (size_t i = raw.find('%'); i != std::string_view::npos; i = raw.find('%', i + 1)) {
    if (i + 2 >= raw.size() || !std::isxdigit(static_cast<unsigned char>(raw[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(raw[i + 2]))) {
      return Status(Code::kMalformed, "bad_request", "the path has a '%' that is not followed by two hex digits");
    }
  }
  if (!core::ValidUtf8(req.path)) return Status(Code::kMalformed, "bad_request", "the path is not valid UTF-8");
  // A route's parameter may be a distribution key's value, which may hold tabs and line
  // breaks (`control` false); no path holds NUL or another control character.
  if (core::HasControlChar(req.path, /*text_spacing=*/!control)) {
    return Status(Code::kMalformed, "bad_request",
                  control ? "the path holds control characters (tabs, line breaks, NUL)"
                          : "the path holds control characters (NUL, say)");
  }
  // Nor does a query parameter (a filter's id, a cursor): PostgreSQL would end its text at
  // a NUL, and `?owner=u-1%00x` match u-1's decisions.
  for (const auto& [name, value] : req.params) {
    const bool name_ok = core::ValidUtf8(name) && !core::HasControlChar(name, true);
    if (!name_ok || core::HasControlChar(value, true) || !core::ValidUtf8(value)) {
      return Status(Code::kMalformed, "bad_request",
                    (name_ok ? "the query parameter \"" + name + "\"" : std::string("a query parameter")) +
                        " holds control characters (NUL, say) or is not UTF-8");
    }
  }
  return std::nullopt;
}

std::string Bearer(const httplib::Request& req) {
  // The header as received: httplib's get_header_value ends it at a NUL, so that
  // "Bearer KEY\0anything" would pass as KEY.
  const auto found = req.headers.find("Authorization");
  const std::string h = found == req.headers.end() ? "" : found->second;
  const std::string prefix = "Bearer ";
  if (h.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), h.begin(), [](char a, char b) {
        return std::tolower(a) == std::tolower(b);
      })) {
    const size_t start = h.find_first_not_of(' ', prefix.size());
    std::string key = start == std::string::npos ? "" : h.substr(start);
    while (!key.empty() && key.back() == ' ') key.pop_back();
    return key;
  }
  return "";
}

// The request's body, read through httplib's content reader so that the size limit holds
// however the body is framed: httplib checks a Content-Length against it, but reads a
// chunked body whole. A body a little over the limit is read to its end and dropped, so
// that the connection stays in step for the next request; one far over it (a stream that
// may never end) is cut off, and the connection closes after the 413. A multipart body
// is read part by part (its parts' contents, which no JSON route accepts).
Status ReadBody(const httplib::Request& req, const httplib::ContentReader& reader, httplib::Response& res,
                size_t limit, std::string* out) {
  // A request with neither a length nor chunks has no body (curl -X POST without -d):
  // httplib would read it to the connection's end.
  if (!req.has_header("Content-Length") &&
      req.get_header_value("Transfer-Encoding").find("chunked") == std::string::npos) {
    return Status::Ok();
  }
  const size_t drain = limit > SIZE_MAX / 4 ? SIZE_MAX : limit * 4;
  size_t seen = 0;
  auto take = [&](const char* data, size_t n) {
    seen += n;
    if (seen > drain) return false;
    if (seen <= limit) out->append(data, n);
    return true;
  };
  bool read = req.is_multipart_form_data()
                  ? reader([](const httplib::MultipartFormData&) { return true; }, take)
                  : reader(take);
  if (seen > limit || (!read && res.status == 413)) {
    std::string().swap(*out);
    if (seen > drain) res.set_header("Connection", "close");
    return Status(Code::kTooLarge, "body_too_large", "the request body is over the size limit");
  }
  if (!read) return Status::Malformed("the request body could not be read");
  return Status::Ok();
}

const char* ContentType(const std::string& path) {
  auto ends = [&](const char* ext) { return path.ends_with(ext); };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  if (ends(".yaml")) return "application/yaml";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

}  // namespace

static ConnectionSettings SettingsOf(const Options& o) {
  ConnectionSettings s;
  s.workers = o.threads;
  s.body_limit = o.body_limit;
  s.keep_alive_max = kKeepAliveRequests;
  // A decision waits for its batch's commit with no thread waiting for it.
  s.answers_later = [](std::string_view line) {
    return line.starts_with("POST /v1/assign ") || line.starts_with("POST /v1/assign?");
  };
  s.later_on_loops = o.decisions_on_loops;
  return s;
}

Server::Server(service::Service& service, Options options)
    : Server(service, options, std::make_unique<Frontend>(SettingsOf(options))) {}

Server::Server(service::Service& service, Options options, std::unique_ptr<httplib::Server> impl)
    : service_(service), options_(std::move(options)), server_(std::move(impl)) {
  Install();
}

Server::~Server() = default;

// Why HOST:PORT cannot be listened on, found again by hand (httplib says only that it
// failed): a host that does not resolve, or bind's own error (in use, not this machine's
// address, a port that needs privileges).
static std::string WhyNotBound(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(port);
  if (int rc = getaddrinfo(host.empty() ? nullptr : host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return "cannot resolve \"" + host + "\": " + gai_strerror(rc);
  }
  std::string why = "address in use?";
  const int fd = socket(found->ai_family, found->ai_socktype, found->ai_protocol);
  if (fd < 0) {
    why = std::strerror(errno);
  } else {
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    if (bind(fd, found->ai_addr, found->ai_addrlen) != 0) why = std::strerror(errno);
    close(fd);
  }
  freeaddrinfo(found);
  return why;
}

Status Server::Bind() {
  if (options_.port == 0) {
    port_ = server_->bind_to_any_port(options_.host);
    if (port_ < 0) return Status::Internal("cannot listen on " + options_.host + " (" + WhyNotBound(options_.host, 0) + ")");
  } else if (!server_->bind_to_port(options_.host, options_.port)) {
    return Status::Internal("cannot listen on " + options_.host + ":" + std::to_string(options_.port) + " (" +
                            WhyNotBound(options_.host, options_.port) + ")");
  } else {
    port_ = options_.port;
  }
  if (!WidenBacklog(listen_fd_)) {
    return Status::Internal("cannot listen on " + options_.host + ":" + std::to_string(port_) + ": " +
                            std::strerror(errno));
  }
  return Status::Ok();
}

void Server::Run() {
  run_started_ = true;
  if (!stop_requested_) server_->listen_after_bind();
  run_returned_ = true;
}

// httplib's stop() does nothing until its accept loop is running, so a signal taken
// between Bind() and that loop was lost and the server never stopped. Whichever of
// Run() and Stop() comes second sees the other's flag: a Run() not yet begun returns
// at once; one under way is waited for until httplib listens (or Run() has returned).
void Server::Stop() {
  stop_requested_ = true;
  if (!run_started_) return;
  while (!run_returned_ && !server_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  server_->stop();
}

void Server::Install() {
  httplib::Server& s = *server_;
  s.set_tcp_nodelay(true);
  UseListenOptions(s, &listen_fd_);
  s.set_payload_max_length(options_.body_limit);

  // Fill an empty error answer (unknown route, body too large…) with API.md's body.
  s.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    // A path no pattern matched because of a line break in it: a bad path, not a missing one.
    if (res.status == 404) {
      if (auto problem = PathProblem(req, /*control=*/true)) {
        SendError(res, *problem);
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    Status st;
    switch (res.status) {
      case 404: st = Status::NotFound("no such route"); break;
      case 413: st = Status(Code::kTooLarge, "body_too_large", "the request body is over the size limit"); break;
      case 405: st = Status(Code::kMalformed, "method_not_allowed", "method not allowed"); break;
      case 414: st = Status(Code::kMalformed, "uri_too_long", "the request's URL is over 8 KiB"); break;
      default: st = Status(Code::kMalformed, "bad_request", "the request could not be read"); break;
    }
    int status = res.status;
    SendError(res, st);
    res.status = status;
    return httplib::Server::HandlerResponse::Handled;
  }));
  s.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unexpected error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    spdlog::error("unhandled exception: {}", what);
    SendError(res, Status::Internal("internal error"));
  });
  if (options_.log_requests) {
    s.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      if (AnsweredLater()) return;  // logged when answered (AnswerJsonLater)
      LogRequest(req.method, req.path, res.status, res.body.size());
    });
  }

  service::Service& svc = service_;
  const size_t limit = options_.body_limit;
  // Every route's method and pattern, for the answer to a path that has other methods (405).
  auto patterns = std::make_shared<std::vector<std::pair<std::string, std::regex>>>();
  // `body`: a JSON body, one that may be left out, or a file the handler reads from
  // `Ctx::raw` whatever its declared type (the keys import).
  enum class Body { kJson, kOptionalJson, kFile };
  auto add = [this, &s, &svc, limit, patterns](const std::string& method, const std::string& path, Access access,
                                               Handler h, Body body = Body::kJson) {
    routes_.push_back({method, path});
    // A key's {value} and a record's {id} end their paths and may hold "/" ("N/A", a
    // CRM's "ACME/2024/7", sent as %2F): httplib decodes the path before matching it.
    const bool slash_last = path.ends_with("/{value}") || path.starts_with("/v1/records/");
    std::string pattern = slash_last ? std::regex_replace(path, std::regex(R"(\{[a-z_]+\}$)"), "(.+)") : path;
    pattern = std::regex_replace(pattern, std::regex(R"(\{[a-z_]+\})"), "([^/]+)");  // the others
    patterns->emplace_back(method, std::regex(pattern));
    const std::string route = method + " " + path;
    const bool body_required = body == Body::kJson, file_body = body == Body::kFile;
    // A single decision's key is confirmed in the decision's own transaction, not read here.
    const bool key_confirmed_later = route == "POST /v1/assign";
    auto wrapped = [&svc, access, h, route, method, body_required, file_body, limit, key_confirmed_later](
                       const httplib::Request& req, httplib::Response& res, const httplib::ContentReader* reader) {
      Ctx ctx{req, res, {}, {}, nullptr, {}, route};
      auto finish = [&](int status) {
        svc.metrics().Request(route, status);
        if (ctx.raw.size() >= kLargeBody || res.body.size() >= kLargeBody) NoteLargeBody();
      };
      if (reader != nullptr) {
        Status read = ReadBody(req, *reader, res, limit, &ctx.raw);
        if (!read.ok()) {
          SendError(res, read);
          return finish(res.status);
        }
      }
      // Refused after the key's check: a key taken from memory is read first, so that a
      // revoked one gets its 401 rather than another error.
      auto refuse = [&](const Status& s) {
        SendError(res, svc.KeyFirst(ctx.who, s));
        finish(res.status);
      };
      if (access != Access::kPublic) {
        auto who = key_confirmed_later ? svc.AuthenticateForDecision(Bearer(req)) : svc.Authenticate(Bearer(req));
        if (!who.ok()) {
          SendError(res, who.status());
          return finish(res.status);
        }
        ctx.who = *who;
        if (!Allowed(access, *who)) {
          return refuse(Status::Forbidden("the " + service::ToString(who->role) + " role may not " + route +
                                          (access == Access::kAssign ? " (a member key only with can_reassign)" : "")));
        }
      }
      // httplib matched the decoded path: parameters arrive decoded.
      for (size_t i = 1; i < req.matches.size(); ++i) ctx.params.push_back(req.matches[i].str());
      // Ids and filters are text: bytes that are not UTF-8, and NUL, are refused.
      if (auto problem = PathProblem(req, /*control=*/false)) return refuse(*problem);
      if ((method == "POST" || method == "PUT" || method == "PATCH") && !file_body) {
        if (ctx.raw.empty() && body_required) return refuse(Status::Malformed("a JSON body is required"));
        auto parsed = ctx.raw.empty() ? Result<Json>(Json(nullptr)) : io::ParseJson(ctx.raw);
        if (!parsed.ok()) return refuse(parsed.status());
        ctx.body = std::move(parsed).value();
      }
      Answer a = h(ctx);
      if (a.later) {  // answered, counted and logged by AnswerJsonLater's function
        if (ctx.raw.size() >= kLargeBody) NoteLargeBody();
        return;
      }
      if (!a.result.ok()) {
        SendError(res, a.result.status());
      } else if (res.body.empty()) {
        if (a.status == 204) {
          res.status = 204;
        } else {
          SendJson(res, a.status, *a.result);
        }
      } else if (res.status == -1) {  // a handler that wrote its own body (CSV, YAML, metrics)
        res.status = a.status;
      }
      finish(res.status);
    };
    if (method == "GET") {
      s.Get(pattern, [wrapped](const httplib::Request& req, httplib::Response& res) { wrapped(req, res, nullptr); });
      return;
    }
    // Every other method reads its body through the content reader (ReadBody).
    auto with_body = [wrapped](const httplib::Request& req, httplib::Response& res,
                               const httplib::ContentReader& reader) { wrapped(req, res, &reader); };
    if (method == "POST") s.Post(pattern, with_body);
    if (method == "PUT") s.Put(pattern, with_body);
    if (method == "PATCH") s.Patch(pattern, with_body);
    if (method == "DELETE") s.Delete(pattern, with_body);
  };
  // A path no route of the request's method serves: 405 with `Allow` when other methods
  // serve it, else 404 (the error handler writes the body).
  auto unrouted = [patterns](const httplib::Request& req, httplib::Response& res) {
    if (auto problem = PathProblem(req, /*control=*/true)) return SendError(res, *problem);
    std::string allow;
    for (const auto& [method, re] : *patterns) {
      if (method != req.method && std::regex_match(req.path, re) && allow.find(method) == std::string::npos) {
        allow += (allow.empty() ? "" : ", ") + method;
      }
    }
    res.status = allow.empty() ? 404 : 405;
    if (!allow.empty()) res.set_header("Allow", allow);
  };
  auto ok = [](Result<Json> r) { return Answer{std::move(r), 200}; };
  auto created = [](Result<Json> r) { return Answer{std::move(r), 201}; };
  auto none = [](const Status& st) { return st.ok() ? Answer{Json(nullptr), 204} : Answer{st, 0}; };
  auto ws = [](Ctx& c) -> const std::string& { return c.who.workspace; };

  // ---- public
  add("GET", "/healthz", Access::kPublic, [](Ctx&) { return Answer{Json{{"status", "ok"}}, 200}; });
  // Ready to serve: the database answers a read (a load balancer's probe; /healthz says
  // only that the process is up).
  add("GET", "/readyz", Access::kPublic, [&svc](Ctx&) {
    Status s = svc.Ready();
    return s.ok() ? Answer{Json{{"status", "ready"}}, 200} : Answer{s, 0};
  });
  add("GET", "/metrics", Access::kPublic, [&svc](Ctx& c) {
    c.res.set_content(svc.RenderMetrics(), "text/plain; version=0.0.4");
    return Answer{Json(nullptr), 200};
  });
  add("GET", "/v1/openapi.yaml", Access::kPublic, [](Ctx& c) {
    const embedded::File* f = embedded::Find("docs/openapi.yaml");
    if (f == nullptr) return Answer{Status::NotFound("no OpenAPI file in this build"), 0};
    c.res.set_content(reinterpret_cast<const char*>(f->data), f->size, "application/yaml");
    return Answer{Json(nullptr), 200};
  });

  // ---- decisions
  const bool log = options_.log_requests;
  add("POST", "/v1/assign", Access::kAssign, [&svc, log](Ctx& c) {
    const std::string key = c.req.get_header_value("Idempotency-Key");
    // The decision is answered once its batch has committed, with no thread waiting for it
    // (http/connections.h); where it cannot be (the fuzz target's server), here.
    if (auto answer = AnswerJsonLater(svc, c, log, 200)) {
      svc.AssignThen(c.who, c.body, key, std::move(answer));
      return Answer{Json(nullptr), 200, true};
    }
    return Answer{svc.Assign(c.who, c.body, key), 200};
  });
  add("POST", "/v1/assign/batch", Access::kAssign, [&svc](Ctx& c) {
    // One key cannot name a thousand decisions: refused rather than ignored, so that a
    // client retrying the batch learns that its retry would decide again.
    if (!c.req.get_header_value("Idempotency-Key").empty()) {
      return Answer{Status::Invalid("Idempotency-Key", "a batch takes no Idempotency-Key header: give each item its own "
                                                       "\"idempotency_key\""),
                    200};
    }
    return Answer{svc.AssignBatch(c.who, c.body), 200};
  });
  add("POST", "/v1/simulate", Access::kRead, [&svc, ws](Ctx& c) { return Answer{svc.Simulate(ws(c), c.body), 200}; });

  // ---- keys
  // The caller's own key: what the console may offer it (a member's can_reassign).
  add("GET", "/v1/me", Access::kRecordsRead, [](Ctx& c) {
    return Answer{Json{{"workspace", c.who.workspace},
                       {"key_id", c.who.key_id},
                       {"role", service::ToString(c.who.role)},
                       {"can_reassign", c.who.can_reassign}},
                  200};
  });
  add("POST", "/v1/keys", Access::kAdmin, [&svc, created](Ctx& c) { return created(svc.CreateKey(c.who, c.body)); });
  add("GET", "/v1/keys", Access::kAdmin, [&svc, ok](Ctx& c) { return ok(svc.ListKeys(c.who, c.Page())); });
  add("DELETE", "/v1/keys/{id}", Access::kAdmin,
      [&svc, none](Ctx& c) { return none(svc.RevokeKey(c.who, c.params[0])); });

  // ---- users
  add("POST", "/v1/users", Access::kAdmin, [&svc, created, ws](Ctx& c) { return created(svc.CreateUser(ws(c), c.body)); });
  add("GET", "/v1/users", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.ListUsers(ws(c), c.Page())); });
  add("GET", "/v1/users/{id}", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.GetUser(ws(c), c.params[0])); });
  add("PATCH", "/v1/users/{id}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.PatchUser(ws(c), c.params[0], c.body)); });
  add("DELETE", "/v1/users/{id}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeleteUser(ws(c), c.params[0])); });

  // ---- pools
  add("POST", "/v1/pools", Access::kAdmin, [&svc, created, ws](Ctx& c) { return created(svc.CreatePool(ws(c), c.body)); });
  add("GET", "/v1/pools", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.ListPools(ws(c), c.Page())); });
  add("GET", "/v1/pools/{id}", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.GetPool(ws(c), c.params[0])); });
  add("PATCH", "/v1/pools/{id}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.PatchPool(ws(c), c.params[0], c.body)); });
  add("DELETE", "/v1/pools/{id}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeletePool(ws(c), c.params[0])); });
  add("POST", "/v1/pools/{id}/members", Access::kAdmin,
      [&svc, created, ws](Ctx& c) { return created(svc.AddPoolMember(ws(c), c.params[0], c.body)); });
  add("DELETE", "/v1/pools/{id}/members/{user}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.RemovePoolMember(ws(c), c.params[0], c.params[1])); });

  // ---- rules (priority before {id} so that it is not taken for a rule id)
  add("PUT", "/v1/rules/priority", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.SetRulePriority(ws(c), c.body)); });
  add("POST", "/v1/rules", Access::kAdmin, [&svc, created, ws](Ctx& c) { return created(svc.CreateRule(ws(c), c.body)); });
  add("GET", "/v1/rules", Access::kRead,
      [&svc, ok, ws](Ctx& c) { return ok(svc.ListRules(ws(c), c.Query("object_type"), c.Page())); });
  add("GET", "/v1/rules/{id}", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.GetRule(ws(c), c.params[0])); });
  add("PUT", "/v1/rules/{id}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.PutRule(ws(c), c.params[0], c.body)); });
  add("DELETE", "/v1/rules/{id}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeleteRule(ws(c), c.params[0])); });

  // ---- distributions
  add("POST", "/v1/distributions", Access::kAdmin,
      [&svc, created, ws](Ctx& c) { return created(svc.CreateDistribution(ws(c), c.body)); });
  add("GET", "/v1/distributions", Access::kRead,
      [&svc, ok, ws](Ctx& c) { return ok(svc.ListDistributions(ws(c), c.Page())); });
  add("GET", "/v1/distributions/{id}", Access::kRead,
      [&svc, ok, ws](Ctx& c) { return ok(svc.GetDistribution(ws(c), c.params[0])); });
  add("PATCH", "/v1/distributions/{id}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.PatchDistribution(ws(c), c.params[0], c.body)); });
  add("DELETE", "/v1/distributions/{id}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeleteDistribution(ws(c), c.params[0])); });
  add("PUT", "/v1/distributions/{id}/keys/{value}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.PutKey(ws(c), c.params[0], c.params[1], c.body)); });
  add("DELETE", "/v1/distributions/{id}/keys/{value}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeleteKey(ws(c), c.params[0], c.params[1])); });
  // Keys import (SPEC §8): the body is the file, CSV or XLSX.
  // A workbook is known by its zip signature, whatever type it was sent as (browsers and
  // tools say application/zip, application/vnd.ms-excel or nothing); anything else is read
  // as CSV, but a JSON body is refused, as that is not the file.
  add("POST", "/v1/distributions/{id}/import", Access::kAdmin, [&svc, ok, ws](Ctx& c) {
    auto header = BoolQuery(c, "header");
    if (!header.ok()) return Answer{header.status(), 0};
    const std::string ct = core::AsciiLower(c.req.get_header_value("Content-Type"));
    const bool xlsx = io::LooksLikeZip(c.raw) || ct.find("spreadsheetml") != std::string::npos;
    if (!xlsx && ct.rfind("application/json", 0) == 0) {
      return Answer{Status::Malformed("send the file itself: Content-Type text/csv or " +
                                      std::string(io::kXlsxContentType)),
                    0};
    }
    return ok(svc.ImportKeys(ws(c), c.params[0], c.raw, xlsx, *header));
  }, Body::kFile);
  add("GET", "/v1/distributions/{id}/import/template.xlsx", Access::kRead, [&svc, ws](Ctx& c) {
    auto header = BoolQuery(c, "header", true);
    if (!header.ok()) return Answer{header.status(), 0};
    auto d = svc.GetDistribution(ws(c), c.params[0]);
    if (!d.ok()) return Answer{d.status(), 0};
    auto file = io::WriteKeysTemplateXlsx(*header);
    if (!file.ok()) return Answer{file.status(), 0};
    c.res.set_content(*file, io::kXlsxContentType);
    c.res.set_header("Content-Disposition", "attachment; filename=\"keys-template.xlsx\"");
    return Answer{Json(nullptr), 200};
  });
  add("GET", "/v1/distributions/{id}/import/template.csv", Access::kRead, [&svc, ws](Ctx& c) {
    auto header = BoolQuery(c, "header", true);
    if (!header.ok()) return Answer{header.status(), 0};
    auto d = svc.GetDistribution(ws(c), c.params[0]);
    if (!d.ok()) return Answer{d.status(), 0};
    c.res.set_content(io::WriteKeysTemplateCsv(*header), "text/csv; charset=utf-8");
    c.res.set_header("Content-Disposition", "attachment; filename=\"keys-template.csv\"");
    return Answer{Json(nullptr), 200};
  });

  // ---- records
  add("PUT", "/v1/records/{object_type}/{id}", Access::kRecordsWrite,
      [&svc, ok, ws](Ctx& c) {
        return ok(svc.PutRecord(ws(c), c.params[0], c.params[1], c.body, c.who.role == service::Role::kAdmin));
      });
  add("GET", "/v1/records/{object_type}/{id}", Access::kRecordsRead,
      [&svc, ok, ws](Ctx& c) { return ok(svc.GetRecord(ws(c), c.params[0], c.params[1])); });

  // ---- settings and the whole document
  add("GET", "/v1/settings", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.GetSettings(ws(c))); });
  add("PUT", "/v1/settings", Access::kAdmin, [&svc, ok, ws](Ctx& c) { return ok(svc.PutSettings(ws(c), c.body)); });
  add("GET", "/v1/config", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.GetConfig(ws(c))); });
  add("PUT", "/v1/config", Access::kAdmin, [&svc, ok, ws](Ctx& c) {
    auto dry_run = BoolQuery(c, "dry_run");  // anything but true/false/1/0 is refused, not applied
    if (!dry_run.ok()) return Answer{dry_run.status(), 0};
    return ok(svc.PutConfig(ws(c), c.body, *dry_run));
  });

  // ---- reading
  add("GET", "/v1/history", Access::kRead, [&svc, ws](Ctx& c) {
    service::HistoryQuery q;
    q.from = c.Query("from");
    q.to = c.Query("to");
    q.period = c.Query("period");
    q.object_type = c.Query("object_type");
    q.event = c.Query("event");
    q.rule = c.Query("rule");
    q.owner = c.Query("owner");
    q.outcome = c.Query("outcome");
    q.page = c.Page();
    auto r = svc.History(ws(c), q);
    if (r.ok() && AcceptsCsv(c.req)) {
      c.res.set_content(HistoryCsv(*r), "text/csv; charset=utf-8");
      if ((*r)["next_cursor"].is_string()) c.res.set_header("Next-Cursor", (*r)["next_cursor"].get<std::string>());
    }
    return Answer{std::move(r), 200};
  });
  add("GET", "/v1/unassigned", Access::kRead,
      [&svc, ok, ws](Ctx& c) { return ok(svc.Unassigned(ws(c), c.Query("object_type"), c.Page())); });

  // ---- reports
  add("GET", "/v1/reports/distribution", Access::kRead, [&svc, ws](Ctx& c) {
    service::ReportQuery q;
    q.from = c.Query("from");
    q.to = c.Query("to");
    q.period = c.Query("period");
    q.object_type = c.Query("object_type");
    q.rule = c.Query("rule");
    q.distribution = c.Query("distribution");
    auto r = svc.DistributionReport(ws(c), q);
    if (r.ok() && AcceptsCsv(c.req)) c.res.set_content(ReportCsv(*r), "text/csv; charset=utf-8");
    return Answer{std::move(r), 200};
  });
  add("GET", "/v1/reports/summary", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.Summary(ws(c))); });

  // ---- webhooks
  // ---- CRM connectors: configuration (keys), and the CRMs' calls in (their own auth)
  add("POST", "/v1/connectors", Access::kAdmin, [&svc, created, ws](Ctx& c) { return created(svc.CreateConnector(ws(c), c.body)); });
  add("GET", "/v1/connectors", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.ListConnectors(ws(c), c.Page())); });
  add("GET", "/v1/connectors/{id}", Access::kRead, [&svc, ok, ws](Ctx& c) { return ok(svc.GetConnector(ws(c), c.params[0])); });
  add("PATCH", "/v1/connectors/{id}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.PatchConnector(ws(c), c.params[0], c.body)); });
  add("DELETE", "/v1/connectors/{id}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeleteConnector(ws(c), c.params[0])); });
  add("GET", "/v1/connectors/{id}/deliveries", Access::kRead,
      [&svc, ok, ws](Ctx& c) { return ok(svc.ConnectorDeliveries(ws(c), c.params[0], c.Page())); });
  add("POST", "/v1/connectors/{id}/deliveries/{delivery}/retry", Access::kAdmin, [&svc, ws](Ctx& c) {
    return Answer{svc.RetryWriteBack(ws(c), c.params[0], c.params[1]), 202};
  }, Body::kOptionalJson);
  add(
      "POST", "/v1/connectors/{id}/sync-users", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.SyncUsers(ws(c), c.params[0])); }, Body::kOptionalJson);
  auto call_in = [&svc](const char* route) {
    return [&svc, route](Ctx& c) -> Answer {
      service::ConnectorCall call;
      call.route = route;
      call.method = c.req.method;
      call.target = c.req.target;
      call.host = c.req.get_header_value("Host");
      call.body = c.raw;
      call.json = c.body;
      for (const auto& [k, v] : c.req.params) call.query.emplace(k, v);
      for (const auto& [k, v] : c.req.headers) call.headers.emplace(core::AsciiLower(k), v);
      const std::string workspace = c.Query("workspace").value_or("default");
      return Answer{svc.ConnectorCallIn(workspace, c.params[0], call), 200};
    };
  };
  add("POST", "/v1/connectors/{id}/hubspot/workflow", Access::kPublic, call_in("hubspot"));
  add("POST", "/v1/connectors/{id}/pipedrive/webhook", Access::kPublic, call_in("pipedrive"));
  add("POST", "/v1/connectors/{id}/generic", Access::kPublic, call_in("generic"));

  add("POST", "/v1/webhooks", Access::kAdmin,
      [&svc, created, ws](Ctx& c) { return created(svc.CreateWebhook(ws(c), c.body)); });
  add("GET", "/v1/webhooks", Access::kAdmin, [&svc, ok, ws](Ctx& c) { return ok(svc.ListWebhooks(ws(c), c.Page())); });
  add("GET", "/v1/webhooks/{id}", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.GetWebhook(ws(c), c.params[0])); });
  add("DELETE", "/v1/webhooks/{id}", Access::kAdmin,
      [&svc, none, ws](Ctx& c) { return none(svc.DeleteWebhook(ws(c), c.params[0])); });
  add("GET", "/v1/webhooks/{id}/deliveries", Access::kAdmin,
      [&svc, ok, ws](Ctx& c) { return ok(svc.ListDeliveries(ws(c), c.params[0], c.Page())); });
  add("POST", "/v1/webhooks/{id}/deliveries/{delivery}/retry", Access::kAdmin, [&svc, ws](Ctx& c) {
    return Answer{svc.RetryDelivery(ws(c), c.params[0], c.params[1]), 202};
  }, Body::kOptionalJson);

  // ---- any other path: its body is read within the limit too, then 404 or 405
  auto unrouted_with_body = [unrouted, limit](const httplib::Request& req, httplib::Response& res,
                                              const httplib::ContentReader& reader) {
    std::string ignored;
    Status read = ReadBody(req, reader, res, limit, &ignored);
    if (!read.ok()) return SendError(res, read);
    unrouted(req, res);
  };
  s.Post("/(.*)", unrouted_with_body);
  s.Put("/(.*)", unrouted_with_body);
  s.Patch("/(.*)", unrouted_with_body);
  s.Delete("/(.*)", unrouted_with_body);
  s.Options("/(.*)", unrouted);  // no CORS: 405 with `Allow` for a path rota serves, else 404

  // ---- the console's static files
  s.Get("/(.*)", [unrouted](const httplib::Request& req, httplib::Response& res) {
    std::string path = req.matches[1].str();
    if (path.empty()) path = "index.html";
    const embedded::File* f = path.find("..") == std::string::npos ? embedded::Find("web/" + path) : nullptr;
    if (f == nullptr) {
      unrouted(req, res);
      return;
    }
    res.set_content(reinterpret_cast<const char*>(f->data), f->size, ContentType(path));
    res.set_header("Cache-Control", path == "index.html" ? "no-cache" : "public, max-age=300");
  });
}

}  // namespace rota::http
