// Vocabulary lookups for labels.
#include "models/vocabulary.h"

#include "model/model.h"

namespace logitscope::gui {

int Vocabulary::size() const
{
    return m_model ? m_model->config().vocabSize : 0;
}

QByteArray Vocabulary::bytes(int id) const
{
    if (!m_model || id < 0 || id >= size())
        return {};
    const std::string b = m_model->tokenizer().tokenBytes(id);
    return QByteArray(b.data(), qsizetype(b.size()));
}

QString Vocabulary::piece(int id) const
{
    if (!m_model || id < 0 || id >= size())
        return {};
    return QString::fromStdString(m_model->tokenizer().piece(id));
}

bool Vocabulary::isSpecial(int id) const
{
    return m_model && id >= 0 && id < size() && m_model->tokenizer().isSpecial(id);
}

} // namespace logitscope::gui
