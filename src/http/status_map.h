// The one place where rota's status codes become HTTP statuses.
#pragma once

#include "core/status.h"

namespace rota::http {

inline int HttpStatus(Code code) {
  switch (code) {
    case Code::kOk: return 200;
    case Code::kMalformed: return 400;
    case Code::kUnauthenticated: return 401;
    case Code::kForbidden: return 403;
    case Code::kNotFound: return 404;
    case Code::kConflict: return 409;
    case Code::kTooLarge: return 413;
    case Code::kInvalid: return 422;
    case Code::kInternal: return 500;
    case Code::kUnavailable: return 503;
  }
  return 500;
}

}  // namespace rota::http
