// Configuration endpoints over HTTP (issue 4): users, pools and members, rules and
// priority, distributions and keys, settings, the whole document and the CLI's
// export/apply against the same database.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>

#include "api_util.h"

namespace rota::testing {
namespace {

TEST(ApiUsers, CrudAndErrors) {
  RotaServer s;
  As a{s, s.admin_key()};
  Json u = {{"id", "u-1"},
            {"name", "Ann"},
            {"email", "ann@example.com"},
            {"active", true},
            {"out_of_office", {{{"from", "2030-01-01T00:00:00Z"}, {"to", "2030-01-08T00:00:00Z"}}}},
            {"working_hours", {{"tz", "Europe/Warsaw"}, {"days", {{"mon", {"09:00", "17:00"}}}}}},
            {"caps", {{"per_day", 10}, {"max_open", 50}}}};
  // A client's id fits a list's cursor in a URL: at most 255 characters, and not blank.
  Reply too_long = a.Post("/v1/users", {{"id", std::string(256, 'u')}});
  EXPECT_TRUE(IsError(too_long, 422)) << too_long.raw;
  EXPECT_TRUE(HasDetail(too_long, "id")) << too_long.raw;
  EXPECT_TRUE(IsError(a.Post("/v1/pools", Pool(std::string(256, 'p'), {})), 422));
  EXPECT_TRUE(IsError(a.Put("/v1/config", {{"users", {{{"id", std::string(256, 'u')}}}}}), 422));
  ASSERT_EQ(a.Post("/v1/users", {{"id", std::string(255, 'u')}}).status, 201);
  ASSERT_EQ(a.Delete("/v1/users/" + std::string(255, 'u')).status, 204);
  Reply huge = a.Get("/v1/users/" + std::string(9000, 'u'));  // no route needs a URL that long
  EXPECT_TRUE(IsError(huge, 414, "uri_too_long")) << huge.raw;
  Reply r = a.Post("/v1/users", u);
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["id"], "u-1");
  EXPECT_EQ(r.body["name"], "Ann");
  EXPECT_EQ(r.body["email"], "ann@example.com");
  EXPECT_EQ(r.body["active"], true);
  EXPECT_EQ(r.body["out_of_office"][0]["from"], "2030-01-01T00:00:00Z");
  EXPECT_EQ(r.body["working_hours"]["tz"], "Europe/Warsaw");
  EXPECT_EQ(r.body["working_hours"]["days"]["mon"], Json::array({"09:00", "17:00"}));
  EXPECT_EQ(r.body["caps"]["per_day"], 10);
  EXPECT_EQ(r.body["caps"]["max_open"], 50);
  EXPECT_EQ(a.Get("/v1/users/u-1").body, r.body);

  // Without an id, rota makes one.
  Reply gen = a.Post("/v1/users", {{"name", "No id"}});
  ASSERT_EQ(gen.status, 201) << gen.raw;
  ASSERT_TRUE(gen.body["id"].is_string());
  EXPECT_FALSE(gen.body["id"].get<std::string>().empty());
  EXPECT_EQ(a.Get("/v1/users/" + gen.body["id"].get<std::string>()).status, 200);

  // 409 on a taken id; nothing changes.
  EXPECT_TRUE(IsError(a.Post("/v1/users", {{"id", "u-1"}, {"name", "Other"}}), 409));
  EXPECT_EQ(a.Get("/v1/users/u-1").body["name"], "Ann");

  // 422 naming each problem.
  Reply bad = a.Post("/v1/users", {{"id", "u-2"},
                                   {"active", "yes"},
                                   {"working_hours", {{"tz", "Mars/Olympus"}, {"days", {{"mon", {"09:00", "17:00"}}}}}},
                                   {"caps", {{"per_day", -1}}}});
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "active"));
  EXPECT_TRUE(HasDetail(bad, "working_hours.tz"));
  EXPECT_TRUE(HasDetail(bad, "caps.per_day"));
  EXPECT_TRUE(IsError(a.Get("/v1/users/u-2"), 404));
  Reply ooo = a.Post("/v1/users", {{"id", "u-2"},
                                   {"out_of_office", {{{"from", "2030-01-08T00:00:00Z"}, {"to", "2030-01-01T00:00:00Z"}}}}});
  EXPECT_TRUE(IsError(ooo, 422));
  EXPECT_TRUE(HasDetail(ooo, "out_of_office[0]"));
  EXPECT_TRUE(IsError(a.Post("/v1/users", "just a string"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/users/u-2"), 404));

  // PATCH merges.
  Reply p = a.Patch("/v1/users/u-1", {{"name", "Ann B."}, {"active", false}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["name"], "Ann B.");
  EXPECT_EQ(p.body["active"], false);
  EXPECT_EQ(p.body["email"], "ann@example.com");
  EXPECT_EQ(a.Get("/v1/users/u-1").body["active"], false);
  EXPECT_TRUE(IsError(a.Patch("/v1/users/u-1", {{"caps", {{"max_open", "many"}}}}), 422));
  EXPECT_TRUE(HasDetail(a.Patch("/v1/users/u-1", {{"caps", {{"max_open", "many"}}}}), "caps.max_open"));
  EXPECT_TRUE(IsError(a.Patch("/v1/users/u-1", {{"id", "u-9"}}), 422));
  Reply both = a.Patch("/v1/users/u-1", {{"active", "no"}, {"working_hours", {{"tz", "Mars/Olympus"}}}});
  EXPECT_TRUE(IsError(both, 422));
  EXPECT_TRUE(HasDetail(both, "active"));
  EXPECT_TRUE(HasDetail(both, "working_hours.tz"));
  EXPECT_TRUE(IsError(a.Patch("/v1/users/nope", {{"name", "x"}}), 404));
  EXPECT_EQ(a.Get("/v1/users/u-1").body["name"], "Ann B.");

  // A user in a pool cannot be deleted (409); afterwards it can (204).
  ASSERT_EQ(a.Post("/v1/pools", Pool("p", {"u-1"})).status, 201);
  Reply in_use = a.Delete("/v1/users/u-1");
  EXPECT_TRUE(IsError(in_use, 409));
  EXPECT_EQ(in_use.body["error"]["code"], "in_use");
  // Each use by the ids the admin knows, not by positions in the config document.
  EXPECT_EQ(in_use.body["error"]["message"], "user \"u-1\" is still in use by pool \"p\" (members[0])");
  EXPECT_EQ(in_use.body["error"]["details"],
            Json::parse(R"([{"path": "pools[0].members[0]", "message": "pool \"p\" (members[0]) uses user \"u-1\""}])"));
  ASSERT_EQ(a.Put("/v1/settings", {{"default_owners", {{"task", "u-1"}}}}).status, 200);
  Reply two = a.Delete("/v1/users/u-1");
  EXPECT_EQ(two.body["error"]["message"],
            "user \"u-1\" is still in use by pool \"p\" (members[0]), the default owner of task records (settings)")
      << two.raw;
  ASSERT_EQ(a.Put("/v1/settings", {{"default_owners", {{"task", nullptr}}}}).status, 200);
  EXPECT_EQ(a.Get("/v1/users/u-1").status, 200);
  ASSERT_EQ(a.Delete("/v1/pools/p").status, 204);
  Reply del = a.Delete("/v1/users/u-1");
  EXPECT_EQ(del.status, 204) << del.raw;
  EXPECT_TRUE(IsError(a.Get("/v1/users/u-1"), 404));
  EXPECT_TRUE(IsError(a.Delete("/v1/users/u-1"), 404));
}

TEST(ApiUsers, ListPagination) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"u-1", "u-2", "u-3", "u-4", "u-5"});
  Reply all = a.Get("/v1/users");
  ASSERT_EQ(all.status, 200);
  ASSERT_EQ(all.body["items"].size(), 5u);
  EXPECT_TRUE(all.body["next_cursor"].is_null());

  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 5; ++page) {
    Reply r = a.Get("/v1/users?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_LE(r.body["items"].size(), 2u);
    for (const Json& u : r.body["items"]) seen.push_back(u["id"]);
    if (r.body["next_cursor"].is_null()) break;
    cursor = r.body["next_cursor"];
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"u-1", "u-2", "u-3", "u-4", "u-5"}));
  EXPECT_TRUE(IsError(a.Get("/v1/users?cursor=zzz"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/users?limit=0"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/users?limit=abc"), 422));
}

