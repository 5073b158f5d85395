// Vocabulary: read-only access to a loaded model's token bytes and pieces for labels on the UI
// thread. It keeps the immutable Model alive through a shared_ptr<const Model>; the tokenizer's
// lookups are const and thread-safe, so reading them here never waits for the worker.
#pragma once

#include <QByteArray>
#include <QString>

#include <memory>

namespace logitscope {
class Model;
}

namespace logitscope::gui {

class Vocabulary {
public:
    Vocabulary() = default;
    explicit Vocabulary(std::shared_ptr<const Model> model) : m_model(std::move(model)) {}

    bool isValid() const { return m_model != nullptr; }
    int size() const;
    QByteArray bytes(int id) const;  // exact bytes; empty for control tokens or out-of-range ids
    QString piece(int id) const;     // the vocabulary entry as written in the model
    bool isSpecial(int id) const;    // control tokens (BOS, EOS, chat markers)
    const std::shared_ptr<const Model>& model() const { return m_model; }

private:
    std::shared_ptr<const Model> m_model;
};

} // namespace logitscope::gui
