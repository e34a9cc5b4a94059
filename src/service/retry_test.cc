// Transactions the database gives up (serialization failures, deadlocks) are run again
// by the service, a bounded number of times, and never answered as a wrong owner: a
// store wrapper gives up the first N commits (or unit writes) of a real SQLite store.
#include "service/retry.h"
#include "service/test_store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>

#include "io/json_util.h"
#include "service/service.h"

namespace rota::service {
namespace {

// What the wrapper fails, and how often it did.
struct Faults {
  std::atomic<int> give_up_commits{0};   // the next N commits answer Status::Retry
  std::atomic<int> give_up_inserts{0};   // the next N InsertDecision calls answer Status::Retry
  std::atomic<int> fail_commits{0};      // the next N commits answer Internal (not retryable)
  std::atomic<int> commits{0};           // commits attempted
  static bool Take(std::atomic<int>& n) {
    int v = n.load();
    while (v > 0 && !n.compare_exchange_weak(v, v - 1)) {
    }
    return v > 0;
  }
};

// A Tx that forwards to the real one, except where Faults says otherwise. A given-up
// commit rolls back, as PostgreSQL's does.
class FlakyTx final : public store::Tx {
 public:
  FlakyTx(std::unique_ptr<store::Tx> tx, Faults& f) : tx_(std::move(tx)), f_(f) {}
  Status Commit() override {
    ++f_.commits;
    if (Faults::Take(f_.give_up_commits)) return Status::Retry("test: could not serialize access");
    if (Faults::Take(f_.fail_commits)) return Status::Internal("test: disk full");
    return tx_->Commit();
  }
  Status BeginUnit() override { return tx_->BeginUnit(); }
  Status EndUnit() override { return tx_->EndUnit(); }
  Status RollbackUnit() override { return tx_->RollbackUnit(); }
  int64_t PoolPointer(const std::string& pool) const override { return tx_->PoolPointer(pool); }
  std::vector<int64_t> KeyCredits(const std::string& d, const std::string& v,
                                  const std::vector<std::string>& users) const override {
    return tx_->KeyCredits(d, v, users);
  }
  int64_t AssignedSince(const std::string& user, core::Time since, core::Time until) const override {
    return tx_->AssignedSince(user, since, until);
  }
  int64_t OpenRecords(const std::string& user, core::ObjectType t, const std::string& ex) const override {
    return tx_->OpenRecords(user, t, ex);
  }
  std::optional<core::Record> FindRecord(core::ObjectType t, const std::string& id) const override {
    return tx_->FindRecord(t, id);
  }
  Result<std::pair<int64_t, std::string>> LoadConfig() override { return tx_->LoadConfig(); }
  Result<std::optional<store::KeyRow>> FindKeyByHash(const std::string& hash) override {
    return tx_->FindKeyByHash(hash);
  }
  Result<int64_t> ConfigVersion() override { return tx_->ConfigVersion(); }
  Status SaveConfig(int64_t v, const std::string& doc) override { return tx_->SaveConfig(v, doc); }
  Status SetPoolPointer(const std::string& pool, int64_t pos) override { return tx_->SetPoolPointer(pool, pos); }
  Status DeletePoolState(const std::string& pool) override { return tx_->DeletePoolState(pool); }
  Result<std::string> PoolLeftMember(const std::string& pool) override { return tx_->PoolLeftMember(pool); }
  Status SetPoolLeftMember(const std::string& pool, const std::string& user) override {
    return tx_->SetPoolLeftMember(pool, user);
  }
  Status SaveKeyPick(const core::KeyPick& pick) override { return tx_->SaveKeyPick(pick); }
  Status ResetKeyState(const std::string& d, const std::optional<std::string>& v) override {
    return tx_->ResetKeyState(d, v);
  }
  Result<std::vector<store::KeyStateRow>> KeyState(const std::string& d) override { return tx_->KeyState(d); }
  Status AddUnkeyed(const std::string& d, const std::string& f, const std::string& v) override {
    return tx_->AddUnkeyed(d, f, v);
  }
  Status RemoveUnkeyed(const std::string& d, const std::optional<std::string>& f) override {
    return tx_->RemoveUnkeyed(d, f);
  }
  Result<std::vector<store::UnkeyedRow>> Unkeyed(const std::string& d) override { return tx_->Unkeyed(d); }
  Status PutRecord(const core::Record& r, int64_t at) override { return tx_->PutRecord(r, at); }
  Status InsertDecision(const store::DecisionRow& row) override {
    if (Faults::Take(f_.give_up_inserts)) return Status::Retry("test: deadlock detected");
    return tx_->InsertDecision(row);
  }
  Result<std::optional<store::DecisionRow>> FindDecisionByKey(const std::string& k) override {
    return tx_->FindDecisionByKey(k);
  }
  Result<std::vector<store::DecisionRow>> History(const store::HistoryFilter& f) override { return tx_->History(f); }
  Result<std::vector<store::DecisionRow>> RecordDecisions(const std::string& t, const std::string& id,
                                                          int limit) override {
    return tx_->RecordDecisions(t, id, limit);
  }
  Status PutUnassigned(const store::UnassignedRow& row) override { return tx_->PutUnassigned(row); }
  Status RemoveUnassigned(const std::string& t, const std::string& id) override {
    return tx_->RemoveUnassigned(t, id);
  }
  Result<std::vector<store::UnassignedRow>> ListUnassigned(const std::optional<std::string>& t,
                                                           const std::optional<std::string>& after,
                                                           int limit) override {
    return tx_->ListUnassigned(t, after, limit);
  }
  Result<int64_t> CountDecisions() override { return tx_->CountDecisions(); }
  Result<int64_t> LastDecisionAt() override { return tx_->LastDecisionAt(); }
  Result<int64_t> PurgeDecisions(int64_t before, int64_t counts_before, int64_t keep_from, int64_t keep_to,
                                 int64_t limit) override {
    return tx_->PurgeDecisions(before, counts_before, keep_from, keep_to, limit);
  }
  Result<std::vector<store::OwnerCount>> CountByOwner(const store::ReportFilter& f) override {
    return tx_->CountByOwner(f);
  }
  Result<std::vector<store::OwnerCount>> CountByKey(const store::ReportFilter& f) override {
    return tx_->CountByKey(f);
  }
  Result<std::vector<store::OwnerCount>> CountByOutcome(const store::ReportFilter& f) override {
    return tx_->CountByOutcome(f);
  }
  Result<int64_t> CountUnassigned() override { return tx_->CountUnassigned(); }
  Result<std::vector<store::WebhookRow>> Webhooks() override { return tx_->Webhooks(); }
  Status PutWebhook(const store::WebhookRow& w) override { return tx_->PutWebhook(w); }
  Status DeleteWebhook(const std::string& id) override { return tx_->DeleteWebhook(id); }
  Status InsertDelivery(const store::DeliveryRow& d) override { return tx_->InsertDelivery(d); }
  Result<std::vector<store::DeliveryRow>> Deliveries(const std::string& w, std::optional<int64_t> before,
                                                     int limit) override {
    return tx_->Deliveries(w, before, limit);
  }
  Result<int64_t> SupersedeWriteBacks(const std::string& c, const std::string& subject, const std::string& why) override {
    return tx_->SupersedeWriteBacks(c, subject, why);
  }
  Status RetryWriteBack(const std::string& c, const std::string& id, int64_t now_ms) override {
    return tx_->RetryWriteBack(c, id, now_ms);
  }
  Status RetryDelivery(const std::string& w, const std::string& id, int64_t now_ms) override {
    return tx_->RetryDelivery(w, id, now_ms);
  }
  Result<std::vector<store::ConnectorRow>> Connectors() override { return tx_->Connectors(); }
  Result<std::optional<store::ConnectorRow>> FindConnector(const std::string& id) override {
    return tx_->FindConnector(id);
  }
  Status InsertConnector(const store::ConnectorRow& c) override { return tx_->InsertConnector(c); }
  Status UpdateConnector(const store::ConnectorRow& c) override { return tx_->UpdateConnector(c); }
  Status DeleteConnector(const std::string& id) override { return tx_->DeleteConnector(id); }
  Result<std::vector<store::DeliveryRow>> ConnectorDeliveries(const std::string& c, std::optional<int64_t> before,
                                                               int limit) override {
    return tx_->ConnectorDeliveries(c, before, limit);
  }
  Result<std::optional<store::DeliveryRow>> FindWriteBack(const std::string& c, const std::string& id) override {
    return tx_->FindWriteBack(c, id);
  }

