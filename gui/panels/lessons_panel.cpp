// The Lessons panel and its menu.
#include "panels/lessons_panel.h"

#include "models/inference_controller.h"
#include "models/lane_runner.h"
#include "models/lesson_runner.h"
#include "models/session_store.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"

#include <QAction>
#include <QCheckBox>
#include <QDockWidget>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMainWindow>
#include <QMenuBar>
#include <QMessageBox>
#include <QPushButton>
#include <QSplitter>
#include <QTextBrowser>
#include <QCoreApplication>
#include <QStandardPaths>
#include <QVBoxLayout>

#include <memory>

namespace logitscope::gui {

LessonsPanel::LessonsPanel(LessonRunner* runner, QWidget* parent) : QWidget(parent), m_runner(runner)
{
    m_list = new QListWidget(this);
    m_list->setToolTip(tr("Ready-made experiments for the chapter “Deep dive into Text Generation Inference”. "
                          "Double-click one to start it."));
    m_title = new QLabel(this);
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::RichText);
    m_text = new QTextBrowser(this);
    m_text->setOpenExternalLinks(true);
    m_check = new QLabel(this);
    m_check->setWordWrap(true);
    m_check->setToolTip(tr("The observation this step claims, verified on the numbers just measured."));
    m_progress = new QLabel(this);
    m_back = new QPushButton(tr("◀ Back"), this);
    m_next = new QPushButton(tr("Next ▶"), this);
    m_restart = new QPushButton(tr("Restart"), this);
    m_next->setDefault(true);
    m_back->setToolTip(tr("Go back one step (the lesson is replayed up to there)."));
    m_next->setToolTip(tr("Do this step: the app runs it and the panels show the result."));

    auto* buttons = new QHBoxLayout;
    buttons->addWidget(m_restart);
    buttons->addStretch(1);
    buttons->addWidget(m_progress);
    buttons->addWidget(m_back);
    buttons->addWidget(m_next);

    auto* lower = new QWidget(this);
    auto* lv = new QVBoxLayout(lower);
    lv->setContentsMargins(0, 0, 0, 0);
    lv->addWidget(m_title);
    lv->addWidget(m_text, 1);
    lv->addWidget(m_check);
    lv->addLayout(buttons);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_list);
    split->addWidget(lower);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 6);
    m_list->setMinimumHeight(60);
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    layout->addWidget(split);

    connect(m_list, &QListWidget::itemActivated, this, [this](QListWidgetItem* item) {
        QString error;
        if (auto* window = qobject_cast<QMainWindow*>(this->window()); window && window->findChild<LessonsPanel*>() == this)
            openLesson(window, QString::number(m_list->row(item) + 1), &error);
        else
            m_runner->start(m_list->row(item));
    });
    connect(m_next, &QPushButton::clicked, m_runner, &LessonRunner::next);
    connect(m_back, &QPushButton::clicked, m_runner, &LessonRunner::back);
    connect(m_restart, &QPushButton::clicked, m_runner, &LessonRunner::restart);
    connect(m_runner, &LessonRunner::lessonStarted, this, &LessonsPanel::showLesson);
    connect(m_runner, &LessonRunner::stepPlayed, this, &LessonsPanel::showStep);
    connect(m_runner, &LessonRunner::busyChanged, this, &LessonsPanel::updateButtons);
    connect(m_runner, &LessonRunner::failed, this, [this](const QString& message) {
        m_check->setText(QStringLiteral("<span style='color:#b00020'>%1</span>").arg(message.toHtmlEscaped()));
    });
    fillList();
    updateButtons();
}

void LessonsPanel::fillList()
{
    m_list->clear();
    for (const auto& l : m_runner->lessons()) {
        auto* item = new QListWidgetItem(QString::fromStdString(l.title), m_list);
        item->setToolTip(QString::fromStdString(l.summary));
    }
    if (m_runner->lessons().empty()) {
        m_title->setText(tr("No lessons found. Set LOGITSCOPE_LESSONS_DIR or open a lesson file (Lessons ▸ Open)."));
    } else if (m_runner->currentLesson() < 0) {
        m_title->setText(tr("<b>Lessons</b> — double-click a lesson to start it, then press <b>Next</b> for each step."));
    }
    for (const auto& e : m_runner->loadErrors())
        m_text->append(QStringLiteral("<span style='color:#b00020'>%1</span>").arg(e.toHtmlEscaped()));
}