// Users deleted or created between pages neither hide nor repeat the others (listed by id,
// the cursor names the last id given, not an offset).
TEST(ApiUsers, APageWalkSurvivesDeletesAndCreatesBetweenPages) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"g", "b", "e", "c", "f", "d"});
  auto page = [&](const std::string& cursor, std::vector<std::string>* seen) {
    Reply r = a.Get("/v1/users?limit=2" + (cursor.empty() ? "" : "&cursor=" + cursor));
    EXPECT_EQ(r.status, 200) << r.raw;
    for (const Json& u : r.body["items"]) seen->push_back(u["id"]);
    return r.body["next_cursor"].is_string() ? r.body["next_cursor"].get<std::string>() : "";
  };
  std::vector<std::string> seen;
  std::string cursor = page("", &seen);  // b, c
  ASSERT_EQ(a.Delete("/v1/users/b").status, 204);
  cursor = page(cursor, &seen);  // d, e: d is not skipped though b is gone
  ASSERT_EQ(a.Delete("/v1/users/e").status, 204);  // the page's last item,
  ASSERT_EQ(a.Delete("/v1/users/f").status, 204);  // and the one after it
  ASSERT_EQ(a.Post("/v1/users", Json{{"id", "h"}}).status, 201);
  ASSERT_EQ(a.Post("/v1/users", Json{{"id", "a"}}).status, 201);  // before the walk's place: not given
  cursor = page(cursor, &seen);  // g, h
  EXPECT_TRUE(cursor.empty());
  EXPECT_EQ(seen, (std::vector<std::string>{"b", "c", "d", "e", "g", "h"}));
  // A cursor from an older build (a bare position) is still read; a mangled one is refused.
  EXPECT_EQ(a.Get("/v1/users?limit=2&cursor=3").body["items"][0]["id"], "g");  // a, c, d, g, h
  EXPECT_TRUE(IsError(a.Get("/v1/users?cursor=2.zz.00"), 422));
  EXPECT_TRUE(IsError(a.Get("/v1/users?cursor=2.61"), 422));
}

TEST(ApiPools, CrudMembersAndNext) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"A", "B", "C", "D"});
  Reply r = a.Post("/v1/pools", Pool("p", {"A", "B", "C"}));
  ASSERT_EQ(r.status, 201) << r.raw;
  EXPECT_EQ(r.body["id"], "p");
  EXPECT_EQ(r.body["object_type"], "deal");
  ASSERT_EQ(r.body["members"].size(), 3u);
  EXPECT_EQ(r.body["members"][0]["user"], "A");
  EXPECT_TRUE(r.body["members"][0]["position"].is_number_integer());
  EXPECT_LT(r.body["members"][0]["position"].get<int>(), r.body["members"][1]["position"].get<int>());
  EXPECT_EQ(r.body["next"], "A");
  EXPECT_EQ(a.Get("/v1/pools").body["items"].size(), 1u);

  // 409, 422 (unknown member, bad type), nothing stored.
  EXPECT_TRUE(IsError(a.Post("/v1/pools", Pool("p", {"A"})), 409));
  Reply bad = a.Post("/v1/pools", Pool("q", {"A", "ghost"}));
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "members[1]")) << bad.raw;
  Reply badtype = a.Post("/v1/pools", Pool("q", {"A"}, "banana"));
  EXPECT_TRUE(IsError(badtype, 422));
  EXPECT_TRUE(HasDetail(badtype, "object_type"));
  Reply twice = a.Post("/v1/pools", Pool("q", {"A", "A"}));
  EXPECT_TRUE(IsError(twice, 422));
  EXPECT_TRUE(IsError(a.Get("/v1/pools/q"), 404));
  EXPECT_EQ(a.Get("/v1/pools").body["items"].size(), 1u);

  // A rule over the pool: A, B; then D joins at the end, B leaves.
  ASSERT_EQ(a.Post("/v1/rules", Rule("r", ToPool("p"))).status, 201);
  EXPECT_EQ(AssignOwner(a, "D-1"), "A");
  EXPECT_EQ(AssignOwner(a, "D-2"), "B");
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "C");
  Reply add = a.Post("/v1/pools/p/members", {{"user", "D"}});
  ASSERT_EQ(add.status, 201) << add.raw;
  ASSERT_EQ(add.body["members"].size(), 4u);
  EXPECT_EQ(add.body["members"][3]["user"], "D");
  EXPECT_EQ(add.body["next"], "C");
  EXPECT_TRUE(IsError(a.Post("/v1/pools/p/members", {{"user", "D"}}), 409));
  Reply ghost = a.Post("/v1/pools/p/members", {{"user", "ghost"}});
  EXPECT_TRUE(IsError(ghost, 422));
  EXPECT_EQ(ghost.body["error"]["details"][0]["path"], "user") << ghost.raw;  // relative to the body sent
  EXPECT_TRUE(IsError(a.Post("/v1/pools/p/members", Json::object()), 422));
  EXPECT_TRUE(IsError(a.Post("/v1/pools/nope/members", {{"user", "A"}}), 404));
  EXPECT_EQ(a.Get("/v1/pools/p").body["members"].size(), 4u);

  Reply rm = a.Delete("/v1/pools/p/members/C");
  ASSERT_TRUE(rm.status == 200 || rm.status == 204) << rm.raw;
  Reply got = a.Get("/v1/pools/p");
  ASSERT_EQ(got.body["members"].size(), 3u);
  EXPECT_EQ(got.body["next"], "D");  // goes on without C, from where it was
  EXPECT_TRUE(IsError(a.Delete("/v1/pools/p/members/C"), 404));
  EXPECT_TRUE(IsError(a.Delete("/v1/pools/nope/members/A"), 404));
  EXPECT_EQ(AssignOwner(a, "D-3"), "D");
  EXPECT_EQ(AssignOwner(a, "D-4"), "A");
  EXPECT_EQ(AssignOwner(a, "D-5"), "B");

  // PATCH keeps the rotation where the order held.
  Reply p = a.Patch("/v1/pools/p", {{"name", "North"}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["name"], "North");
  EXPECT_EQ(p.body["next"], "D");
  EXPECT_TRUE(IsError(a.Patch("/v1/pools/p", {{"members", {"A", "ghost"}}}), 422));
  EXPECT_TRUE(IsError(a.Patch("/v1/pools/p", {{"object_type", "lead"}}), 422));  // its rule is for deals
  EXPECT_TRUE(IsError(a.Patch("/v1/pools/nope", {{"name", "x"}}), 404));
  EXPECT_EQ(a.Get("/v1/pools/p").body["object_type"], "deal");

  // Deleting a pool a rule uses: 409; after the rule is gone: 204.
  EXPECT_TRUE(IsError(a.Delete("/v1/pools/p"), 409));
  ASSERT_EQ(a.Delete("/v1/rules/r").status, 204);
  EXPECT_EQ(a.Delete("/v1/pools/p").status, 204);
  EXPECT_TRUE(IsError(a.Get("/v1/pools/p"), 404));
  EXPECT_TRUE(IsError(a.Delete("/v1/pools/p"), 404));
}