 private:
  std::unique_ptr<store::Tx> tx_;
  Faults& f_;
};

class FlakyStore final : public store::Store {
 public:
  FlakyStore(store::Store& s, Faults& f) : s_(s), f_(f) {}
  Result<bool> WorkspaceExists(const std::string& id) override { return s_.WorkspaceExists(id); }
  Result<int64_t> CountWorkspaces() override { return s_.CountWorkspaces(); }
  Status CreateWorkspace(const std::string& id, const std::string& doc, int64_t at) override {
    return s_.CreateWorkspace(id, doc, at);
  }
  Status CreateKey(const store::KeyRow& key) override { return s_.CreateKey(key); }
  Result<std::optional<store::KeyRow>> FindKeyByHash(const std::string& h) override { return s_.FindKeyByHash(h); }
  Result<std::vector<store::KeyRow>> ListKeys(const std::optional<std::string>& ws) override {
    return s_.ListKeys(ws);
  }
  Status RevokeKey(const std::string& id, const std::optional<std::string>& ws, int64_t at) override {
    return s_.RevokeKey(id, ws, at);
  }
  Result<std::vector<std::string>> ListWorkspaces() override { return s_.ListWorkspaces(); }
  Result<std::vector<store::DeliveryRow>> ClaimDeliveries(int64_t now_ms, int64_t lease_ms, int limit,
                                                          const std::vector<std::string>& busy) override {
    return s_.ClaimDeliveries(now_ms, lease_ms, limit, busy);
  }
  Status ReleaseDeliveries(const std::vector<std::string>& ids, int64_t leased_until) override {
    return s_.ReleaseDeliveries(ids, leased_until);
  }
  Result<bool> StillClaimed(const std::string& id, int64_t leased_until) override {
    return s_.StillClaimed(id, leased_until);
  }
  Status FinishAttempt(const std::string& id, const store::AttemptResult& r, std::optional<int64_t> leased_until,
                       std::optional<int64_t> claimed_due) override {
    return s_.FinishAttempt(id, r, leased_until, claimed_due);
  }
  Result<std::unique_ptr<store::Tx>> BeginWrite(const std::string& ws) override {
    auto tx = s_.BeginWrite(ws);
    if (!tx.ok()) return tx.status();
    return std::unique_ptr<store::Tx>(new FlakyTx(std::move(tx).value(), f_));
  }
  Result<std::unique_ptr<store::Tx>> BeginRead(const std::string& ws) override { return s_.BeginRead(ws); }

