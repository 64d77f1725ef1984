// zeva-icbc-bench (bench/icbc.sh): uploads one ICBC extract through IcbcService in 1 MiB
// chunks, commits it and waits for zeva-worker to finish it; prints one JSON line with the
// time from the first chunk to COMPLETED, the import's counts, and the worker's resident
// memory (VmRSS before, VmHWM after; /proc/PID/status).
//   zeva-icbc-bench TARGET TOKEN FILE WORKER_PID

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "absl/strings/escaping.h"
#include "zeva/credits/v1/applications.grpc.pb.h"

namespace {

namespace wire = ::zeva::credits::v1;
constexpr size_t kChunk = size_t{1024} * 1024;

long StatusKiB(int pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return -1;
}

std::string Sha256Hex(std::ifstream& in) {
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::string buffer(kChunk, '\0');
  while (in.read(buffer.data(), static_cast<std::streamsize>(buffer.size())) || in.gcount() > 0) {
    EVP_DigestUpdate(md, buffer.data(), static_cast<size_t>(in.gcount()));
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_DigestFinal_ex(md, digest, &size);
  EVP_MD_CTX_free(md);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), size));
}

std::unique_ptr<grpc::ClientContext> Context(const std::string& token) {
  auto context = std::make_unique<grpc::ClientContext>();
  context->AddMetadata("authorization", "Bearer " + token);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(120));
  return context;
}

int Fail(const std::string& what, const grpc::Status& status) {
  std::cerr << "zeva-icbc-bench: " << what << ": " << status.error_message() << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr << "usage: zeva-icbc-bench TARGET TOKEN FILE WORKER_PID\n";
    return 2;
  }
  const std::string target = argv[1], token = argv[2], path = argv[3];
  const int worker = std::stoi(argv[4]);
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    std::cerr << "zeva-icbc-bench: cannot read " << path << "\n";
    return 2;
  }
  const std::string sha = Sha256Hex(file);
  file.clear();
  file.seekg(0, std::ios::end);
  const auto size = static_cast<uint64_t>(file.tellg());
  file.seekg(0);

  auto stub =
      wire::IcbcService::NewStub(grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  const long rss_before = StatusKiB(worker, "VmRSS");
  wire::StartIcbcImportRequest start;
  start.set_idempotency_key("icbc-bench-" + std::to_string(std::time(nullptr)) + "-" + sha);
  start.set_file_name(path.substr(path.find_last_of('/') + 1));
  start.mutable_current_to()->set_year(2024);
  start.mutable_current_to()->set_month(1);
  start.mutable_current_to()->set_day(1);
  start.set_size_bytes(size);
  start.set_sha256(sha);
  wire::IcbcImport import;
  if (auto s = stub->StartIcbcImport(Context(token).get(), start, &import); !s.ok()) {
    return Fail("start", s);
  }
  const auto first_chunk = std::chrono::steady_clock::now();
  std::string buffer(kChunk, '\0');
  for (uint64_t offset = 0; offset < size;) {
    file.read(buffer.data(), static_cast<std::streamsize>(kChunk));
    wire::UploadIcbcChunkRequest chunk;
    chunk.set_import_id(import.id());
    chunk.set_offset(offset);
    chunk.set_data(buffer.data(), static_cast<size_t>(file.gcount()));
    if (auto s = stub->UploadIcbcChunk(Context(token).get(), chunk, &import); !s.ok()) {
      return Fail("chunk", s);
    }
    offset += static_cast<uint64_t>(file.gcount());
  }
  const auto uploaded = std::chrono::steady_clock::now();
  wire::CommitIcbcImportRequest commit;
  commit.set_import_id(import.id());
  if (auto s = stub->CommitIcbcImport(Context(token).get(), commit, &import); !s.ok()) {
    return Fail("commit", s);
  }
  const auto committed = std::chrono::steady_clock::now();
  wire::GetIcbcImportRequest get;
  get.set_import_id(import.id());
  while (import.status() != wire::ICBC_IMPORT_STATUS_COMPLETED) {
    if (import.status() == wire::ICBC_IMPORT_STATUS_FAILED) {
      std::cerr << "zeva-icbc-bench: the import FAILED: " << import.failure() << "\n";
      return 1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (auto s = stub->GetIcbcImport(Context(token).get(), get, &import); !s.ok()) {
      return Fail("get", s);
    }
  }
  const auto done = std::chrono::steady_clock::now();
  auto seconds = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };
  std::printf(
      "{\"import_id\": %llu, \"bytes\": %llu, \"rows_read\": %llu, \"added\": %llu, "
      "\"changed\": %llu, \"unchanged\": %llu, \"upload_seconds\": %.3f, "
      "\"commit_seconds\": %.3f, \"processing_seconds\": %.3f, "
      "\"first_chunk_to_completed_seconds\": %.3f, \"worker_rss_before_kib\": %ld, "
      "\"worker_peak_rss_kib\": %ld}\n",
      static_cast<unsigned long long>(import.id()), static_cast<unsigned long long>(size),
      static_cast<unsigned long long>(import.rows_read()),
      static_cast<unsigned long long>(import.registrations_added()),
      static_cast<unsigned long long>(import.registrations_changed()),
      static_cast<unsigned long long>(import.registrations_unchanged()),
      seconds(first_chunk, uploaded), seconds(uploaded, committed), seconds(committed, done),
      seconds(first_chunk, done), rss_before, StatusKiB(worker, "VmHWM"));
  return 0;
}