// SPEC §5.1: a pool whose order changes goes on from where it was, in the new order;
// nobody is served twice in a row while another member waits.
TEST(ApiPools, AReorderGoesOnAfterTheMemberServedLast) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);  // pool p: A, B, C
  EXPECT_EQ(AssignOwner(a, "D-1"), "A");
  Reply p = a.Patch("/v1/pools/p", {{"members", {"A", "C", "B"}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["next"], "C") << p.raw;
  std::vector<std::string> got;
  for (int i = 2; i <= 5; ++i) got.push_back(AssignOwner(a, "D-" + std::to_string(i)));
  EXPECT_EQ(got, (std::vector<std::string>{"C", "B", "A", "C"}));

  // A member put in the middle: after C (served last) the new order goes on with A.
  ASSERT_EQ(a.Post("/v1/users", User("Z")).status, 201);
  p = a.Patch("/v1/pools/p", {{"members", {"A", "Z", "C", "B"}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["next"], "B") << p.raw;
  got.clear();
  for (int i = 6; i <= 10; ++i) got.push_back(AssignOwner(a, "D-" + std::to_string(i)));
  EXPECT_EQ(got, (std::vector<std::string>{"B", "A", "Z", "C", "B"}));

  // The member served last leaves in the same change: the one whose turn was next goes on.
  p = a.Patch("/v1/pools/p", {{"members", {"Z", "A", "C"}}});  // B served last, A was next
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["next"], "A") << p.raw;
  EXPECT_EQ(AssignOwner(a, "D-11"), "A");
  EXPECT_EQ(AssignOwner(a, "D-12"), "C");
  EXPECT_EQ(AssignOwner(a, "D-13"), "Z");
}

// SPEC §5.1: the member served last, removed and added back before anyone else is
// served, is not served again at once; it waits its turn after the others.
TEST(ApiPools, TheMemberServedLastRejoiningWaitsItsTurn) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);  // pool p: A, B, C
  for (int i = 1; i <= 3; ++i) AssignOwner(a, "D-" + std::to_string(i));  // A, B, C
  ASSERT_EQ(a.Delete("/v1/pools/p/members/C").status, 200);
  ASSERT_EQ(a.Post("/v1/pools/p/members", {{"user", "C"}}).status, 201);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "A");
  std::vector<std::string> got;
  for (int i = 4; i <= 6; ++i) got.push_back(AssignOwner(a, "D-" + std::to_string(i)));
  EXPECT_EQ(got, (std::vector<std::string>{"A", "B", "C"}));

  // Someone joining in between is served first; should that one leave again before its
  // turn, the member served last still waits.
  ASSERT_EQ(a.Post("/v1/users", User("Z")).status, 201);
  ASSERT_EQ(a.Delete("/v1/pools/p/members/C").status, 200);
  ASSERT_EQ(a.Post("/v1/pools/p/members", {{"user", "Z"}}).status, 201);
  ASSERT_EQ(a.Post("/v1/pools/p/members", {{"user", "C"}}).status, 201);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "Z");
  ASSERT_EQ(a.Delete("/v1/pools/p/members/Z").status, 200);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "A");
  // And in a reorder that puts it first.
  Reply p = a.Patch("/v1/pools/p", {{"members", {"C", "B", "A"}}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["next"], "B") << p.raw;
  got.clear();
  for (int i = 7; i <= 10; ++i) got.push_back(AssignOwner(a, "D-" + std::to_string(i)));
  EXPECT_EQ(got, (std::vector<std::string>{"B", "A", "C", "B"}));

  // Once someone else is served, a member leaving and coming back joins as anyone would.
  ASSERT_EQ(a.Delete("/v1/pools/p/members/C").status, 200);  // B served last
  ASSERT_EQ(a.Post("/v1/pools/p/members", {{"user", "C"}}).status, 201);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "A");
  EXPECT_EQ(AssignOwner(a, "D-11"), "A");
  EXPECT_EQ(AssignOwner(a, "D-12"), "C");
}

// "priority" names the route that orders the rules: no new rule takes it.
TEST(ApiRules, TheIdPriorityIsReserved) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Reply r = a.Post("/v1/rules", Rule("priority", {{"type", "user"}, {"user", "A"}}));
  ASSERT_TRUE(IsError(r, 422)) << r.raw;
  EXPECT_EQ(r.body["error"]["details"][0]["path"], "id") << r.raw;
  Json doc = a.Get("/v1/config").body;
  doc["rules"].push_back(Rule("priority", {{"type", "user"}, {"user", "A"}}));
  Reply put = a.Put("/v1/config", doc);
  ASSERT_TRUE(IsError(put, 422)) << put.raw;
  EXPECT_TRUE(IsError(a.Get("/v1/rules/priority"), 404));
}

// docs/api.md: rota accepts numeric ids and stores them as strings, wherever an id goes.
TEST(ApiIds, NumericIdsAreIdsEverywhere) {
  RotaServer s;
  As a{s, s.admin_key()};
  ASSERT_EQ(a.Post("/v1/users", {{"id", 77}}).status, 201);
  ASSERT_EQ(a.Post("/v1/users", {{"id", 78}}).status, 201);
  Reply p = a.Post("/v1/pools", {{"id", 88}, {"object_type", "lead"}, {"members", {77}}});
  ASSERT_EQ(p.status, 201) << p.raw;
  EXPECT_EQ(p.body["members"][0]["user"], "77");
  ASSERT_EQ(a.Post("/v1/pools/88/members", {{"user", 78}}).status, 201);
  // Every problem of a settings body at once: the shape (retention) and the meaning (the
  // zone, the owner), and nothing changed.
  Reply bad = a.Put("/v1/settings", {{"history_retention_days", 0}, {"time_zone", "Mars/Base"}, {"default_owners", {{"lead", "ghost"}}}});
  ASSERT_TRUE(IsError(bad, 422)) << bad.raw;
  EXPECT_TRUE(HasDetail(bad, "history_retention_days")) << bad.raw;
  EXPECT_TRUE(HasDetail(bad, "time_zone")) << bad.raw;
  EXPECT_TRUE(HasDetail(bad, "default_owners.lead")) << bad.raw;
  EXPECT_EQ(a.Get("/v1/settings").body["time_zone"], "UTC");
  Reply st = a.Put("/v1/settings", {{"default_owners", {{"lead", 78}}}});
  ASSERT_EQ(st.status, 200) << st.raw;
  EXPECT_EQ(st.body["default_owners"]["lead"], "78");
  ASSERT_EQ(a.Post("/v1/rules", Rule("98", {{"type", "pool"}, {"pool", "88"}}, "lead")).status, 201);
  ASSERT_EQ(a.Post("/v1/rules", Rule("99", {{"type", "user"}, {"user", "77"}}, "lead")).status, 201);
  Reply pr = a.Put("/v1/rules/priority", {{"object_type", "lead"}, {"order", {99, 98}}});
  ASSERT_EQ(pr.status, 200) << pr.raw;
  EXPECT_EQ(pr.body["items"][0]["id"], "99");

  // A bad order names each id that is wrong and each rule left out.
  ASSERT_EQ(a.Post("/v1/rules", Rule("d-1", {{"type", "user"}, {"user", "77"}}, "deal")).status, 201);
  pr = a.Put("/v1/rules/priority", {{"object_type", "lead"}, {"order", {"99", "ghost", "d-1", "99"}}});
  ASSERT_TRUE(IsError(pr, 422)) << pr.raw;
  std::string details = pr.body["error"]["details"].dump();
  EXPECT_NE(details.find("unknown rule \\\"ghost\\\""), std::string::npos) << details;
  EXPECT_NE(details.find("\\\"d-1\\\" is for deal records"), std::string::npos) << details;
  EXPECT_NE(details.find("\\\"99\\\" is named twice"), std::string::npos) << details;
  EXPECT_NE(details.find("\\\"98\\\" is left out"), std::string::npos) << details;
  EXPECT_EQ(a.Get("/v1/rules?object_type=lead").body["items"][0]["id"], "99");
}

