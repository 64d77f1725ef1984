#pragma once
// Figures of a process read from /proc (Linux): resident memory and CPU time used. On a
// shared, noisy machine CPU time per call is steadier than calls per second.

#include <sys/types.h>

#include <string>

namespace zeva::bench {

// A field of /proc/PID/status in KiB (e.g. VmRSS, VmHWM), or -1 when unreadable.
long StatusKiB(pid_t pid, const std::string& field);

// User plus system CPU seconds the process has used so far, or -1 when unreadable.
double CpuSeconds(pid_t pid);

}  // namespace zeva::bench
