// Meta-type registration for the values the worker sends to the UI thread.
#include "models/snapshots.h"

#include "models/beam_snapshot.h"

namespace logitscope::gui {

void registerMetaTypes()
{
    static const bool once = [] {
        qRegisterMetaType<ModelInfo>();
        qRegisterMetaType<PromptTokens>();
        qRegisterMetaType<ModelHandle>();
        qRegisterMetaType<LaneList>();
        qRegisterMetaType<StepList>();
        qRegisterMetaType<logitscope::StepRecord>();
        qRegisterMetaType<logitscope::PrefillRecord>();
        qRegisterMetaType<logitscope::SamplingParams>();
        qRegisterMetaType<logitscope::LaneMetrics>();
        qRegisterMetaType<BeamSnapshot>();
        return true;
    }();
    (void)once;
}

} // namespace logitscope::gui
