// A SQLite VFS that gathers a connection's appends to its write-ahead log and hands
// them to the file system as one write when SQLite syncs the log (or reads it, sizes it,
// truncates it or closes it), instead of two writes per page (a 24-byte frame header,
// then the page). A commit of 50 pages goes from 100 `pwrite` calls to one, and the
// sync that follows it is faster too (docs/performance.md, "Third pass").
//
// Correct only when every commit syncs the log before SQLite publishes it to other
// connections, that is with `PRAGMA synchronous=FULL` or `EXTRA` on every connection
// opened with this VFS: frames that are still gathered are then never visible to
// anyone, and losing them in a crash loses only a transaction that was never
// acknowledged. Connection::Open always sets FULL.
//
// Every other file (the database, the shared-memory index, journals) goes straight to
// the VFS beneath.
#pragma once

#include "core/status.h"

namespace rota::store::sqlite {

// The VFS rota's connections open with: "rota-wal" over the default VFS, registered on
// first use. Returns its name, or nullptr (SQLite's default VFS: slower, still correct)
// should registering fail.
const char* WalBufferVfs();

// Registers a VFS named `name` over the registered VFS `base` (nullptr: the default).
// Registering a name again is a no-op. For tests, which put a counting VFS beneath.
Status RegisterWalBufferVfs(const char* name, const char* base);

}  // namespace rota::store::sqlite
