// `rota serve`: the HTTP API on SQLite. Stops on SIGTERM/SIGINT after the requests
// under way finish.
#include <pthread.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "service/webhooks.h"

#include "cli/commands.h"
#include "http/server.h"

namespace rota::cli {
namespace {

struct Options {
  std::string db = "rota.db";
  std::string listen = "127.0.0.1:8080";
  size_t threads = 32;
  size_t body_limit = 1 << 20;
  bool quiet = false;
  service::DeliveryOptions webhooks;
  int64_t retention_interval_s = 3600;
};

int Run(const Options& o) {
  auto colon = o.listen.rfind(':');
  int port = -1;
  if (colon != std::string::npos && colon > 0) {
    const std::string digits = o.listen.substr(colon + 1);  // wholly digits: "184x" is no port
    if (!digits.empty() && digits.size() <= 5 && digits.find_first_not_of("0123456789") == std::string::npos) {
      port = std::stoi(digits);
    }
  }
  if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
    std::cerr << "rota serve: --listen is HOST:PORT, got \"" << o.listen << "\"\n";
    return 2;
  }
  // A delivery that outlasts its claim's lease may be sent again by another node.
  if (o.webhooks.lease_ms <= o.webhooks.timeout_ms) {
    std::cerr << "rota serve: --webhook-lease-ms (" << o.webhooks.lease_ms << ") must be longer than --webhook-timeout-ms ("
              << o.webhooks.timeout_ms << "), twice as long or more: a delivery still being sent when its lease ends may "
              << "be sent again by another node\n";
    return 2;
  }
  // Signals are taken by one thread with sigwait; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto env = OpenEnv(o.db);
  if (!env) return 2;
  if (!UseSecretKey(*env)) return 2;

  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l %v", spdlog::pattern_time_type::utc);
  http::Options hopts;
  hopts.host = o.listen.substr(0, colon);
  if (hopts.host.size() > 2 && hopts.host.front() == '[' && hopts.host.back() == ']') {
    hopts.host = hopts.host.substr(1, hopts.host.size() - 2);  // [::1]:8080, as in a URL
  }
  hopts.port = port;
  hopts.threads = o.threads;
  hopts.body_limit = o.body_limit;
  hopts.log_requests = !o.quiet;
  hopts.decisions_on_loops = !store::IsPostgresUrl(o.db);
  http::Server server(*env->service, hopts);
  Status bound = server.Bind();
  if (!bound.ok()) return Fail("serve", bound);
  // The first admin key is made only once the server can start, so that a key printed
  // once is never made by a start that fails (a bad ROTA_SECRET_KEY, a port in use).
  if (!Bootstrap(*env)) return 2;
  std::cout << "rota listening on http://" << hopts.host << ":" << server.port() << "  (console: http://"
            << hopts.host << ":" << server.port() << "/, database: " << store::PrintableUrl(o.db) << ")" << std::endl;

  if (!env->service->secrets()) {
    std::cout << "ROTA_SECRET_KEY is not set: CRM connectors are disabled until it is\n";
  }
  service::DeliveryWorker deliveries(*env->store, o.webhooks, env->service->secrets());
  deliveries.Start();
  // Retention: purge decisions past each workspace's retention, now and every interval.
  std::mutex purge_mu;
  std::condition_variable purge_cv;
  bool stopping = false;
  std::thread purger([&] {
    std::unique_lock<std::mutex> lock(purge_mu);
    do {
      lock.unlock();
      auto n = env->service->PurgeAllHistory();
      if (!n.ok()) spdlog::error("retention: {}", n.status().message());
      else if (*n > 0) spdlog::info("retention: purged {} decisions", *n);
      lock.lock();
    } while (!purge_cv.wait_for(lock, std::chrono::seconds(o.retention_interval_s), [&] { return stopping; }));
  });

  std::thread waiter([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("signal {}: finishing requests under way, then stopping", sig);
    server.Stop();
  });
  server.Run();
  // Run() returned by itself (not by a signal): wake the waiter.
  pthread_kill(waiter.native_handle(), SIGTERM);
  waiter.join();
  {
    std::lock_guard<std::mutex> lock(purge_mu);
    stopping = true;
  }
  purge_cv.notify_all();
  purger.join();
  deliveries.Stop();
  spdlog::info("stopped");
  return 0;
}

}  // namespace

void AddServe(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the HTTP API and the console (SQLite by default).");
  cmd->add_option("--db", o->db, kDbHelp)->capture_default_str();
  cmd->add_option("--listen", o->listen, "HOST:PORT to listen on (PORT 0: any free port)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "worker threads for requests that may wait (reads, configuration, imports); connections and decisions hold none")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  cmd->add_option("--body-limit", o->body_limit, "largest request body in bytes (1 KiB to 1 GiB)")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1} << 10, size_t{1} << 30));  // 0 refused every body; -1 none
  cmd->add_flag("--quiet", o->quiet, "do not log each request");
  cmd->add_option("--webhook-max-attempts", o->webhooks.max_attempts, "attempts before a delivery is marked failed")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  cmd->add_option("--webhook-backoff-ms", o->webhooks.base_backoff_ms,
                  "wait before the first retry; doubles each attempt (with jitter)")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  cmd->add_option("--webhook-timeout-ms", o->webhooks.timeout_ms, "time limit of one delivery attempt")
      ->capture_default_str()
      ->check(CLI::Range(100, 120000));
  cmd->add_option("--webhook-lease-ms", o->webhooks.lease_ms,
                  "a claimed delivery is not handed out again before this (a killed server's claims expire)")
      ->capture_default_str()
      ->check(CLI::Range(100, 3600000));
  cmd->add_option("--webhook-lanes", o->webhooks.lanes,
                  "receivers (webhooks and CRM connectors) sent to at once; one that is down holds up only its lane")
      ->capture_default_str()
      ->check(CLI::Range(1, 64));
  cmd->add_option("--retention-interval", o->retention_interval_s, "seconds between history purges")
      ->capture_default_str()
      ->check(CLI::Range(1, 86400 * 7));
  cmd->callback([o, exit_code] { *exit_code = Run(*o); });
}

}  // namespace rota::cli