 private:
  store::Store& s_;
  Faults& f_;
};

class RetryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(testing::OpenTestStore("retry", &dir_, &real_));
    flaky_ = std::make_unique<FlakyStore>(*real_, faults_);
    RetryPolicy policy;
    policy.max_attempts = 5;
    policy.first_pause = std::chrono::microseconds(100);
    svc_ = std::make_unique<Service>(*flaky_, clock_, 256, policy);
    ASSERT_TRUE(svc_->CreateWorkspace("w").ok());
    principal_ = {"w", Role::kAdmin, true, "k"};
    auto r = svc_->PutConfig("w", Json::parse(R"({
      "users": [{"id": "a"}, {"id": "b"}, {"id": "c"}],
      "pools": [{"id": "p", "object_type": "lead", "members": ["a", "b", "c"]}],
      "rules": [{"id": "r", "object_type": "lead", "events": ["created"],
                 "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "pool", "pool": "p"}}]
    })"), false);
    ASSERT_TRUE(r.ok()) << r.status().message();
    faults_.commits = 0;
  }
  void TearDown() override {
    svc_.reset();
    flaky_.reset();
    real_.reset();
    std::filesystem::remove_all(dir_);
  }
  static Json Body(const std::string& id) {
    return {{"object_type", "lead"}, {"event", "created"}, {"record", {{"id", id}}}};
  }
  Result<Json> Assign(const std::string& id) { return svc_->Assign(principal_, Body(id), ""); }
  std::vector<std::string> HistoryOwners() {
    auto h = svc_->History("w", {});
    EXPECT_TRUE(h.ok()) << h.status().message();
    std::vector<std::string> owners;
    if (h.ok()) {
      for (const Json& item : (*h)["items"]) owners.insert(owners.begin(), item["owner"].get<std::string>());
    }
    return owners;
  }
  std::string RetriesMetric() {
    const std::string text = svc_->RenderMetrics();
    const std::string name = "\nrota_tx_retries_total ";
    size_t at = text.find(name);
    if (at == std::string::npos) return "missing";
    at += name.size();
    return text.substr(at, text.find('\n', at) - at);
  }

  std::filesystem::path dir_;
  FixedClock clock_{*io::ParseTime("2026-03-10T12:00:00Z")};
  Faults faults_;
  std::unique_ptr<store::Store> real_;
  std::unique_ptr<FlakyStore> flaky_;
  std::unique_ptr<Service> svc_;
  Principal principal_;
};

TEST_F(RetryTest, GivenUpCommitsAreRunAgainAndTheDecisionIsStoredOnce) {
  faults_.give_up_commits = 3;
  auto r = Assign("L-1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)["owner"], "a");
  EXPECT_EQ(faults_.commits, 4);
  auto next = Assign("L-2");
  ASSERT_TRUE(next.ok());
  EXPECT_EQ((*next)["owner"], "b");  // the pointer moved once for L-1, not four times
  EXPECT_EQ(HistoryOwners(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(RetriesMetric(), "3");
}

TEST_F(RetryTest, AUnitGivenUpRunsTheWholeBatchAgain) {
  faults_.give_up_inserts = 2;  // the second item's insert, then the first's on the next run
  Json items = Json::array({Body("L-1"), Body("L-2"), Body("L-3"), Body("L-4")});
  auto r = svc_->AssignBatch(principal_, {{"items", items}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> owners;
  for (const Json& d : (*r)["decisions"]) {
    ASSERT_TRUE(d.contains("owner")) << d.dump();
    owners.push_back(d["owner"].get<std::string>());
  }
  EXPECT_EQ(owners, (std::vector<std::string>{"a", "b", "c", "a"}));
  EXPECT_EQ(HistoryOwners(), owners);
  EXPECT_EQ(faults_.commits, 1);  // the given-up runs never reached their commit
}

TEST_F(RetryTest, AttemptsAreBoundedThenTheRetryStatusReachesTheCaller) {
  faults_.give_up_commits = 1000;
  auto r = Assign("L-1");
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.status().retryable());
  EXPECT_EQ(r.status().code(), Code::kUnavailable);
  EXPECT_EQ(r.status().error_code(), "retry");
  EXPECT_EQ(faults_.commits, 5);
  EXPECT_TRUE(HistoryOwners().empty());
  faults_.give_up_commits = 0;
  auto again = Assign("L-1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ((*again)["owner"], "a");  // nothing of the given-up attempts was kept
}

TEST_F(RetryTest, OtherFailuresAreNotRetried) {
  faults_.fail_commits = 1;
  auto r = Assign("L-1");
  ASSERT_FALSE(r.ok());
  EXPECT_FALSE(r.status().retryable());
  EXPECT_EQ(r.status().code(), Code::kInternal);
  EXPECT_EQ(faults_.commits, 1);
  EXPECT_EQ(RetriesMetric(), "0");
}

TEST_F(RetryTest, ConfigChangesAreRunAgainToo) {
  faults_.give_up_commits = 2;
  auto u = svc_->CreateUser("w", {{"id", "d"}});
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(faults_.commits, 3);
  EXPECT_TRUE(svc_->GetUser("w", "d").ok());
  faults_.give_up_commits = 1;
  auto m = svc_->AddPoolMember("w", "p", {{"user", "d"}});
  ASSERT_TRUE(m.ok()) << m.status().message();
  auto pool = svc_->GetPool("w", "p");
  ASSERT_TRUE(pool.ok());
  EXPECT_EQ((*pool)["members"].size(), 4u) << pool->dump();
  faults_.give_up_commits = 1;
  EXPECT_TRUE(svc_->PutRecord("w", "lead", "L-9", {{"properties", {{"x", "1"}}}}).ok());
  EXPECT_TRUE(svc_->GetRecord("w", "lead", "L-9").ok());
}

TEST(PauseBeforeRetry, StaysWithinTheCap) {
  RetryPolicy p;
  p.first_pause = std::chrono::microseconds(200);
  p.max_pause = std::chrono::microseconds(1000);
  for (int attempt = 1; attempt <= 12; ++attempt) {
    auto t0 = std::chrono::steady_clock::now();
    PauseBeforeRetry(p, attempt);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_GE(took, std::chrono::microseconds(100));
    EXPECT_LT(took, std::chrono::milliseconds(500));  // 1 ms at most, on a busy machine
  }
}

}  // namespace
}  // namespace rota::service
