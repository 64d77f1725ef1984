#pragma once
// How both processes stop: SIGTERM and SIGINT are blocked in every thread and awaited by one,
// and a process that cannot finish its shutdown in time ends itself.

#include <chrono>
#include <string>

namespace zeva::runtime {

// Blocks SIGTERM and SIGINT in the calling thread and the threads it creates later, so that
// one thread can wait for them with WaitForShutdownSignal. Call first thing in main.
void BlockShutdownSignals();

// Blocks until SIGTERM or SIGINT arrives (both must be blocked, see above); returns its
// description (strsignal), e.g. "Terminated".
std::string WaitForShutdownSignal();

// On a detached thread: after `delay`, logs `message` at error level, flushes the log and
// ends the process with exit code 1 (std::_Exit: no destructors run). For work stuck past the
// shutdown grace, e.g. on a database or broker that stopped answering.
void ExitAfter(std::chrono::seconds delay, std::string message);

}  // namespace zeva::runtime
