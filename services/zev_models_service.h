#pragma once
// zeva.transactions.ZEVModels: vehicle models of suppliers, and their credit values.

#include "zevs.grpc.pb.h"

namespace zeva::services {

class ZevModelsService final : public zeva::transactions::ZEVModels::Service {};

}  // namespace zeva::services
