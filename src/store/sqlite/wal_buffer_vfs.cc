#include "store/sqlite/wal_buffer_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

namespace rota::store::sqlite {
namespace {

// Appends are gathered up to this many bytes, then written (about 250 frames of 4 KiB).
constexpr size_t kCapacity = 1 << 20;

// The file SQLite allocates for us: our part, then the file of the VFS beneath.
struct WalFile {
  sqlite3_file base;   // base.pMethods = &kWalMethods
  sqlite3_file* real;  // the log as the VFS beneath opened it (right after this struct)
  char* data;          // gathered bytes, to be written at offset `start`
  size_t len;
  sqlite3_int64 start;
};

constexpr size_t RealOffset() { return (sizeof(WalFile) + 15) & ~size_t{15}; }

WalFile* Wal(sqlite3_file* f) { return reinterpret_cast<WalFile*>(f); }
sqlite3_vfs* Beneath(sqlite3_vfs* vfs) { return static_cast<sqlite3_vfs*>(vfs->pAppData); }

// The unix VFS writes less than 128 KiB per call (it masks the count to 17 bits).
constexpr size_t kMaxWrite = 0x1ffff & ~size_t{4095};

int Flush(WalFile* w) {
  int rc = SQLITE_OK;
  for (size_t done = 0; done < w->len && rc == SQLITE_OK; done += kMaxWrite) {
    const size_t n = std::min(kMaxWrite, w->len - done);
    rc = w->real->pMethods->xWrite(w->real, w->data + done, static_cast<int>(n),
                                   w->start + static_cast<sqlite3_int64>(done));
  }
  w->len = 0;
  return rc;
}

int WalClose(sqlite3_file* f) {
  WalFile* w = Wal(f);
  int rc = Flush(w);
  int closed = w->real->pMethods->xClose(w->real);
  std::free(w->data);
  w->data = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int WalRead(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xRead(w->real, out, amount, offset);
}

int WalWrite(sqlite3_file* f, const void* in, int amount, sqlite3_int64 offset) {
  WalFile* w = Wal(f);
  const size_t n = static_cast<size_t>(amount);
  const bool appends = w->len > 0 && offset == w->start + static_cast<sqlite3_int64>(w->len);
  if (!appends || w->len + n > kCapacity) {
    // Anything but the next bytes (a new log, a frame rewritten in place) goes after
    // what is gathered, in order.
    if (int rc = Flush(w); rc != SQLITE_OK) return rc;
    if (n > kCapacity) return w->real->pMethods->xWrite(w->real, in, amount, offset);
    w->start = offset;
  }
  if (!w->data) {
    w->data = static_cast<char*>(std::malloc(kCapacity));
    if (!w->data) return w->real->pMethods->xWrite(w->real, in, amount, offset);
  }
  std::memcpy(w->data + w->len, in, n);
  w->len += n;
  return SQLITE_OK;
}

int WalTruncate(sqlite3_file* f, sqlite3_int64 size) {
  WalFile* w = Wal(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xTruncate(w->real, size);
}

int WalSync(sqlite3_file* f, int flags) {
  WalFile* w = Wal(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xSync(w->real, flags);
}

int WalFileSize(sqlite3_file* f, sqlite3_int64* size) {
  WalFile* w = Wal(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileSize(w->real, size);
}

int WalLock(sqlite3_file* f, int level) { return Wal(f)->real->pMethods->xLock(Wal(f)->real, level); }
int WalUnlock(sqlite3_file* f, int level) { return Wal(f)->real->pMethods->xUnlock(Wal(f)->real, level); }
int WalCheckReservedLock(sqlite3_file* f, int* out) {
  return Wal(f)->real->pMethods->xCheckReservedLock(Wal(f)->real, out);
}
int WalFileControl(sqlite3_file* f, int op, void* arg) {
  WalFile* w = Wal(f);
  if (int rc = Flush(w); rc != SQLITE_OK) return rc;
  return w->real->pMethods->xFileControl(w->real, op, arg);
}
int WalSectorSize(sqlite3_file* f) { return Wal(f)->real->pMethods->xSectorSize(Wal(f)->real); }
int WalDeviceCharacteristics(sqlite3_file* f) {
  return Wal(f)->real->pMethods->xDeviceCharacteristics(Wal(f)->real);
}

// A log has no shared memory and is never mapped: version 1 of the methods is all
// SQLite asks of it.
const sqlite3_io_methods kWalMethods = {
    1,           WalClose,       WalRead,        WalWrite,      WalTruncate,
    WalSync,     WalFileSize,    WalLock,        WalUnlock,     WalCheckReservedLock,
    WalFileControl, WalSectorSize, WalDeviceCharacteristics, nullptr, nullptr,
    nullptr,     nullptr,        nullptr,        nullptr,
};

int Open(sqlite3_vfs* vfs, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  sqlite3_vfs* beneath = Beneath(vfs);
  if ((flags & SQLITE_OPEN_WAL) == 0) return beneath->xOpen(beneath, name, f, flags, out_flags);
  WalFile* w = Wal(f);
  w->base.pMethods = nullptr;
  w->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + RealOffset());
  w->real->pMethods = nullptr;
  w->data = nullptr;
  w->len = 0;
  w->start = 0;
  int rc = beneath->xOpen(beneath, name, w->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    if (w->real->pMethods) w->real->pMethods->xClose(w->real);
    return rc;
  }
  w->base.pMethods = &kWalMethods;
  return SQLITE_OK;
}

// Everything else is the VFS beneath's.
int Delete(sqlite3_vfs* v, const char* name, int sync_dir) { return Beneath(v)->xDelete(Beneath(v), name, sync_dir); }
int Access(sqlite3_vfs* v, const char* name, int flags, int* out) {
  return Beneath(v)->xAccess(Beneath(v), name, flags, out);
}
int FullPathname(sqlite3_vfs* v, const char* name, int n, char* out) {
  return Beneath(v)->xFullPathname(Beneath(v), name, n, out);
}
void* DlOpen(sqlite3_vfs* v, const char* name) { return Beneath(v)->xDlOpen(Beneath(v), name); }
void DlError(sqlite3_vfs* v, int n, char* out) { Beneath(v)->xDlError(Beneath(v), n, out); }
void (*DlSym(sqlite3_vfs* v, void* h, const char* sym))(void) { return Beneath(v)->xDlSym(Beneath(v), h, sym); }
void DlClose(sqlite3_vfs* v, void* h) { Beneath(v)->xDlClose(Beneath(v), h); }
int Randomness(sqlite3_vfs* v, int n, char* out) { return Beneath(v)->xRandomness(Beneath(v), n, out); }
int Sleep(sqlite3_vfs* v, int us) { return Beneath(v)->xSleep(Beneath(v), us); }
int CurrentTime(sqlite3_vfs* v, double* out) { return Beneath(v)->xCurrentTime(Beneath(v), out); }
int GetLastError(sqlite3_vfs* v, int n, char* out) {
  return Beneath(v)->xGetLastError ? Beneath(v)->xGetLastError(Beneath(v), n, out) : 0;
}
int CurrentTimeInt64(sqlite3_vfs* v, sqlite3_int64* out) {
  sqlite3_vfs* b = Beneath(v);
  if (b->iVersion >= 2 && b->xCurrentTimeInt64) return b->xCurrentTimeInt64(b, out);
  double day = 0;
  int rc = b->xCurrentTime(b, &day);
  *out = static_cast<sqlite3_int64>(day * 86400000.0);
  return rc;
}

}  // namespace

Status RegisterWalBufferVfs(const char* name, const char* base) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (sqlite3_vfs_find(name)) return Status::Ok();
  sqlite3_vfs* beneath = sqlite3_vfs_find(base);
  if (!beneath) return Status::Internal(std::string("no SQLite VFS named ") + (base ? base : "(default)"));
  // Registered for the life of the process, as SQLite needs: allocated once per name.
  auto* vfs = new sqlite3_vfs{};
  vfs->iVersion = 2;
  vfs->szOsFile = static_cast<int>(RealOffset()) + beneath->szOsFile;
  vfs->mxPathname = beneath->mxPathname;
  vfs->zName = strdup(name);
  vfs->pAppData = beneath;
  vfs->xOpen = Open;
  vfs->xDelete = Delete;
  vfs->xAccess = Access;
  vfs->xFullPathname = FullPathname;
  vfs->xDlOpen = DlOpen;
  vfs->xDlError = DlError;
  vfs->xDlSym = DlSym;
  vfs->xDlClose = DlClose;
  vfs->xRandomness = Randomness;
  vfs->xSleep = Sleep;
  vfs->xCurrentTime = CurrentTime;
  vfs->xGetLastError = GetLastError;
  vfs->xCurrentTimeInt64 = CurrentTimeInt64;
  if (sqlite3_vfs_register(vfs, 0) != SQLITE_OK) return Status::Internal(std::string("cannot register VFS ") + name);
  return Status::Ok();
}

const char* WalBufferVfs() {
  static const char* const kName = "rota-wal";
  static const bool registered = RegisterWalBufferVfs(kName, nullptr).ok();
  return registered ? kName : nullptr;
}

}  // namespace rota::store::sqlite
