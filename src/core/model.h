// The domain model of SPEC.md §1: users, pools, distributions, rules, records and
// settings, as plain values. Nothing here does I/O; src/io turns documents into these.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rota::core {

using Time = std::chrono::sys_seconds;

enum class ObjectType { kLead, kContact, kCompany, kDeal, kTask };
inline constexpr int kObjectTypeCount = 5;
enum class Event { kCreated, kUpdated, kBulk, kAssignRequested };
inline constexpr int kEventCount = 4;

std::string_view ToString(ObjectType t);
std::string_view ToString(Event e);
std::optional<ObjectType> ParseObjectType(std::string_view s);
std::optional<Event> ParseEvent(std::string_view s);

// A property or condition value: JSON's scalars. `text` is what the value reads as
// (a number keeps its JSON spelling, a bool is "true"/"false", null is empty).
struct Value {
  enum class Kind { kNull, kBool, kNumber, kString };
  Kind kind = Kind::kNull;
  std::string text;
  double number = 0;  // kNumber only

  static Value Null() { return {}; }
  static Value Bool(bool b) { return {Kind::kBool, b ? "true" : "false", 0}; }
  static Value Number(double n, std::string text) { return {Kind::kNumber, std::move(text), n}; }
  static Value String(std::string s) { return {Kind::kString, std::move(s), 0}; }
  friend bool operator==(const Value&, const Value&) = default;
};

using Properties = std::map<std::string, Value, std::less<>>;

// Working hours: per weekday (0 = Sunday … 6 = Saturday), intervals of minutes since
// local midnight, start included, end excluded (1440 is "24:00").
struct WorkingHours {
  // The days' names as the config document writes them, by index.
  static constexpr const char* kDayNames[7] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};
  std::string tz;
  std::vector<std::pair<int, int>> days[7];
  friend bool operator==(const WorkingHours&, const WorkingHours&) = default;
};

struct OutOfOffice {
  Time from;  // included
  Time to;    // excluded
  friend bool operator==(const OutOfOffice&, const OutOfOffice&) = default;
};

struct Caps {
  std::optional<int64_t> per_day;
  std::optional<int64_t> max_open;
  friend bool operator==(const Caps&, const Caps&) = default;
};

struct User {
  std::string id;
  std::string name;
  std::string email;
  bool active = true;
  std::vector<OutOfOffice> out_of_office;
  std::optional<WorkingHours> working_hours;
  Caps caps;
  friend bool operator==(const User&, const User&) = default;
};

// The largest join position a document may give (2^53 - 1, exact in JavaScript too): the
// positions made after it, and a rotation's turns (position + the top one), stay far from
// int64_t's limit.
inline constexpr int64_t kMaxJoinPosition = (int64_t{1} << 53) - 1;

struct PoolMember {
  std::string user;
  int64_t position = 0;  // join position; later joiners have larger ones
  friend bool operator==(const PoolMember&, const PoolMember&) = default;
};

struct Pool {
  std::string id;
  std::string name;
  ObjectType object_type = ObjectType::kLead;
  std::vector<PoolMember> members;  // ascending position
  friend bool operator==(const Pool&, const Pool&) = default;
};

struct KeyOwner {
  std::string user;
  double percent = 0;
  friend bool operator==(const KeyOwner&, const KeyOwner&) = default;
};

struct DistributionKey {
  std::string value;  // as the admin wrote it; matched folded
  std::vector<KeyOwner> owners;
  friend bool operator==(const DistributionKey&, const DistributionKey&) = default;
};

struct Distribution {
  std::string id;
  std::string name;
  ObjectType object_type = ObjectType::kLead;
  std::string property;
  std::optional<std::string> default_owner;
  std::vector<DistributionKey> keys;
  friend bool operator==(const Distribution&, const Distribution&) = default;
};