TEST(ApiRules, CrudPriorityAndErrors) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);  // rule r-pool (deal)
  Json r1 = Rule("r-big", {{"type", "user"}, {"user", "A"}}, "deal", {"created", "updated"},
                 {{{"field", "amount"}, {"op", "gte"}, {"value", 1000}}});
  r1["fallback_user"] = "B";
  r1["description"] = "big deals to A";
  r1["actions"] = {{"apply_to_related", {"company"}}, {"related_mode", "add"}, {"tag", "big"}, {"note", "n"}, {"notify", true}};
  Reply c = a.Post("/v1/rules", r1);
  ASSERT_EQ(c.status, 201) << c.raw;
  EXPECT_EQ(c.body["priority"], 2);  // a new rule goes last
  EXPECT_EQ(c.body["fallback_user"], "B");
  EXPECT_EQ(c.body["actions"]["tag"], "big");
  EXPECT_EQ(c.body["conditions"]["all"][0]["op"], "gte");
  ASSERT_EQ(a.Post("/v1/rules", Rule("r-lead", {{"type", "user"}, {"user", "C"}}, "lead")).status, 201);

  Reply list = a.Get("/v1/rules?object_type=deal");
  ASSERT_EQ(list.status, 200) << list.raw;
  ASSERT_EQ(list.body["items"].size(), 2u);
  EXPECT_EQ(list.body["items"][0]["id"], "r-pool");
  EXPECT_EQ(list.body["items"][0]["priority"], 1);
  EXPECT_EQ(list.body["items"][1]["id"], "r-big");
  EXPECT_EQ(list.body["items"][1]["priority"], 2);
  EXPECT_EQ(a.Get("/v1/rules").body["items"].size(), 3u);
  EXPECT_EQ(a.Get("/v1/rules?object_type=lead").body["items"][0]["priority"], 1);
  EXPECT_TRUE(IsError(a.Get("/v1/rules?object_type=banana"), 422));

  // r-pool first: a big deal goes to the pool.
  EXPECT_EQ(a.Post("/v1/assign", AssignBody("D-1", "created", {{"amount", 5000}})).body["rule"], "r-pool");
  Reply pr = a.Put("/v1/rules/priority", {{"object_type", "deal"}, {"order", {"r-big", "r-pool"}}});
  ASSERT_EQ(pr.status, 200) << pr.raw;
  list = a.Get("/v1/rules?object_type=deal");
  EXPECT_EQ(list.body["items"][0]["id"], "r-big");
  EXPECT_EQ(list.body["items"][0]["priority"], 1);
  EXPECT_EQ(list.body["items"][1]["id"], "r-pool");
  EXPECT_EQ(list.body["items"][1]["priority"], 2);
  EXPECT_EQ(a.Get("/v1/rules/r-pool").body["priority"], 2);
  Reply big = a.Post("/v1/assign", AssignBody("D-2", "created", {{"amount", 5000}}));
  EXPECT_EQ(big.body["rule"], "r-big");
  EXPECT_EQ(big.body["owner"], "A");
  EXPECT_EQ(a.Post("/v1/assign", AssignBody("D-3", "created", {{"amount", 10}})).body["rule"], "r-pool");
  // Priority errors change nothing.
  EXPECT_TRUE(IsError(a.Put("/v1/rules/priority", {{"object_type", "deal"}, {"order", {"r-big"}}}), 422));
  EXPECT_TRUE(IsError(a.Put("/v1/rules/priority", {{"object_type", "deal"}, {"order", {"r-big", "r-pool", "x"}}}), 422));
  EXPECT_TRUE(IsError(a.Put("/v1/rules/priority", {{"object_type", "deal"}, {"order", {"r-big", "r-lead"}}}), 422));
  EXPECT_TRUE(IsError(a.Put("/v1/rules/priority", {{"object_type", "banana"}, {"order", Json::array()}}), 422));
  EXPECT_TRUE(IsError(a.Put("/v1/rules/priority", {{"object_type", "deal"}}), 422));
  EXPECT_EQ(a.Get("/v1/rules?object_type=deal").body["items"][0]["id"], "r-big");

  // PUT replaces; keeps the priority.
  Json put = Rule("r-big", {{"type", "user"}, {"user", "C"}}, "deal", {"created"},
                  {{{"field", "amount"}, {"op", "gte"}, {"value", 1000}}});
  Reply up = a.Put("/v1/rules/r-big", put);
  ASSERT_EQ(up.status, 200) << up.raw;
  EXPECT_EQ(up.body["assign"]["user"], "C");
  EXPECT_EQ(up.body["priority"], 1);
  EXPECT_TRUE(up.body["fallback_user"].is_null());
  EXPECT_TRUE(IsError(a.Put("/v1/rules/nope", Rule("nope", ToPool("p"))), 404));
  EXPECT_TRUE(IsError(a.Put("/v1/rules/r-big", Rule("other", ToPool("p"))), 422));  // id differs from the URL's
  Reply badput = a.Put("/v1/rules/r-big", Rule("r-big", ToPool("ghost")));
  EXPECT_TRUE(IsError(badput, 422));
  EXPECT_TRUE(HasDetail(badput, "assign.pool"));
  EXPECT_EQ(a.Get("/v1/rules/r-big").body["assign"]["user"], "C");

  // Duplicate id.
  EXPECT_TRUE(IsError(a.Post("/v1/rules", Rule("r-pool", ToPool("p"))), 409));
  // Delete.
  EXPECT_EQ(a.Delete("/v1/rules/r-big").status, 204);
  EXPECT_TRUE(IsError(a.Get("/v1/rules/r-big"), 404));
  EXPECT_TRUE(IsError(a.Delete("/v1/rules/r-big"), 404));
  EXPECT_EQ(a.Get("/v1/rules/r-pool").body["priority"], 1);
}

// A rule whose PUT moves it to another object type goes last there, as a new rule does,
// and the rules of its old type close up.
TEST(ApiRules, ARuleMovedToAnotherTypeGoesLastThere) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"A"});
  const Json to_a = {{"type", "user"}, {"user", "A"}};
  for (const char* id : {"d1", "d2", "d3"}) ASSERT_EQ(a.Post("/v1/rules", Rule(id, to_a, "deal")).status, 201);
  for (const char* id : {"l1", "l2"}) ASSERT_EQ(a.Post("/v1/rules", Rule(id, to_a, "lead")).status, 201);
  Reply moved = a.Put("/v1/rules/d1", Rule("d1", to_a, "lead"));
  ASSERT_EQ(moved.status, 200) << moved.raw;
  EXPECT_EQ(moved.body["priority"], 3);
  auto ids = [&](const std::string& type) {
    std::vector<std::pair<std::string, int>> out;
    const Reply list = a.Get("/v1/rules?object_type=" + type);
    for (const Json& r : list.body["items"]) out.push_back({r["id"], r["priority"]});
    return out;
  };
  using V = std::vector<std::pair<std::string, int>>;
  EXPECT_EQ(ids("lead"), (V{{"l1", 1}, {"l2", 2}, {"d1", 3}}));
  EXPECT_EQ(ids("deal"), (V{{"d2", 1}, {"d3", 2}}));
  // Kept in place when the type stays.
  ASSERT_EQ(a.Put("/v1/rules/l1", Rule("l1", to_a, "lead")).status, 200);
  EXPECT_EQ(ids("lead"), (V{{"l1", 1}, {"l2", 2}, {"d1", 3}}));
}

