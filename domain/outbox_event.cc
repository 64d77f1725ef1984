#include "domain/outbox_event.h"

#include <algorithm>

namespace zeva::domain {

std::chrono::milliseconds RetryDelay(int attempts, std::chrono::milliseconds initial,
                                     std::chrono::milliseconds max) {
  std::chrono::milliseconds delay = std::min(initial, max);
  // Doubling stops once it reaches `max`, so it never overflows whatever `attempts` is.
  for (int i = 1; i < attempts && delay < max; ++i) delay = std::min(delay * 2, max);
  return delay;
}

}  // namespace zeva::domain