void LessonsPanel::showLesson(int lesson)
{
    const auto& l = m_runner->lessons()[size_t(lesson)];
    m_list->setCurrentRow(lesson);
    m_title->setText(QStringLiteral("<b>%1</b>").arg(QString::fromStdString(l.title).toHtmlEscaped()));
    m_text->setHtml(QStringLiteral("<p>%1</p><p><i>%2</i></p><p>%3</p>")
                        .arg(QString::fromStdString(l.summary).toHtmlEscaped(),
                             tr("Prompt: “%1”").arg(QString::fromStdString(l.prompt).left(160).toHtmlEscaped()),
                             tr("Press <b>Next ▶</b> to begin: %1 steps.").arg(l.steps.size())));
    m_check->clear();
    updateButtons();
}

void LessonsPanel::showStep(int step, const QString& reportHtml, int checkStatus, const QString& detail, const QString& error)
{
    const auto& l = m_runner->lessons()[size_t(m_runner->currentLesson())];
    const auto& s = l.steps[size_t(step)];
    QString html = QStringLiteral("<p>%1</p>").arg(QString::fromStdString(s.text));
    if (!s.panel.empty())
        html += QStringLiteral("<p style='color:#555'>%1</p>").arg(tr("Look at: <b>%1</b>").arg(QString::fromStdString(s.panel)));
    if (!error.isEmpty())
        html += QStringLiteral("<p style='color:#b00020'>%1</p>").arg(error.toHtmlEscaped());
    html += reportHtml;
    m_text->setHtml(html);
    const QString claim = s.hasCheck ? QString::fromStdString(s.check.claim) : QString();
    switch (checkStatus) {
    case 0:
        m_check->setText(QStringLiteral("<span style='color:#1b7f3b'>✓ %1</span> %2")
                             .arg(claim.toHtmlEscaped(), detail.toHtmlEscaped()));
        break;
    case 1:
        m_check->setText(QStringLiteral("<span style='color:#b00020'>✗ %1</span> %2 — %3")
                             .arg(claim.toHtmlEscaped(), detail.toHtmlEscaped(),
                                  tr("this machine did not show it; measurements vary, try Restart")));
        break;
    case 2:
        m_check->setText(QStringLiteral("<span style='color:#777'>– %1</span>").arg(tr("not checked here: %1").arg(detail.toHtmlEscaped())));
        break;
    default:
        m_check->clear();
    }
    updateButtons();
}

void LessonsPanel::updateButtons()
{
    const int lesson = m_runner->currentLesson();
    const int steps = lesson >= 0 ? int(m_runner->lessons()[size_t(lesson)].steps.size()) : 0;
    const bool busy = m_runner->busy();
    m_next->setEnabled(lesson >= 0 && !busy && m_runner->currentStep() + 1 < steps);
    m_back->setEnabled(lesson >= 0 && !busy && m_runner->currentStep() >= 0);
    m_restart->setEnabled(lesson >= 0 && !busy);
    m_progress->setText(lesson >= 0 ? tr("step %1 of %2%3").arg(m_runner->currentStep() + 1).arg(steps).arg(busy ? tr(" …") : QString())
                                    : QString());
}

QString LessonsPanel::stepText() const
{
    return m_text->toHtml();
}

QString LessonsPanel::checkText() const
{
    return m_check->text();
}

void LessonsPanel::openLessonFile()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open lesson"), QString(), tr("Lessons (*.json)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!m_runner->addLessonFile(path, &error)) {
        QMessageBox::warning(this, tr("Lesson not loaded"), error);
        return;
    }
    fillList();
    m_runner->start(int(m_runner->lessons().size()) - 1);
}