TEST(ApiRules, ValidationNamesEachProblemAndStoresNothing) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Json bad = Rule("r-bad", {{"type", "pool"}, {"pool", "ghost"}}, "deal", {"created", "exploded"},
                  {{{"field", "county"}, {"op", "resembles"}, {"value", "Kent"}},
                   {{"field", "amount"}, {"op", "between"}, {"value", 5}},
                   {{"field", "stage"}, {"op", "in"}, {"value", "new"}}});
  bad["fallback_user"] = "nobody";
  Reply r = a.Post("/v1/rules", bad);
  EXPECT_TRUE(IsError(r, 422));
  EXPECT_TRUE(HasDetail(r, "events[1]"));
  EXPECT_TRUE(HasDetail(r, "conditions.all[0].op"));
  EXPECT_TRUE(HasDetail(r, "conditions.all[1].value"));
  EXPECT_TRUE(HasDetail(r, "conditions.all[2].value"));
  EXPECT_TRUE(HasDetail(r, "assign.pool"));
  EXPECT_TRUE(HasDetail(r, "fallback_user"));
  EXPECT_FALSE(HasDetail(r, "conditions.all[0].value"));  // meaningless with an unknown operator
  EXPECT_TRUE(IsError(a.Get("/v1/rules/r-bad"), 404));

  Reply semantic = a.Post("/v1/rules", [] {
    Json j = Rule("r-sem", {{"type", "pool"}, {"pool", "ghost"}});
    j["fallback_user"] = "nobody";
    return j;
  }());
  EXPECT_TRUE(IsError(semantic, 422));
  EXPECT_TRUE(HasDetail(semantic, "assign.pool"));
  EXPECT_TRUE(HasDetail(semantic, "fallback_user"));
  EXPECT_TRUE(IsError(a.Get("/v1/rules/r-sem"), 404));

  Reply noconds = a.Post("/v1/rules", Rule("r-nc", ToPool("p"), "deal", {"created"}, Json::array()));
  EXPECT_TRUE(IsError(noconds, 422));
  EXPECT_TRUE(HasDetail(noconds, "conditions"));
  Reply noassign = a.Post("/v1/rules", {{"id", "r-na"}, {"object_type", "deal"}, {"events", {"created"}},
                                        {"conditions", {{"all", {Always()}}}}});
  EXPECT_TRUE(IsError(noassign, 422));
  EXPECT_TRUE(HasDetail(noassign, "assign"));
  Reply badtype = a.Post("/v1/rules", Rule("r-bt", {{"type", "robin"}}));
  EXPECT_TRUE(IsError(badtype, 422));
  ASSERT_EQ(badtype.body["error"]["details"].size(), 1u) << badtype.raw;  // not also "unknown user" at assign.user
  EXPECT_TRUE(HasDetail(badtype, "assign.type"));
  Reply wrongpool = a.Post("/v1/rules", Rule("r-wp", ToPool("p"), "lead"));  // p is a deal pool
  EXPECT_TRUE(IsError(wrongpool, 422));
  EXPECT_TRUE(HasDetail(wrongpool, "assign.pool"));
  Reply threesets = a.Post("/v1/rules", [] {
    Json j = Rule("r-3", ToPool("p"));
    j["conditions"]["none"] = Json::array();
    return j;
  }());
  EXPECT_TRUE(IsError(threesets, 422));
  EXPECT_EQ(a.Get("/v1/rules").body["items"].size(), 1u);
}

// A misspelt field is a 422 naming it, on every route that takes a configuration object,
// and nothing is stored; an object as GET shows it, sent back, is accepted.
TEST(ApiConfig, AMisspeltFieldIsRefusedAndWhatGetShowsIsAcceptedBack) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Reply r = a.Post("/v1/users", {{"id", "zz"}, {"nmae", "Zed"}});
  EXPECT_TRUE(IsError(r, 422)) << r.raw;
  EXPECT_TRUE(HasDetail(r, "nmae")) << r.raw;
  EXPECT_TRUE(IsError(a.Get("/v1/users/zz"), 404));
  r = a.Patch("/v1/users/A", {{"caps", {{"per_dya", 3}}}});
  EXPECT_TRUE(HasDetail(r, "caps.per_dya")) << r.raw;
  EXPECT_TRUE(a.Get("/v1/users/A").body["caps"]["per_day"].is_null());

  Reply rule = a.Get("/v1/rules/r-pool");
  ASSERT_EQ(rule.status, 200);
  Json misspelt = rule.body;
  misspelt["fallback"] = "A";
  r = a.Put("/v1/rules/r-pool", misspelt);
  EXPECT_TRUE(IsError(r, 422)) << r.raw;
  EXPECT_TRUE(HasDetail(r, "fallback")) << r.raw;
  Json back = rule.body;  // with its "priority", which PUT /v1/rules/priority sets
  back["name"] = "Round robin";
  r = a.Put("/v1/rules/r-pool", back);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["name"], "Round robin");

  Reply pool = a.Get("/v1/pools/p");  // members with positions, "next", "last_position"
  ASSERT_EQ(pool.status, 200);
  r = a.Patch("/v1/pools/p", pool.body);
  EXPECT_EQ(r.status, 200) << r.raw;
  r = a.Patch("/v1/pools/p", {{"memebrs", {"A"}}});
  EXPECT_TRUE(HasDetail(r, "memebrs")) << r.raw;
  EXPECT_EQ(a.Get("/v1/pools/p").body["members"].size(), 3u);

  ASSERT_EQ(a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "county"}}).status, 201);
  r = a.Put("/v1/distributions/d/keys/Kent", {{"owners", {{{"user", "A"}, {"pct", 100}}}}});
  EXPECT_TRUE(HasDetail(r, "owners[0].pct")) << r.raw;
  ASSERT_EQ(a.Put("/v1/distributions/d/keys/Kent", {{"owners", {{{"user", "A"}, {"percent", 100}}}}}).status, 200);
  Reply dist = a.Get("/v1/distributions/d");  // owners with "assigned", and "unkeyed_values"
  ASSERT_EQ(dist.status, 200);
  r = a.Patch("/v1/distributions/d", dist.body);
  EXPECT_EQ(r.status, 200) << r.raw;
  r = a.Put("/v1/distributions/d/keys/Kent", dist.body["keys"][0]);
  EXPECT_EQ(r.status, 200) << r.raw;

  Json doc = a.Get("/v1/config").body;
  doc["settings"]["timezone"] = "UTC";
  r = a.Put("/v1/config", doc);
  EXPECT_TRUE(HasDetail(r, "settings.timezone")) << r.raw;
  doc["settings"].erase("timezone");
  EXPECT_EQ(a.Put("/v1/config", doc).status, 200);
}

// The whole document's changes name a change of priority where the rules of one object
// type come in another order, with rules added beside it or not, and only then.
TEST(ApiConfig, ChangesNameAPriorityChangeOnlyWhereATypesOrderChanged) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"A"});
  Json user = {{"type", "user"}, {"user", "A"}};
  Json doc = a.Get("/v1/config").body;
  doc["rules"] = {Rule("l1", user, "lead"), Rule("l2", user, "lead"), Rule("d1", user, "deal"), Rule("d2", user, "deal")};
  ASSERT_EQ(a.Put("/v1/config", doc).status, 200);
  doc = a.Get("/v1/config").body;
  auto changes = [&](const Json& d) {
    Reply r = a.Put("/v1/config?dry_run=true", d);
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["changes"];
  };
  const Json priority = {{"kind", "rules"}, {"id", "priority"}, {"change", "changed"}};
  auto has = [](const Json& list, const Json& item) { return std::find(list.begin(), list.end(), item) != list.end(); };

  Json swapped_and_added = doc;  // l2 before l1, and a new lead rule
  std::swap(swapped_and_added["rules"][0], swapped_and_added["rules"][1]);
  swapped_and_added["rules"].push_back(Rule("l3", user, "lead"));
  Json c = changes(swapped_and_added);
  EXPECT_TRUE(has(c, priority)) << c;
  EXPECT_TRUE(has(c, Json{{"kind", "rule"}, {"id", "l3"}, {"change", "added"}})) << c;

  Json interleaved = doc;  // deal rules first: each type's order is as it was
  interleaved["rules"] = {doc["rules"][2], doc["rules"][0], doc["rules"][3], doc["rules"][1]};
  EXPECT_EQ(changes(interleaved), Json::array()) << changes(interleaved);

  Json added_first = doc;  // a new rule at the top of its type moves no other rule
  added_first["rules"].insert(added_first["rules"].begin(), Rule("l0", user, "lead"));
  c = changes(added_first);
  EXPECT_FALSE(has(c, priority)) << c;
  EXPECT_EQ(c.size(), 1u) << c;
}

// One 422 names every problem of a document: its shape's, its meaning's and the change's
// (a new id too long, a `between` the wrong way round), on PUT /v1/config and in simulate.
TEST(ApiConfig, OneAnswerNamesEveryProblemOfADocument) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  Json doc = a.Get("/v1/config").body;
  doc["users"].push_back({{"id", std::string(300, 'u')}});
  doc["rules"].push_back(Rule("r-user", {{"type", "user"}, {"user", "nobody"}}));
  doc["rules"].push_back(Rule("r-range", ToPool("p"), "deal", {"created"},
                              {{{"field", "amount"}, {"op", "between"}, {"value", {10, 1}}}}));
  doc["pools"][0]["nmae"] = "x";
  Reply r = a.Put("/v1/config?dry_run=true", doc);
  ASSERT_TRUE(IsError(r, 422)) << r.raw;
  for (const char* path : {"users[3].id", "rules[1].assign.user", "rules[2].conditions.all[0].value", "pools[0].nmae"}) {
    EXPECT_TRUE(HasDetail(r, path)) << path << ": " << r.raw;
  }
  Reply sim = a.Post("/v1/simulate", {{"config", doc}, {"records", Json::array()}});
  ASSERT_TRUE(IsError(sim, 422)) << sim.raw;
  EXPECT_TRUE(HasDetail(sim, "config.users[3].id")) << sim.raw;
  EXPECT_TRUE(HasDetail(sim, "config.rules[2].conditions.all[0].value")) << sim.raw;
  EXPECT_EQ(a.Get("/v1/rules").body["items"].size(), 1u);
}

