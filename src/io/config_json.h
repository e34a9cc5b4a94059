// The config document of API.md and each of its parts, to and from JSON. Readers
// report every shape problem with its JSON path into a Problems; semantic checks
// (references, limits, percents) are core::Validate's.
#pragma once

#include "core/model.h"
#include "io/json_util.h"

namespace rota::io {

core::User ReadUser(const Json& j, const std::string& path, Problems& p);
// Members are user ids (join positions 1..n in order) or {"user", "position"}.
core::Pool ReadPool(const Json& j, const std::string& path, Problems& p);
core::Distribution ReadDistribution(const Json& j, const std::string& path, Problems& p);
std::vector<core::KeyOwner> ReadKeyOwners(const Json& j, const std::string& path, Problems& p);
core::Rule ReadRule(const Json& j, const std::string& path, Problems& p);
core::Settings ReadSettings(const Json& j, const std::string& path, Problems& p);
// A record from a caller (its `notes`, rota's own, are not read: see ReadStoredRecord).
core::Record ReadRecord(const Json& j, const std::string& path, Problems& p);
std::optional<core::ObjectType> ReadObjectType(const Json& j, const char* key, const std::string& path,
                                               Problems& p);

Json WriteUser(const core::User& u);
// Members as user ids in serving order, or as {"user", "position"} (storage, GET).
Json WritePool(const core::Pool& pool, bool with_positions = false);
Json WriteDistribution(const core::Distribution& d);
Json WriteKeyOwners(const std::vector<core::KeyOwner>& owners);
Json WriteRule(const core::Rule& r);
Json WriteSettings(const core::Settings& s);
Json WriteRecord(const core::Record& r);
// The record as the store keeps it: WriteRecord and its notes, which ReadStoredRecord
// reads back.
Json WriteStoredRecord(const core::Record& r);
core::Record ReadStoredRecord(const Json& j, Problems& p);

// The whole document: shape problems and core::Validate's problems together (422).
Result<core::Config> ReadConfig(const Json& doc);
// The same, giving what could be read and every problem in *problems (none: it is valid),
// for a caller that adds problems of its own to the same answer.
core::Config ReadConfig(const Json& doc, std::vector<Problem>* problems);
// The shape's problems and, after them, those of `meaning` (the core's) where the shape
// left something to check: not inside or around a path the shape found wrong, not a
// condition's value beside an unknown operator, not an assignee's fields beside an unknown
// type.
std::vector<Problem> WithMeaning(const std::vector<Problem>& shape, std::vector<Problem> meaning);
Json WriteConfig(const core::Config& c, bool with_positions = false);

}  // namespace rota::io
