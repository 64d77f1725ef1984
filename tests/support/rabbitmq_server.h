#pragma once
// A real, private RabbitMQ node per instance, started through scripts/rabbitmq-throwaway.sh:
// its own node name, data, logs, Erlang cookie, AMQP port, distribution port and epmd, so
// nothing is shared with other nodes (or other test binaries) on the machine. A start takes
// 3.3-7 s on two busy cores (a restart as long as the first start), a stop about 1.2 s.

#include <string>

namespace zeva::testing {

class RabbitMqServer {
 public:
  // Starts the node and waits (at most 60 s) until guest can log in over AMQP. Throws
  // std::runtime_error with the tail of the broker's log when it does not.
  RabbitMqServer();
  // Stops the node and its epmd, and removes its folder.
  ~RabbitMqServer();
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  // The AMQP port on 127.0.0.1 (the same across Stop and Start).
  int port() const { return port_; }
  // amqp://guest:guest@127.0.0.1:PORT (no trailing '/': with one, rabbitmq-c's
  // amqp_parse_url reads the virtual host "" instead of the default "/").
  std::string url() const { return url_; }
  // Stops the node (gracefully: durable queues and persistent messages are kept) and waits
  // until its port is closed.
  void Stop();
  // Starts the stopped node again on the same ports and data; waits until it accepts logins.
  void Start();
  // Freezes the node (SIGSTOP) as a hung broker would be: connections stay open, nothing is
  // read or answered. Resume (SIGCONT) lets it carry on where it was. Throws when the node's
  // process is not found.
  void Pause();
  void Resume();

 private:
  void Signal(int signal);

  std::string dir_;
  std::string node_name_;
  std::string url_;
  int port_ = 0;
};

}  // namespace zeva::testing
