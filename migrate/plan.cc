#include "migrate/plan.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "migrate/catalog.h"

namespace zeva::migrate {

namespace {

void AssessHistory(const std::vector<Migration>& chain, const DbState& state, Assessment* out) {
  for (size_t i = 0; i < state.history.size(); ++i) {
    const HistoryRow& row = state.history[i];
    const int known = IndexOf(chain, row.id);
    if (known < 0) {
      out->problems.push_back(
          absl::StrCat("applied migration '", row.id,
                       "' has no file (its file was removed, or a newer build applied it)"));
    } else if (known != static_cast<int>(i)) {
      out->problems.push_back(
          absl::StrCat("history position ", i + 1, " holds '", row.id, "' but the chain has '",
                       i < chain.size() ? chain[i].id : "(nothing)", "' there"));
    } else if (row.checksum != chain[i].checksum) {
      out->problems.push_back(absl::StrCat("applied migration '", row.id, "' (", chain[i].file_name,
                                           ") was edited after it was applied: recorded checksum ",
                                           row.checksum.substr(0, 12), ", file ",
                                           chain[i].checksum.substr(0, 12)));
    }
    out->fixtures.push_back(row.fixtures);
  }
  out->applied = static_cast<int>(state.history.size());
  // alembic_version must name the same position, so alembic-era tooling reads it right.
  const std::vector<std::string> expected = out->applied == 0
                                                ? std::vector<std::string>{}
                                                : std::vector<std::string>{state.history.back().id};
  if (state.alembic_versions != expected) {
    out->problems.push_back(
        absl::StrCat("alembic_version holds [", absl::StrJoin(state.alembic_versions, ", "),
                     "] but the history says ", expected.empty() ? "base" : "'" + expected[0] + "'",
                     " (was alembic or a manual change run against this database?)"));
  }
}

void AssessAlembic(const std::vector<Migration>& chain, const DbState& state, Assessment* out) {
  if (state.alembic_versions.size() > 1) {
    out->problems.push_back(absl::StrCat("alembic_version holds several revisions (",
                                         absl::StrJoin(state.alembic_versions, ", "),
                                         "): alembic branches cannot be taken over"));
    return;
  }
  if (state.alembic_versions.size() == 1) {
    const std::string& revision = state.alembic_versions[0];
    const int known = IndexOf(chain, revision);
    if (known < 0) {
      out->problems.push_back(absl::StrCat(
          "alembic_version holds '", revision,
          "', which is not in this build's chain: refusing to adopt an unknown revision"));
      return;
    }
    out->applied = known + 1;
    out->adopt = true;
    out->fixtures.assign(out->applied, std::nullopt);
    return;
  }
  if (!state.other_tables.empty()) {
    out->problems.push_back(absl::StrCat(
        "the database has tables (", absl::StrJoin(state.other_tables, ", "),
        ") but neither a migration history nor an alembic revision: refusing to guess its state"));
  }
}

}  // namespace

Assessment Assess(const std::vector<Migration>& chain, const DbState& state) {
  Assessment out;
  if (state.has_history_table) {
    AssessHistory(chain, state, &out);
  } else {
    AssessAlembic(chain, state, &out);
  }
  return out;
}

absl::StatusOr<int> ResolveTarget(const std::vector<Migration>& chain, const std::string& target) {
  if (target == "head") return static_cast<int>(chain.size());
  if (target == "base") return 0;
  const int index = IndexOf(chain, target);
  if (index < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown revision '", target, "' (use head, base or an id from `history`)"));
  }
  return index + 1;
}

std::string PositionName(const std::vector<Migration>& chain, int applied) {
  return applied == 0 ? "base" : chain[applied - 1].id;
}

namespace {
absl::Status RefuseOnProblems(const Assessment& at) {
  if (at.problems.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("refusing to touch the database: ", absl::StrJoin(at.problems, "; ")));
}
}  // namespace

absl::StatusOr<Plan> PlanUpgrade(const std::vector<Migration>& chain, const Assessment& at,
                                 int target, bool fixtures) {
  if (absl::Status refused = RefuseOnProblems(at); !refused.ok()) return refused;
  if (target < at.applied) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database is at '", PositionName(chain, at.applied), "', past '",
                     PositionName(chain, target), "': use downgrade"));
  }
  if (fixtures && target > at.applied) {
    for (int i = 0; i < at.applied; ++i) {
      if (at.fixtures[i] == false) {
        return absl::FailedPreconditionError(absl::StrCat(
            "fixtures requested, but '", chain[i].id,
            "' was applied without them and fixtures only load with their migration: use a "
            "fresh database (or downgrade base and upgrade with fixtures)"));
      }
    }
  }
  Plan plan{at.applied, target, at.adopt, {}};
  for (int i = at.applied; i < target; ++i) {
    plan.steps.push_back(Step{&chain[i], i + 1, true, fixtures});
  }
  return plan;
}

absl::StatusOr<Plan> PlanDowngrade(const std::vector<Migration>& chain, const Assessment& at,
                                   int target) {
  if (absl::Status refused = RefuseOnProblems(at); !refused.ok()) return refused;
  if (target > at.applied) {
    return absl::FailedPreconditionError(
        absl::StrCat("the database is at '", PositionName(chain, at.applied), "', below '",
                     PositionName(chain, target), "': use upgrade"));
  }
  Plan plan{at.applied, target, at.adopt, {}};
  for (int i = at.applied - 1; i >= target; --i) {
    if (!chain[i].down) {
      return absl::FailedPreconditionError(absl::StrCat("migration '", chain[i].id, "' (",
                                                        chain[i].file_name, ") cannot be undone"));
    }
    plan.steps.push_back(Step{&chain[i], i + 1, false, at.fixtures[i] == true});
  }
  return plan;
}

}  // namespace zeva::migrate