namespace {

// What a lesson replaced: the user's prompt and settings, and (when there was output or lanes) their whole
// session in a file the Session store reopens when the Lessons panel is closed.
class LessonGuard : public QObject {
public:
    using QObject::QObject;
    bool active = false;
    QString prompt;
    bool chat = false;
    logitscope::SamplingParams settings;
    QString sessionPath; // empty: nothing beyond prompt and settings to bring back
};

bool userHasWork(const InferenceController* c)
{
    return c->isPrefilled() && (c->generatedCount() > 0 || c->lanes().size() > 1);
}

// The lesson is over (its panel closed): the user's own prompt, settings and output come back.
void leaveLesson(QMainWindow* window, LessonRunner* runner, LessonGuard* guard)
{
    if (!guard->active)
        return;
    guard->active = false;
    InferenceController* c = runner->controller();
    runner->stopLesson();
    if (auto* lanes = window->findChild<LaneRunner*>())
        lanes->close();
    if (auto* sampling = window->findChild<SamplingPanel*>())
        sampling->setParams(guard->settings);
    c->setSampling(guard->settings);
    auto* store = window->findChild<SessionStore*>();
    if (!guard->sessionPath.isEmpty() && store) {
        store->open(guard->sessionPath); // prompt, settings, lanes and tokens as they were
        return;
    }
    c->reset();
    if (auto* prompt = window->findChild<PromptPanel*>()) {
        prompt->setChatTemplate(guard->chat);
        prompt->setPromptText(guard->prompt);
    }
    c->setPrompt(guard->prompt, guard->chat);
}

} // namespace

QDockWidget* installLessons(QMainWindow* window, InferenceController* controller)
{
    auto* runner = new LessonRunner(controller, window);
    const QString dir = findLessonsDirectory();
    if (!dir.isEmpty())
        runner->loadDirectory(dir);
    auto* panel = new LessonsPanel(runner);
    auto* dock = new QDockWidget(QObject::tr("Lessons"), window);
    dock->setObjectName(QStringLiteral("dock.lessons"));
    dock->setWidget(panel);
    window->addDockWidget(Qt::LeftDockWidgetArea, dock);
    dock->hide();   // opened from the Lessons menu
    auto* guard = new LessonGuard(window);
    guard->setObjectName(QStringLiteral("lessons.guard"));
    QObject::connect(dock, &QDockWidget::visibilityChanged, window, [window, runner, guard, dock](bool visible) {
        if (!visible && dock->isHidden()) // closed, not merely tabbed away
            leaveLesson(window, runner, guard);
    });

    if (auto* prompt = window->findChild<PromptPanel*>())
        QObject::connect(runner, &LessonRunner::promptRequested, prompt, [prompt](const QString& text, bool chat) {
            prompt->setChatTemplate(chat);
            prompt->setPromptText(text);
        });
    if (auto* sampling = window->findChild<SamplingPanel*>())
        QObject::connect(runner, &LessonRunner::samplingRequested, sampling, &SamplingPanel::setParams);
    QObject::connect(runner, &LessonRunner::panelRequested, window, [window](const QString& name) {
        // Lesson panel names are dock object names without "dock."; "tokens" is the prompt's token view,
        // "token-probabilities" the same with its chips coloured by the prefill's scores.
        const bool probabilities = name == QLatin1String("token-probabilities");
        if (probabilities)
            if (auto* prompt = window->findChild<PromptPanel*>())
                prompt->probabilitiesBox()->setChecked(true);
        const QString object = name == QLatin1String("tokens") || probabilities ? QStringLiteral("dock.prompt")
                                                                                 : QStringLiteral("dock.") + name;
        if (auto* dock = window->findChild<QDockWidget*>(object)) {
            dock->show();
            dock->raise();
        }
    });

    QMenu* menu = nullptr;
    QAction* before = nullptr;
    for (QAction* a : window->menuBar()->actions())
        if (a->text().remove(QLatin1Char('&')) == QLatin1String("Help"))
            before = a;
    menu = new QMenu(QObject::tr("&Lessons"), window);
    window->menuBar()->insertMenu(before, menu);
    QAction* show = dock->toggleViewAction();
    show->setText(QObject::tr("Show the &Lessons panel"));
    show->setShortcut(Qt::Key_F1 | Qt::SHIFT);
    menu->addAction(show);
    menu->addAction(QObject::tr("&Open lesson file…"), panel, &LessonsPanel::openLessonFile);
    menu->addSeparator();
    for (size_t i = 0; i < runner->lessons().size(); ++i)
        menu->addAction(QString::fromStdString(runner->lessons()[i].title), runner, [window, i] {
            QString error;
            openLesson(window, QString::number(i + 1), &error);
        });
    return dock;
}