enum class Op {
  kEq, kNeq, kIn, kNotIn, kContains, kNotContains, kStartsWith, kEndsWith,
  kGt, kGte, kLt, kLte, kBetween, kIsEmpty, kIsNotEmpty,
  kChanged, kChangedFrom, kChangedTo,
};
std::string_view ToString(Op op);
std::optional<Op> ParseOp(std::string_view s);

// The value of a condition as written: absent/null, one scalar, or a list.
struct ConditionValue {
  enum class Shape { kNone, kScalar, kList, kOther };  // kOther: an object or nested list
  Shape shape = Shape::kNone;
  std::vector<Value> items;  // one for kScalar, the list for kList
  friend bool operator==(const ConditionValue&, const ConditionValue&) = default;
};

struct Condition {
  std::string field;
  Op op = Op::kEq;
  ConditionValue value;
  friend bool operator==(const Condition&, const Condition&) = default;
};

struct Conditions {
  std::vector<Condition> all;
  std::vector<Condition> any;
  friend bool operator==(const Conditions&, const Conditions&) = default;
};

enum class Relation { kCompany, kPerson };
std::string_view ToString(Relation r);
ObjectType RelationObjectType(Relation r);  // company → company, person → contact

struct Assignee {
  enum class Type { kUser, kPool, kDistribution, kLeastLoaded, kField, kRelatedOwner };
  Type type = Type::kUser;
  std::string ref;  // user id, pool id, distribution id, pool id, property name
  Relation relation = Relation::kCompany;  // kRelatedOwner only
  friend bool operator==(const Assignee&, const Assignee&) = default;
};
std::string_view ToString(Assignee::Type t);
std::optional<Assignee::Type> ParseAssigneeType(std::string_view s);

enum class RelatedMode { kAdd, kReplace };

struct Actions {
  std::vector<Relation> apply_to_related;
  RelatedMode related_mode = RelatedMode::kReplace;
  std::string tag;
  std::string note;
  bool notify = false;
  std::string notify_message;  // the notification's text (Livespace's "treść powiadomienia")
  friend bool operator==(const Actions&, const Actions&) = default;
};

struct Rule {
  std::string id;
  std::string name;
  std::string description;
  ObjectType object_type = ObjectType::kLead;
  std::vector<Event> events;
  bool active = true;
  Conditions conditions;
  Assignee assign;
  std::optional<std::string> fallback_user;
  Actions actions;
  friend bool operator==(const Rule&, const Rule&) = default;
};

struct Settings {
  std::map<ObjectType, std::string> default_owners;
  int history_retention_days = 30;
  std::string time_zone = "UTC";
  friend bool operator==(const Settings&, const Settings&) = default;
};

// A note a rule wrote to a record's activity (SPEC §7): kept on rota's copy of the
// record, so that it outlives the history's retention.
struct Note {
  int64_t at = 0;  // unix seconds
  std::string text;
  std::string decision_id;
  friend bool operator==(const Note&, const Note&) = default;
};

struct Record {
  ObjectType object_type = ObjectType::kLead;
  std::string id;
  Properties properties;
  std::map<std::string, std::string, std::less<>> links;  // "company" / "person" → id
  std::vector<std::string> owners;
  std::vector<std::string> tags;
  bool open = true;
  std::vector<Note> notes;  // oldest first; only rota writes them (StoredRecord)
  // The CRM connector the record came in through, and its type there: where its owner goes
  // back when rota decides it, or an admin sets it, outside that connector's calls. Only
  // rota writes them (StoredRecord).
  std::string source_connector, source_type;
  friend bool operator==(const Record&, const Record&) = default;
};

// A workspace's whole configuration: the config document of API.md.
struct Config {
  std::vector<User> users;
  std::vector<Pool> pools;
  std::vector<Distribution> distributions;
  std::vector<Rule> rules;  // priority order (highest first) within each object type
  Settings settings;
  std::vector<Record> records;
};

}  // namespace rota::core
