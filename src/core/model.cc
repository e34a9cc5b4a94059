#include "core/model.h"

#include <array>

#include "core/decision.h"

namespace rota::core {
namespace {

template <typename E, size_t N>
std::optional<E> Parse(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

constexpr std::array<std::string_view, 5> kObjectTypes = {"lead", "contact", "company", "deal", "task"};
constexpr std::array<std::string_view, 4> kEvents = {"created", "updated", "bulk", "assign_requested"};
constexpr std::array<std::string_view, 18> kOps = {
    "eq", "neq", "in", "not_in", "contains", "not_contains", "starts_with", "ends_with", "gt",
    "gte", "lt", "lte", "between", "is_empty", "is_not_empty", "changed", "changed_from", "changed_to"};
constexpr std::array<std::string_view, 6> kAssigneeTypes = {"user", "pool", "distribution",
                                                            "least_loaded", "field", "related_owner"};
constexpr std::array<std::string_view, 4> kOutcomes = {"assigned", "fallback", "default", "unassigned"};
constexpr std::array<std::string_view, 11> kReasons = {
    "no_rule_matched",  "user_not_found",    "no_eligible_user",     "no_distribution_key",
    "company_not_linked", "person_not_linked", "company_not_found",  "person_not_found",
    "related_has_no_owner", "field_empty",     "error"};
constexpr std::array<std::string_view, 6> kSkips = {"not_found",  "inactive", "out_of_office",
                                                    "outside_working_hours", "per_day_cap", "max_open_cap"};

}  // namespace

std::string_view ToString(ObjectType t) { return kObjectTypes[static_cast<size_t>(t)]; }
std::string_view ToString(Event e) { return kEvents[static_cast<size_t>(e)]; }
std::string_view ToString(Op op) { return kOps[static_cast<size_t>(op)]; }
std::string_view ToString(Assignee::Type t) { return kAssigneeTypes[static_cast<size_t>(t)]; }
std::string_view ToString(Relation r) { return r == Relation::kCompany ? "company" : "person"; }
std::string_view ToString(Outcome o) { return kOutcomes[static_cast<size_t>(o)]; }
std::string_view ToString(Reason r) { return kReasons[static_cast<size_t>(r)]; }
std::string_view ToString(Skip s) { return kSkips[static_cast<size_t>(s)]; }

std::optional<ObjectType> ParseObjectType(std::string_view s) { return Parse<ObjectType>(kObjectTypes, s); }
std::optional<Event> ParseEvent(std::string_view s) { return Parse<Event>(kEvents, s); }
std::optional<Op> ParseOp(std::string_view s) { return Parse<Op>(kOps, s); }
std::optional<Assignee::Type> ParseAssigneeType(std::string_view s) {
  return Parse<Assignee::Type>(kAssigneeTypes, s);
}
std::optional<Outcome> ParseOutcome(std::string_view s) { return Parse<Outcome>(kOutcomes, s); }
std::optional<Reason> ParseReason(std::string_view s) { return Parse<Reason>(kReasons, s); }

ObjectType RelationObjectType(Relation r) {
  return r == Relation::kCompany ? ObjectType::kCompany : ObjectType::kContact;
}

}  // namespace rota::core