TEST(ApiRules, FiftyFirstRuleForOneTypeAndEventIsRefused) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"A"});
  Json assign = {{"type", "user"}, {"user", "A"}};
  for (int i = 1; i <= 49; ++i) {
    Json rule = Rule("r" + std::to_string(i), assign);
    if (i % 2 == 0) rule["active"] = false;  // inactive ones count too
    ASSERT_EQ(a.Post("/v1/rules", rule).status, 201) << i;
  }
  // Other types and events do not count.
  ASSERT_EQ(a.Post("/v1/rules", Rule("lead-1", assign, "lead")).status, 201);
  ASSERT_EQ(a.Post("/v1/rules", Rule("upd-1", assign, "deal", {"updated"})).status, 201);
  ASSERT_EQ(a.Post("/v1/rules", Rule("r50", assign)).status, 201);
  Reply r = a.Post("/v1/rules", Rule("r51", assign, "deal", {"updated", "created"}));
  EXPECT_TRUE(IsError(r, 422));
  EXPECT_FALSE(r.body["error"]["details"].empty());
  EXPECT_TRUE(IsError(a.Get("/v1/rules/r51"), 404));
  EXPECT_EQ(a.Get("/v1/rules?object_type=deal&limit=1000").body["items"].size(), 51u);
  // For another event there is room.
  EXPECT_EQ(a.Post("/v1/rules", Rule("r51", assign, "deal", {"updated"})).status, 201);
}

TEST(ApiDistributions, KeysCountersAndRedistribution) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"A", "B", "C", "Z"});
  Reply c = a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "city"}, {"default_owner", "Z"}});
  ASSERT_EQ(c.status, 201) << c.raw;
  EXPECT_EQ(c.body["id"], "d");
  EXPECT_EQ(c.body["property"], "city");
  EXPECT_EQ(c.body["default_owner"], "Z");
  EXPECT_TRUE(c.body["keys"].empty());
  EXPECT_TRUE(c.body["unkeyed_values"].empty());
  EXPECT_TRUE(IsError(a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "deal"}, {"property", "x"}}), 409));
  Reply bad = a.Post("/v1/distributions", {{"id", "e"}, {"object_type", "deal"}, {"property", ""}, {"default_owner", "ghost"}});
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "property"));
  EXPECT_TRUE(HasDetail(bad, "default_owner"));
  EXPECT_TRUE(IsError(a.Get("/v1/distributions/e"), 404));
  ASSERT_EQ(a.Post("/v1/rules", Rule("r", {{"type", "distribution"}, {"distribution", "d"}})).status, 201);

  // A value without a key: the default owner, listed as unkeyed.
  Reply d = a.Post("/v1/assign", AssignBody("D-0", "created", {{"city", "Köln"}}));
  ASSERT_EQ(d.status, 200) << d.raw;
  EXPECT_EQ(d.body["outcome"], "default");
  EXPECT_EQ(d.body["owner"], "Z");
  EXPECT_EQ(a.Get("/v1/distributions/d").body["unkeyed_values"], Json::array({"Köln"}));

  // A key with a URL-encoded value.
  Reply k = a.Put("/v1/distributions/d/keys/K%C3%B6ln",
                  {{"owners", {{{"user", "A"}, {"percent", 75}}, {{"user", "B"}, {"percent", 25}}}}});
  ASSERT_EQ(k.status, 200) << k.raw;
  ASSERT_EQ(k.body["keys"].size(), 1u);
  EXPECT_EQ(k.body["keys"][0]["value"], "Köln");
  EXPECT_TRUE(k.body["unkeyed_values"].empty()) << k.raw;
  EXPECT_EQ(k.body["keys"][0]["owners"][0]["assigned"], 0);
  // A value with a "/" in it, encoded: set, then deleted.
  Reply slash = a.Put("/v1/distributions/d/keys/N%2FA", {{"owners", {{{"user", "A"}, {"percent", 100}}}}});
  ASSERT_EQ(slash.status, 200) << slash.raw;
  ASSERT_EQ(slash.body["keys"].size(), 2u) << slash.raw;
  EXPECT_EQ(slash.body["keys"][1]["value"], "N/A");
  EXPECT_EQ(a.Delete("/v1/distributions/d/keys/N%2FA").status, 204);
  EXPECT_EQ(a.Get("/v1/distributions/d").body["keys"].size(), 1u);

  // Errors: percents, unknown user, unknown distribution; nothing stored.
  Reply pct = a.Put("/v1/distributions/d/keys/Bonn", {{"owners", {{{"user", "A"}, {"percent", 60}}, {{"user", "B"}, {"percent", 30}}}}});
  EXPECT_TRUE(IsError(pct, 422));
  EXPECT_TRUE(HasDetail(pct, "owners")) << pct.raw;
  Reply ghost = a.Put("/v1/distributions/d/keys/Bonn", {{"owners", {{{"user", "ghost"}, {"percent", 100}}}}});
  EXPECT_TRUE(IsError(ghost, 422));
  EXPECT_TRUE(HasDetail(ghost, "owners[0].user")) << ghost.raw;
  Reply shape = a.Put("/v1/distributions/d/keys/Bonn", {{"owners", {{{"user", "A"}, {"percent", "100"}}}}});
  EXPECT_TRUE(IsError(shape, 422));
  EXPECT_TRUE(HasDetail(shape, "owners[0].percent"));
  Reply both = a.Put("/v1/distributions/d/keys/Bonn", {{"owners", {{{"user", "ghost"}, {"percent", "50"}},
                                                                   {{"user", "A"}, {"percent", 50}}}}});
  EXPECT_TRUE(IsError(both, 422));
  EXPECT_TRUE(HasDetail(both, "owners[0].percent"));
  EXPECT_TRUE(HasDetail(both, "owners[0].user"));
  EXPECT_TRUE(IsError(a.Put("/v1/distributions/d/keys/Bonn", Json::object()), 422));
  EXPECT_TRUE(IsError(a.Put("/v1/distributions/nope/keys/Bonn", {{"owners", {{{"user", "A"}, {"percent", 100}}}}}), 404));
  EXPECT_EQ(a.Get("/v1/distributions/d").body["keys"].size(), 1u);

  // Four decisions on "KÖLN" (folded): 3 to A, 1 to B.
  std::map<std::string, int> got;
  for (int i = 1; i <= 4; ++i) {
    Reply r = a.Post("/v1/assign", AssignBody("D-" + std::to_string(i), "created", {{"city", " KÖLN "}}));
    ASSERT_EQ(r.status, 200) << r.raw;
    EXPECT_EQ(r.body["outcome"], "assigned");
    EXPECT_EQ(r.body["strategy"], "distribution");
    ++got[r.body["owner"].get<std::string>()];
  }
  EXPECT_EQ(got["A"], 3);
  EXPECT_EQ(got["B"], 1);
  Reply g = a.Get("/v1/distributions/d");
  EXPECT_EQ(g.body["keys"][0]["owners"][0]["user"], "A");
  EXPECT_EQ(g.body["keys"][0]["owners"][0]["assigned"], 3);
  EXPECT_EQ(g.body["keys"][0]["owners"][1]["assigned"], 1);

  // A new unkeyed value shows up; a key for it removes it.
  ASSERT_EQ(a.Post("/v1/assign", AssignBody("D-5", "created", {{"city", "Bonn"}})).body["owner"], "Z");
  EXPECT_EQ(a.Get("/v1/distributions/d").body["unkeyed_values"], Json::array({"Bonn"}));
  ASSERT_EQ(a.Put("/v1/distributions/d/keys/Bonn", {{"owners", {{{"user", "C"}, {"percent", 100}}}}}).status, 200);
  EXPECT_TRUE(a.Get("/v1/distributions/d").body["unkeyed_values"].empty());
  EXPECT_EQ(a.Post("/v1/assign", AssignBody("D-6", "created", {{"city", "bonn"}})).body["owner"], "C");

  // Redistribution resets the value's counters (not the other values').
  Reply re = a.Put("/v1/distributions/d/keys/k%C3%B6ln",
                   {{"owners", {{{"user", "A"}, {"percent", 50}}, {{"user", "C"}, {"percent", 50}}}}});
  ASSERT_EQ(re.status, 200) << re.raw;
  ASSERT_EQ(re.body["keys"].size(), 2u);
  for (const Json& key : re.body["keys"]) {
    if (key["value"] == "Bonn") {
      EXPECT_EQ(key["owners"][0]["assigned"], 1);
    } else {
      for (const Json& o : key["owners"]) EXPECT_EQ(o["assigned"], 0) << re.raw;
    }
  }
  got.clear();
  for (int i = 7; i <= 10; ++i) {
    ++got[a.Post("/v1/assign", AssignBody("D-" + std::to_string(i), "created", {{"city", "Köln"}})).body["owner"]
              .get<std::string>()];
  }
  EXPECT_EQ(got["A"], 2);
  EXPECT_EQ(got["C"], 2);

  // PATCH, delete key, delete distribution.
  Reply p = a.Patch("/v1/distributions/d", {{"default_owner", "A"}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["default_owner"], "A");
  EXPECT_TRUE(IsError(a.Patch("/v1/distributions/d", {{"default_owner", "ghost"}}), 422));
  EXPECT_TRUE(IsError(a.Patch("/v1/distributions/nope", {{"default_owner", "A"}}), 404));
  // A change that breaks another part of the workspace (rule r is for deals): the problem
  // is about the body as a whole, and says where.
  Reply retyped = a.Patch("/v1/distributions/d", {{"object_type", "lead"}});
  ASSERT_TRUE(IsError(retyped, 422)) << retyped.raw;
  EXPECT_EQ(retyped.body["error"]["details"][0]["path"], "") << retyped.raw;
  EXPECT_NE(retyped.body["error"]["details"][0]["message"].get<std::string>().find("rules[0]"), std::string::npos)
      << retyped.raw;
  EXPECT_EQ(a.Delete("/v1/distributions/d/keys/Bonn").status, 204);
  EXPECT_TRUE(IsError(a.Delete("/v1/distributions/d/keys/Bonn"), 404));
  EXPECT_EQ(a.Get("/v1/distributions/d").body["keys"].size(), 1u);
  EXPECT_EQ(a.Get("/v1/distributions").body["items"].size(), 1u);
  EXPECT_TRUE(IsError(a.Delete("/v1/distributions/d"), 409));  // rule r uses it
  ASSERT_EQ(a.Delete("/v1/rules/r").status, 204);
  EXPECT_EQ(a.Delete("/v1/distributions/d").status, 204);
  EXPECT_TRUE(IsError(a.Get("/v1/distributions/d"), 404));
  EXPECT_TRUE(IsError(a.Delete("/v1/distributions/d"), 404));
}