bool openLesson(QMainWindow* window, const QString& id, QString* error)
{
    auto* dock = window->findChild<QDockWidget*>(QStringLiteral("dock.lessons"));
    auto* runner = window->findChild<LessonRunner*>();
    if (!dock || !runner) {
        if (error)
            *error = QObject::tr("this window has no lessons");
        return false;
    }
    int index = runner->indexOf(id);
    bool number = false;
    const int n = id.toInt(&number);
    if (index < 0 && number && n >= 1 && n <= int(runner->lessons().size()))
        index = n - 1;
    if (index < 0) {
        QStringList ids;
        for (const auto& l : runner->lessons())
            ids << QString::fromStdString(l.id);
        if (error)
            *error = QObject::tr("no lesson '%1' (the lessons are %2, or their numbers 1 to %3)")
                         .arg(id, ids.join(QStringLiteral(", ")))
                         .arg(ids.size());
        return false;
    }
    auto* guard = window->findChild<LessonGuard*>(QStringLiteral("lessons.guard"));
    InferenceController* c = runner->controller();
    const auto begin = [window, dock, runner, index] {
        dock->show();
        dock->raise();
        // The step text and its measurements need room: most of the left column.
        window->resizeDocks({dock}, {window->height() * 62 / 100}, Qt::Vertical);
        runner->start(index);
    };
    if (!guard || guard->active || !c) {
        begin();
        return true;
    }
    // The first lesson replaces the user's prompt, settings, output and lanes: ask, and keep them to
    // bring back when the Lessons panel is closed.
    const bool work = userHasWork(c);
    if (work && QMessageBox::question(window, QObject::tr("Start the lesson?"),
                                      QObject::tr("The lesson uses its own prompt, settings and lanes. Your output "
                                                  "and lanes are saved now and come back when you close the Lessons "
                                                  "panel.\n\nStart the lesson?"),
                                      QMessageBox::Yes | QMessageBox::No, QMessageBox::Yes)
                    != QMessageBox::Yes) {
        if (error)
            *error = QObject::tr("not started: your work is kept");
        return false;
    }
    guard->active = true;
    guard->prompt = c->prompt();
    guard->chat = c->chatTemplate();
    guard->settings = c->sampling();
    guard->sessionPath.clear();
    auto* store = window->findChild<SessionStore*>();
    if (!work || !store) {
        begin();
        return true;
    }
    guard->sessionPath = QStandardPaths::writableLocation(QStandardPaths::TempLocation)
                         + QStringLiteral("/logitscope-before-lesson-%1.json").arg(QCoreApplication::applicationPid());
    // Saving copies the lanes on the worker: start the lesson once the file is written.
    auto done = std::make_shared<QList<QMetaObject::Connection>>();
    const auto finish = [done, begin] {
        for (const auto& connection : *done)
            QObject::disconnect(connection);
        begin();
    };
    *done << QObject::connect(store, &SessionStore::saved, window, finish);
    *done << QObject::connect(store, &SessionStore::failed, window, [guard, finish] {
        guard->sessionPath.clear(); // prompt and settings still come back
        finish();
    });
    store->save(guard->sessionPath);
    return true;
}

} // namespace logitscope::gui
