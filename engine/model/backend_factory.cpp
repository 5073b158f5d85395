// The backend registry: "cpu" is built in; other backends (cuda/) register a factory at start-up.
// createBackend("auto") prefers the GPU and falls back to the CPU with a one-line notice.
#include "model/backend.h"

#include "common/error.h"
#include "model/cpu_backend.h"

#include <map>
#include <mutex>

namespace logitscope {

namespace {

struct Registry {
    std::mutex mutex;
    std::map<std::string, BackendFactory> factories;
};

Registry& registry()
{
    static Registry r;
    return r;
}

BackendFactory findFactory(const std::string& name)
{
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    auto it = r.factories.find(name);
    return it == r.factories.end() ? BackendFactory{} : it->second;
}

} // namespace

void registerBackendFactory(const std::string& name, BackendFactory factory)
{
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    r.factories[name] = std::move(factory);
}

std::vector<std::string> availableBackends()
{
    std::vector<std::string> names{"cpu"};
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    for (const auto& [name, factory] : r.factories)
        if (name != "cpu")
            names.push_back(name);
    return names;
}

std::unique_ptr<Backend> createBackend(std::shared_ptr<const Model> model, const std::string& device, int threads,
                                       std::string* notice)
{
    if (!model)
        throw Error("createBackend: no model");
    if (device == "cpu")
        return std::make_unique<CpuBackend>(std::move(model), threads);
    if (device == "auto" || device.empty()) {
        std::string why;
        if (BackendFactory cuda = findFactory("cuda")) {
            try {
                if (auto backend = cuda(model, threads))
                    return backend;
                why = "no CUDA device found";
            } catch (const std::exception& e) {
                why = e.what();
            }
        } else {
            why = "this build has no CUDA support";
        }
        if (notice)
            *notice = "CUDA backend unavailable (" + why + "); running on the CPU";
        return std::make_unique<CpuBackend>(std::move(model), threads);
    }
    if (BackendFactory factory = findFactory(device)) {
        auto backend = factory(std::move(model), threads);
        if (!backend)
            throw Error("device '" + device + "': backend could not be created");
        return backend;
    }
    std::string names;
    for (const std::string& n : availableBackends())
        names += (names.empty() ? "" : ", ") + n;
    throw Error("unknown device '" + device + "' (available: auto, " + names + ")");
}

std::unique_ptr<Backend> createBackendLike(const Backend& like, std::shared_ptr<const Model> model)
{
    if (const auto* cpu = dynamic_cast<const CpuBackend*>(&like)) {
        auto fresh = std::make_unique<CpuBackend>(std::move(model), cpu->threads());
        fresh->setKvType(cpu->kvType());
        return fresh;
    }
    return createBackend(std::move(model), like.name());
}

} // namespace logitscope