TEST(ApiSettings, GetPutAndDefaultOwner) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedUsers(a, {"u-9"});
  Reply g = a.Get("/v1/settings");
  ASSERT_EQ(g.status, 200);
  EXPECT_TRUE(g.body["default_owners"].empty());
  EXPECT_EQ(g.body["history_retention_days"], 30);
  EXPECT_EQ(g.body["time_zone"], "UTC");

  // An unknown field is a 422 whatever its name (one named like a file's huge row was a 500).
  Reply odd = a.Put("/v1/settings", {{"row 99999999999999999999", 1}});
  EXPECT_TRUE(IsError(odd, 422)) << odd.raw;

  Reply p = a.Put("/v1/settings", {{"default_owners", {{"deal", "u-9"}}}, {"history_retention_days", 7},
                                   {"time_zone", "Europe/Warsaw"}});
  ASSERT_EQ(p.status, 200) << p.raw;
  EXPECT_EQ(p.body["default_owners"]["deal"], "u-9");
  EXPECT_EQ(p.body["history_retention_days"], 7);
  EXPECT_EQ(p.body["time_zone"], "Europe/Warsaw");
  EXPECT_EQ(a.Get("/v1/settings").body, p.body);

  Reply d = a.Post("/v1/assign", AssignBody("D-1"));
  EXPECT_EQ(d.body["outcome"], "default");
  EXPECT_EQ(d.body["owner"], "u-9");

  Reply bad = a.Put("/v1/settings", {{"default_owners", {{"deal", "ghost"}, {"banana", "u-9"}}},
                                     {"history_retention_days", 0}, {"time_zone", "Mars/Olympus"}, {"colour", "red"}});
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "default_owners.banana"));
  EXPECT_TRUE(HasDetail(bad, "history_retention_days"));
  EXPECT_TRUE(HasDetail(bad, "colour"));
  Reply sem = a.Put("/v1/settings", {{"default_owners", {{"deal", "ghost"}}}, {"time_zone", "Mars/Olympus"}});
  EXPECT_TRUE(IsError(sem, 422));
  EXPECT_TRUE(HasDetailEnding(sem, "time_zone"));
  EXPECT_TRUE(HasDetailEnding(sem, "deal"));
  EXPECT_EQ(a.Get("/v1/settings").body, p.body);
  EXPECT_TRUE(IsError(a.Put("/v1/settings", Json::array()), 422));
}

// GET /v1/config → PUT /v1/config keeps the rotation where it was.
TEST(ApiConfig, RoundTripKeepsRotationState) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  ASSERT_EQ(a.Post("/v1/distributions", {{"id", "d"}, {"object_type", "lead"}, {"property", "city"}}).status, 201);
  ASSERT_EQ(a.Put("/v1/distributions/d/keys/Kent", {{"owners", {{{"user", "A"}, {"percent", 100}}}}}).status, 200);
  ASSERT_EQ(a.Put("/v1/settings", {{"default_owners", {{"task", "C"}}}}).status, 200);
  EXPECT_EQ(AssignOwner(a, "D-1"), "A");
  EXPECT_EQ(AssignOwner(a, "D-2"), "B");

  Reply doc = a.Get("/v1/config");
  ASSERT_EQ(doc.status, 200) << doc.raw;
  for (const char* k : {"users", "pools", "distributions", "rules", "settings"}) EXPECT_TRUE(doc.body.contains(k)) << k;
  EXPECT_EQ(doc.body["pools"][0]["members"], Json::array({"A", "B", "C"}));
  EXPECT_EQ(doc.body["distributions"][0]["keys"][0]["value"], "Kent");
  EXPECT_EQ(doc.body["settings"]["default_owners"]["task"], "C");

  Reply put = a.Put("/v1/config", doc.body);
  ASSERT_EQ(put.status, 200) << put.raw;
  EXPECT_EQ(a.Get("/v1/config").body, doc.body);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "C");
  EXPECT_EQ(AssignOwner(a, "D-3"), "C");
  EXPECT_EQ(AssignOwner(a, "D-4"), "A");

  // Dry run: says what would change, stores nothing.
  Json changed = doc.body;
  changed["users"].push_back(User("D"));
  changed["pools"][0]["members"].push_back("D");
  Reply dry = a.Put("/v1/config?dry_run=true", changed);
  ASSERT_EQ(dry.status, 200) << dry.raw;
  EXPECT_EQ(dry.body["applied"], false);
  EXPECT_NE(dry.body["changes"].dump().find("\"D\""), std::string::npos) << dry.raw;
  EXPECT_TRUE(IsError(a.Get("/v1/users/D"), 404));
  EXPECT_EQ(a.Get("/v1/pools/p").body["members"].size(), 3u);
  // Neither true nor false: a bad value (422), and nothing applied.
  Reply maybe = a.Put("/v1/config?dry_run=maybe", changed);
  EXPECT_TRUE(IsError(maybe, 422)) << maybe.raw;
  EXPECT_TRUE(HasDetail(maybe, "dry_run")) << maybe.raw;
  EXPECT_TRUE(IsError(a.Get("/v1/users/D"), 404));

  // An invalid document: 422 naming the problems, nothing stored.
  Json broken = changed;
  broken["pools"][0]["members"].push_back("ghost");
  broken["rules"][0]["conditions"]["all"][0]["op"] = "resembles";
  Reply bad = a.Put("/v1/config", broken);
  EXPECT_TRUE(IsError(bad, 422));
  EXPECT_TRUE(HasDetail(bad, "pools[0].members[4]"));
  EXPECT_TRUE(HasDetail(bad, "rules[0].conditions.all[0].op"));
  EXPECT_TRUE(IsError(a.Get("/v1/users/D"), 404));
  EXPECT_TRUE(IsError(a.Put("/v1/config", Json::array()), 422));

  // Applied for real: D joins at the end, the rotation goes on.
  Reply real = a.Put("/v1/config", changed);
  ASSERT_EQ(real.status, 200) << real.raw;
  EXPECT_EQ(real.body["applied"], true);
  EXPECT_EQ(a.Get("/v1/pools/p").body["next"], "B");
  EXPECT_EQ(AssignOwner(a, "D-5"), "B");
  EXPECT_EQ(AssignOwner(a, "D-6"), "C");
  EXPECT_EQ(AssignOwner(a, "D-7"), "D");
}

// `rota config apply` on a new database makes the workspace "default" with its first admin
// key, printed once, as `rota serve` would; the server started on it then uses that key.
TEST(ApiConfig, CliApplyOnANewDatabasePrintsTheFirstAdminKey) {
  TempDir dir;
  const std::string db = dir.path() + "/new.db";
  const std::string file = dir.path() + "/rota.json";
  // A document with problems makes no workspace and prints no key.
  std::ofstream(file) << R"({"users": [{"id": "A"}], "pools": [{"id": "p", "object_type": "deal", "members": ["B"]}]})";
  auto [bad, bad_out] = RunRota({"config", "apply", "--db", db, file});
  EXPECT_EQ(bad, 2) << bad_out;
  EXPECT_EQ(bad_out.find("admin key"), std::string::npos) << bad_out;
  EXPECT_FALSE(std::filesystem::exists(db));  // not even an empty database file
  // So do the problems the service finds in a change: a rule taking the id "priority", a
  // between the wrong way round.
  for (const char* rule : {R"({"id": "priority", "object_type": "deal", "events": ["created"],
                              "conditions": {"all": [{"field": "x", "op": "is_empty"}]}, "assign": {"type": "user", "user": "A"}})",
                           R"({"id": "r", "object_type": "deal", "events": ["created"],
                              "conditions": {"all": [{"field": "x", "op": "between", "value": [9, 1]}]}, "assign": {"type": "user", "user": "A"}})"}) {
    std::ofstream(file, std::ios::trunc) << R"({"users": [{"id": "A"}], "rules": [)" << rule << "]}";
    auto [refused, refused_out] = RunRota({"config", "apply", "--db", db, file});
    EXPECT_EQ(refused, 2) << refused_out;
    EXPECT_EQ(refused_out.find("admin key"), std::string::npos) << refused_out;
    EXPECT_FALSE(std::filesystem::exists(db)) << refused_out;
    // One problem, said once.
    const std::string said = refused_out.find("reserved") != std::string::npos ? "reserved" : "low end";
    EXPECT_EQ(refused_out.find(said), refused_out.rfind(said)) << refused_out;
  }
  std::ofstream(file, std::ios::trunc) << R"({"users": [{"id": "A"}], "pools": [{"id": "p", "object_type": "deal", "members": ["A"]}]})";
  // A new database holds only the workspace "default": another is refused before one is made.
  auto [other, other_out] = RunRota({"config", "apply", "--db", db, "--workspace", "sales", file});
  EXPECT_EQ(other, 2) << other_out;
  EXPECT_NE(other_out.find("no database there"), std::string::npos) << other_out;
  EXPECT_FALSE(std::filesystem::exists(db)) << other_out;
  auto [code, out] = RunRota({"config", "apply", "--db", db, file});
  ASSERT_EQ(code, 0) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(out, m, std::regex("admin key for workspace \"default\" \\(shown once, keep it\\): (\\S+)")))
      << out;
  const std::string key = m[1];
  EXPECT_NE(out.find("added user A"), std::string::npos) << out;
  auto [again, again_out] = RunRota({"config", "apply", "--db", db, file});  // no second key
  ASSERT_EQ(again, 0) << again_out;
  EXPECT_EQ(again_out.find("admin key"), std::string::npos) << again_out;
  RotaServer s(db);
  EXPECT_EQ(s.admin_key(), "");  // nothing printed: the database has its key
  As a{s, key};
  Reply pool = a.Get("/v1/pools/p");
  ASSERT_EQ(pool.status, 200) << pool.raw;
  EXPECT_EQ(pool.body["next"], "A");
}

// `rota config export` / `rota config apply --dry-run` on the database the server uses.
TEST(ApiConfig, CliExportAndApplyDryRun) {
  RotaServer s;
  As a{s, s.admin_key()};
  SeedRoundRobin(a);
  EXPECT_EQ(AssignOwner(a, "D-1"), "A");

  auto [code, out] = RunRota({"config", "export", "--db", s.db()});
  ASSERT_EQ(code, 0) << out;
  Json exported = Json::parse(out, nullptr, false);
  ASSERT_FALSE(exported.is_discarded()) << out;
  EXPECT_EQ(exported, a.Get("/v1/config").body);

  Json changed = exported;
  changed["users"].push_back(User("D"));
  TempDir dir;
  const std::string file = dir.path() + "/rota.json";
  std::ofstream(file) << changed.dump(2);
  auto [dc, dout] = RunRota({"config", "apply", "--db", s.db(), file, "--dry-run"});
  ASSERT_EQ(dc, 0) << dout;
  EXPECT_NE(dout.find("would change"), std::string::npos) << dout;
  EXPECT_NE(dout.find("user D"), std::string::npos) << dout;
  EXPECT_TRUE(IsError(a.Get("/v1/users/D"), 404));
  auto [ec, eout] = RunRota({"config", "export", "--db", s.db()});
  EXPECT_EQ(Json::parse(eout, nullptr, false), exported);

  // A mistyped --db is refused, not made into an empty database.
  const std::string typo = dir.path() + "/rota-typo.db";
  for (std::vector<std::string> args : {std::vector<std::string>{"config", "export"}, {"keys", "list"},
                                        {"keys", "revoke", "key_x"}, {"keys", "create", "--workspace", "default", "--role", "admin"}, {"history", "purge"},
                                        {"config", "apply", file, "--dry-run"}}) {
    args.insert(args.end(), {"--db", typo});
    auto [tc, tout] = RunRota(args);
    EXPECT_EQ(tc, 2) << args[0] << " " << args[1] << ": " << tout;
    EXPECT_NE(tout.find("no database there"), std::string::npos) << tout;
    EXPECT_FALSE(std::filesystem::exists(typo)) << args[0] << " " << args[1];
  }

  // An invalid file fails and stores nothing.
  Json broken = changed;
  broken["pools"][0]["members"].push_back("ghost");
  std::ofstream(file, std::ios::trunc) << broken.dump(2);
  auto [bc, bout] = RunRota({"config", "apply", "--db", s.db(), file});
  EXPECT_NE(bc, 0) << bout;
  EXPECT_NE(bout.find("pools[0].members[3]"), std::string::npos) << bout;
  EXPECT_TRUE(IsError(a.Get("/v1/users/D"), 404));

  // Applied for real while the server runs: the server sees it, the pool goes on.
  std::ofstream(file, std::ios::trunc) << changed.dump(2);
  auto [ac, aout] = RunRota({"config", "apply", "--db", s.db(), file});
  ASSERT_EQ(ac, 0) << aout;
  EXPECT_EQ(a.Get("/v1/users/D").status, 200);
  EXPECT_EQ(AssignOwner(a, "D-2"), "B");
}

}  // namespace
}  // namespace rota::testing
